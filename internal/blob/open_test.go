package blob_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/blob/disk"
	"github.com/medbox-jp/medbox/internal/blob/s3"
)

func TestOpen(t *testing.T) {
	dataDir := t.TempDir()
	s, err := blob.Open(t.Context(), "", dataDir)
	if err != nil {
		t.Fatalf("Open(\"\") = %v", err)
	}
	if _, ok := s.(*disk.Store); !ok {
		t.Errorf("Open(\"\") = %T, want *disk.Store", s)
	}
	if err := s.Put(t.Context(), "k", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := filepath.Glob(filepath.Join(dataDir, "blobs", "k")); err != nil {
		t.Fatal(err)
	}
	if got, _ := filepath.Glob(filepath.Join(dataDir, "blobs", "k")); len(got) != 1 {
		t.Errorf("object not stored under <data>/blobs: %v", got)
	}

	s, err = blob.Open(t.Context(), "s3://bucket?endpoint=http://127.0.0.1:1&region=r&path_style=true", dataDir)
	if err != nil {
		t.Fatalf("Open(s3://…) = %v", err)
	}
	if _, ok := s.(*s3.Store); !ok {
		t.Errorf("Open(s3://…) = %T, want *s3.Store", s)
	}
	for _, url := range []string{"file:///tmp/x", "ftp://x", "/tmp/blobs"} {
		if _, err := blob.Open(t.Context(), url, dataDir); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", url)
		}
	}
}
