package main

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom"
)

// The test binary doubles as the DICOM worker: an instance in a test makes its
// DICOM previews through dicom.WorkerCommand("dicom-worker"), which runs this
// executable — the test binary — with that argument, exactly as `medbox
// dicom-worker` runs in production.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "dicom-worker" {
		if err := dicom.WorkerMain(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
