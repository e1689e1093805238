// Command dicomworker is the DICOM worker alone — what `medbox dicom-worker`
// runs — for tests whose own binary is built with the race detector
// (internal/dicom/workertest says why). Its arguments are ignored.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/medbox-jp/medbox/internal/dicom"
)

func main() {
	if err := dicom.WorkerMain(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
