package disk_test

import (
	"testing"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/blob/disk"
)

func newStore(t *testing.T) *disk.Store {
	t.Helper()
	s, err := disk.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t) })
}
