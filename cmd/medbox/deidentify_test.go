package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/clocktest"
)

// TestDeidentifyCommand: `medbox deidentify` writes a copy of each DICOM input
// under OUTDIR (folders keep their paths), names each input it could not
// rewrite and exits with an error then; -h lists every flag.
func TestDeidentifyCommand(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"deidentify", "-h"}, process{getenv: envOf(nil), stdout: &out, now: clocktest.New().Now}); err != nil {
		t.Fatalf("deidentify -h: %v", err)
	}
	for _, flag := range []string{"--retain-patient-characteristics", "--modified-dates", "--clean-descriptors", "--retain-device-identity"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("usage lacks %s:\n%s", flag, out.String())
		}
	}
	root := filepath.Join("..", "..", "testdata", "dicom")
	dest := t.TempDir()
	study := filepath.Join(root, "dicomdir_study", "TINY_ALPHA")
	out.Reset()
	err := run(ctx, []string{"deidentify", "--modified-dates", filepath.Join(root, "ct_small.dcm"), study, dest}, process{getenv: envOf(nil), stdout: &out, now: clocktest.New().Now})
	if err == nil || !strings.Contains(err.Error(), "README") {
		t.Errorf("deidentify with a README in the folder: %v, want an error naming it", err)
	}
	for _, p := range []string{"ct_small.dcm", "TINY_ALPHA/DICOMDIR", "TINY_ALPHA/PT000000/ST000000/SE000000/IM000000"} {
		b, err := os.ReadFile(filepath.Join(dest, p))
		if err != nil {
			t.Errorf("output %s: %v", p, err)
			continue
		}
		if bytes.Contains(b, []byte("Citizen^Jan")) || bytes.Contains(b, []byte("CompressedSamples")) {
			t.Errorf("%s still holds the patient's name", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "TINY_ALPHA", "README")); err == nil {
		t.Error("a file that is not DICOM was copied")
	}
	out.Reset()
	if err := run(ctx, []string{"deidentify", filepath.Join(root, "ct_small.dcm"), filepath.Join(root, "mr_small_bigendian.dcm"), t.TempDir()},
		process{getenv: envOf(nil), stdout: &out, now: clocktest.New().Now}); err != nil {
		t.Errorf("deidentify of two DICOM files: %v", err)
	}
	if !strings.Contains(out.String(), "de-identified 2 of 2 files") {
		t.Errorf("output: %q", out.String())
	}
}
