package featuretest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom"
)

// Main is the TestMain of a package whose tests make DICOM previews. An instance
// decodes DICOM in a worker process started as dicom.WorkerCommand("dicom-worker"),
// that is, as its own executable: in a test, the test binary. Main makes that
// binary act as the worker when so started, as `medbox dicom-worker` does, and
// otherwise runs the tests.
//
//	func TestMain(m *testing.M) { featuretest.Main(m) }
func Main(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "dicom-worker" {
		if err := dicom.WorkerMain(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
