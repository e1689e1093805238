package seal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/blob/disk"
	"github.com/medbox-jp/medbox/internal/blob/s3"
	"github.com/medbox-jp/medbox/internal/blob/s3/s3test"
	"github.com/medbox-jp/medbox/internal/seal"
)

func TestContractOverMemory(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		return seal.New(blobtest.NewMemory()).With(seal.RandomKeyForTest())
	})
}

func TestContractOverDisk(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		d, err := disk.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return seal.New(d).With(seal.RandomKeyForTest())
	})
}

func TestContractOverS3(t *testing.T) {
	server := s3test.StartServer(t)
	blobtest.Run(t, func(t *testing.T) blob.Store {
		raw, err := s3.Open(t.Context(), s3test.NewBucket(t, server))
		if err != nil {
			t.Fatal(err)
		}
		return seal.New(raw).With(seal.RandomKeyForTest())
	})
}

// readDICOM returns a real DICOM file from the repository's test data.
func readDICOM(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dicom", name))
	if err != nil {
		t.Fatalf("read test DICOM: %v", err)
	}
	return b
}

// spy is a blob.Store that keeps a copy of every byte any Put sent it, including
// Puts that failed, and the sizes it was told.
type spy struct {
	blob.Store
	seen  bytes.Buffer
	sizes []int64
}

func (s *spy) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	s.sizes = append(s.sizes, size)
	return s.Store.Put(ctx, key, io.TeeReader(r, &s.seen), size)
}

func TestNoPlaintextReachesBackingStore(t *testing.T) {
	const canary = "CANARY-患者-0123456789-MEDBOX"
	plain := append(readDICOM(t, "ct_small.dcm"), canary...)
	plain = append(plain, bytes.Repeat([]byte(canary), 5000)...) // past one 64 KiB package
	raw := &spy{Store: blobtest.NewMemory()}
	store := seal.New(raw).With(seal.RandomKeyForTest())
	ctx := t.Context()
	if err := store.Put(ctx, "f/1/00000000", bytes.NewReader(plain), int64(len(plain))); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, "f/1/00000001", bytes.NewReader(plain), -1); err != nil {
		t.Fatal(err)
	}
	// A Put that fails midway must not have leaked plaintext either.
	failing := io.MultiReader(bytes.NewReader(plain[:100_000]), errorReader{})
	if err := store.Put(ctx, "f/1/00000002", failing, -1); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}

	seen := raw.seen.Bytes()
	if bytes.Contains(seen, []byte(canary)) {
		t.Error("the backing store was sent the canary string")
	}
	for off := 0; off+64 <= len(plain)-len(canary)*5000; off += 512 {
		if bytes.Contains(seen, plain[off:off+64]) {
			t.Fatalf("the backing store was sent DICOM bytes %d..%d in the clear", off, off+64)
		}
	}
	if bytes.Contains(seen, []byte("DICM")) {
		t.Error(`the backing store was sent the "DICM" magic`)
	}
	// And the sealed objects open to the original.
	rc, err := store.Get(ctx, "f/1/00000001", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Get = %d bytes, %v; want the %d plaintext bytes", len(got), err, len(plain))
	}
}

type errorReader struct{}

func (errorReader) Read([]byte) (int, error) { return 0, errors.New("upload broke off") }

func TestPutPassesSealedSize(t *testing.T) {
	raw := &spy{Store: blobtest.NewMemory()}
	store := seal.New(raw).With(seal.RandomKeyForTest())
	for i, size := range []int{0, 1, 65535, 65536, 65537, 200_000, 3 << 20} {
		key := fmt.Sprintf("s/%d", i)
		if err := store.Put(t.Context(), key, bytes.NewReader(make([]byte, size)), int64(size)); err != nil {
			t.Fatal(err)
		}
		stored := int64(len(raw.Store.(*blobtest.Memory).Bytes(key)))
		if got := raw.sizes[len(raw.sizes)-1]; got != stored {
			t.Errorf("plaintext %d bytes: backing Put was told %d, stored %d", size, got, stored)
		}
		if stored <= int64(size) {
			t.Errorf("plaintext %d bytes: stored only %d", size, stored)
		}
	}
}

// TestRangesMatch compares many random ranges, most crossing 64 KiB package
// boundaries, with the plaintext.
func TestRangesMatch(t *testing.T) {
	plain := readDICOM(t, "ct_perfusion_2frame.dcm") // about 1 MiB: 17 packages
	store := seal.New(blobtest.NewMemory()).With(seal.RandomKeyForTest())
	if err := store.Put(t.Context(), "r", bytes.NewReader(plain), int64(len(plain))); err != nil {
		t.Fatal(err)
	}
	size := int64(len(plain))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		off := rng.Int64N(size + 10)
		length := rng.Int64N(3*65536) - 1 // -1 means to the end
		if rng.IntN(4) == 0 {
			off = rng.Int64N(size/65536+1)*65536 + rng.Int64N(3) - 1 // at a boundary
			off = max(off, 0)
		}
		rc, err := store.Get(t.Context(), "r", off, length)
		if err != nil {
			t.Fatalf("Get(%d, %d) = %v", off, length, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		start, end := min(off, size), size
		if length >= 0 {
			end = min(start+length, size)
		}
		if err != nil || !bytes.Equal(got, plain[start:end]) {
			t.Fatalf("Get(%d, %d) = %d bytes, %v; want plaintext[%d:%d]", off, length, len(got), err, start, end)
		}
	}
}
