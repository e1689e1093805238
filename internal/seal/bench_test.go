package seal_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/seal"
)

// drain is a backing store that throws sealed bytes away, so BenchmarkSeal
// measures encryption alone.
type drain struct{ *blobtest.Memory }

func (drain) Put(_ context.Context, _ string, r io.Reader, _ int64) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

var benchSizes = []int{64 << 10, 8 << 20, 64 << 20}

// BenchmarkSeal measures sealing throughput (MB/s of plaintext):
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/seal/
func BenchmarkSeal(b *testing.B) {
	store := seal.New(drain{blobtest.NewMemory()}).With(seal.RandomKeyForTest())
	for _, size := range benchSizes {
		plain := bytes.Repeat([]byte{0x5A}, size)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := store.Put(b.Context(), "f/1/00000000", bytes.NewReader(plain), int64(size)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnseal measures opening whole objects and a 1 MiB range.
func BenchmarkUnseal(b *testing.B) {
	store := seal.New(blobtest.NewMemory()).With(seal.RandomKeyForTest())
	buf := make([]byte, 256<<10)
	for _, size := range benchSizes {
		key := fmt.Sprintf("f/1/%08d", size)
		if err := store.Put(b.Context(), key, bytes.NewReader(make([]byte, size)), int64(size)); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				rc, err := store.Get(b.Context(), key, 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, rc, buf); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
	b.Run("range1MiB", func(b *testing.B) {
		b.SetBytes(1 << 20)
		for b.Loop() {
			rc, err := store.Get(b.Context(), fmt.Sprintf("f/1/%08d", 64<<20), 33<<20+12345, 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, rc, buf); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
	})
}
