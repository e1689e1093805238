// Package workertest gives tests the DICOM worker as an executable of its own,
// built without the race detector when the tests run under it. The worker
// decodes one file on one goroutine, where the detector has nothing to watch,
// and instrumenting every pixel read made previews several times slower (a study
// ZIP 31 s against 4 s). The guard that runs the worker stays in the test binary,
// under the detector like the rest of it.
package workertest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom"
)

var (
	once sync.Once
	cmd  []string
	err  error
)

// Command returns the command that runs the DICOM worker for a test: under the
// race detector the worker built without it; otherwise the test binary's own
// dicom-worker (its TestMain runs dicom.WorkerMain), as `medbox serve` runs its own.
func Command(t testing.TB) []string {
	t.Helper()
	once.Do(func() {
		if raceDetector {
			cmd, err = build()
		} else {
			cmd, err = dicom.WorkerCommand("dicom-worker")
		}
	})
	if err != nil {
		t.Fatalf("build the DICOM worker: %v", err)
	}
	return cmd
}

// build compiles internal/dicom/dicomworker into a fixed place per checkout
// (replaced by rename, so a worker still running an older copy is unharmed).
func build() ([]string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(wd))
	dir := filepath.Join(os.TempDir(), "medbox-dicomworker-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, fmt.Sprintf("dicomworker.%d.tmp", os.Getpid()))
	c := exec.Command("go", "build", "-tags=nodynamic", "-o", tmp, "github.com/medbox-jp/medbox/internal/dicom/dicomworker") // #nosec G204 -- a test helper: the output path is ours, under the temporary directory
	c.Env = append(os.Environ(), "GOTOOLCHAIN=auto")
	if out, err := c.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "dicomworker")
	if err := os.Rename(tmp, bin); err != nil {
		return nil, err
	}
	return []string{bin, "dicom-worker"}, nil
}
