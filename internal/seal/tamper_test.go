package seal_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/seal"
)

// readAll opens key and reads it to the end, returning what it read and the first
// error from Get or from reading.
func readAll(t *testing.T, s interface {
	Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error)
}, key string, off, length int64) ([]byte, error) {
	t.Helper()
	rc, err := s.Get(t.Context(), key, off, length)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestTamperingIsDetected(t *testing.T) {
	const pkg = 16 + 65536 + 16
	plain := readDICOM(t, "mr_prostate.dcm") // 64,938 bytes: pad to several packages
	plain = append(plain, readDICOM(t, "mr_10frame_native.dcm")...)
	plain = append(plain, plain...) // ~300 KB: 5 packages
	dk := seal.RandomKeyForTest()

	tests := []struct {
		name   string
		tamper func(raw *blobtest.Memory, sealed []byte) // changes "f/1/00000001"
	}{
		{"wrong data key", nil},
		{"swapped with another chunk", func(raw *blobtest.Memory, _ []byte) {
			putRaw(t, raw, "f/1/00000001", raw.Bytes("f/1/00000002"))
		}},
		{"moved from another file", func(raw *blobtest.Memory, _ []byte) {
			putRaw(t, raw, "f/1/00000001", raw.Bytes("f/2/00000001"))
		}},
		{"final package dropped", func(raw *blobtest.Memory, b []byte) {
			putRaw(t, raw, "f/1/00000001", b[:len(b)/pkg*pkg])
		}},
		{"cut inside a package", func(raw *blobtest.Memory, b []byte) {
			putRaw(t, raw, "f/1/00000001", b[:len(b)-1000])
		}},
		{"cut to one package", func(raw *blobtest.Memory, b []byte) {
			putRaw(t, raw, "f/1/00000001", b[:pkg])
		}},
		{"emptied", func(raw *blobtest.Memory, b []byte) {
			putRaw(t, raw, "f/1/00000001", nil)
		}},
		{"packages reordered", func(raw *blobtest.Memory, b []byte) {
			r := append(append(append([]byte{}, b[pkg:2*pkg]...), b[:pkg]...), b[2*pkg:]...)
			putRaw(t, raw, "f/1/00000001", r)
		}},
		{"package appended", func(raw *blobtest.Memory, b []byte) {
			putRaw(t, raw, "f/1/00000001", append(bytes.Clone(b), b[:pkg]...))
		}},
		{"one bit flipped", func(raw *blobtest.Memory, b []byte) {
			b = bytes.Clone(b)
			b[2*pkg+500] ^= 1
			putRaw(t, raw, "f/1/00000001", b)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := blobtest.NewMemory()
			store := seal.New(raw).With(dk)
			for _, key := range []string{"f/1/00000001", "f/1/00000002"} {
				if err := store.Put(t.Context(), key, bytes.NewReader(plain), int64(len(plain))); err != nil {
					t.Fatal(err)
				}
			}
			if err := seal.New(raw).With(seal.RandomKeyForTest()).Put(t.Context(), "f/2/00000001", bytes.NewReader(plain), -1); err != nil {
				t.Fatal(err)
			}
			if tt.tamper == nil {
				store = seal.New(raw).With(seal.RandomKeyForTest())
			} else {
				tt.tamper(raw, raw.Bytes("f/1/00000001"))
			}
			got, err := readAll(t, store, "f/1/00000001", 0, -1)
			if err == nil {
				t.Fatalf("reading the tampered object gave %d bytes and no error", len(got))
			}
			if !errors.Is(err, seal.ErrCorrupt) {
				t.Errorf("error = %v, want ErrCorrupt", err)
			}
			// The untouched neighbour still reads (except under the wrong key).
			if tt.tamper != nil {
				if got, err := readAll(t, store, "f/1/00000002", 0, -1); err != nil || !bytes.Equal(got, plain) {
					t.Errorf("untouched object: %d bytes, %v", len(got), err)
				}
			}
		})
	}
}

func TestTamperedEmptyObject(t *testing.T) {
	raw := blobtest.NewMemory()
	store := seal.New(raw).With(seal.RandomKeyForTest())
	if err := store.Put(t.Context(), "e/1", bytes.NewReader(nil), 0); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(t.Context(), "e/2", bytes.NewReader(nil), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := readAll(t, store, "e/1", 0, -1); err != nil {
		t.Fatalf("empty object: %v", err)
	}
	putRaw(t, raw, "e/1", raw.Bytes("e/2")) // another key's marker
	if _, err := readAll(t, store, "e/1", 0, -1); !errors.Is(err, seal.ErrCorrupt) {
		t.Errorf("moved empty marker: error = %v, want ErrCorrupt", err)
	}
	if _, err := readAll(t, seal.New(raw).With(seal.RandomKeyForTest()), "e/2", 0, -1); !errors.Is(err, seal.ErrCorrupt) {
		t.Errorf("empty object under the wrong key: error = %v, want ErrCorrupt", err)
	}
}

func TestZeroKeyRefuses(t *testing.T) {
	if !(seal.DataKey{}).IsZero() || seal.RandomKeyForTest().IsZero() {
		t.Error("IsZero wrong")
	}
	store := seal.New(blobtest.NewMemory()).With(seal.DataKey{})
	if err := store.Put(t.Context(), "k", bytes.NewReader([]byte("x")), 1); err == nil {
		t.Error("Put with the zero DataKey succeeded")
	}
}

func putRaw(t *testing.T, raw *blobtest.Memory, key string, b []byte) {
	t.Helper()
	if err := raw.Put(t.Context(), key, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

// TestDeleteWithoutKey deletes a file's objects after its key is gone, as file
// deletion does (key first, then objects).
func TestDeleteWithoutKey(t *testing.T) {
	raw := blobtest.NewMemory()
	s := seal.New(raw)
	sealed := s.With(seal.RandomKeyForTest())
	for _, key := range []string{"f/1/00000000", "f/1/00000001", "f/10/00000000", "p/1"} {
		if err := sealed.Put(t.Context(), key, bytes.NewReader([]byte("x")), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAll(t.Context(), "f/1/"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), "p/1"); err != nil {
		t.Fatal(err)
	}
	var left []string
	raw.List(t.Context(), "", func(k string, _ int64) error { left = append(left, k); return nil })
	if len(left) != 1 || left[0] != "f/10/00000000" {
		t.Errorf("objects left = %q, want only f/10/00000000", left)
	}
}
