package blobtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob"
)

// stream returns size bytes of a deterministic keystream, made on the fly so a
// large object never exists in the test's memory.
func stream(seed byte, size int64) io.Reader {
	key := make([]byte, 16)
	key[0] = seed
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	return io.LimitReader(keystream{cipher.NewCTR(block, make([]byte, 16))}, size) // #nosec G407 -- test data: an AES-CTR keystream as a fast reproducible byte source, not encryption
}

type keystream struct{ s cipher.Stream }

func (k keystream) Read(p []byte) (int, error) {
	clear(p)
	k.s.XORKeyStream(p, p)
	return len(p), nil
}

func hashOf(t *testing.T, r io.Reader) ([sha256.Size]byte, int64) {
	t.Helper()
	h := sha256.New()
	n, err := io.CopyBuffer(h, r, make([]byte, 64<<10))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return [sha256.Size]byte(h.Sum(nil)), n
}

// allocated measures fn: bytes allocated, and by how much the live heap grew
// (what the store keeps, such as the memory store's copy of the object).
func allocated(fn func()) (total, retained int64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc), max(0, int64(after.HeapAlloc)-int64(before.HeapAlloc))
}

// testLarge streams a 64 MiB object in and out and checks memory stays bounded:
// what a Put allocates beyond what the store keeps, and what a Get allocates, must
// be a small fraction of the object.
func testLarge(t *testing.T, s blob.Store) {
	const size = 64 << 20
	const budget = 16 << 20
	ctx := t.Context()
	want, _ := hashOf(t, stream(9, size))
	var err error
	total, retained := allocated(func() { err = s.Put(ctx, "big/object", stream(9, size), size) })
	if err != nil {
		t.Fatalf("Put(64 MiB) = %v", err)
	}
	if transient := total - retained; transient > budget {
		t.Errorf("Put(64 MiB) allocated %d MiB beyond the %d MiB the store kept; want under %d MiB",
			transient>>20, retained>>20, budget>>20)
	}
	if got, err := s.Stat(ctx, "big/object"); err != nil || got != size {
		t.Fatalf("Stat = %d, %v; want %d", got, err, size)
	}

	var got [sha256.Size]byte
	var n int64
	total, _ = allocated(func() {
		rc, err := s.Get(ctx, "big/object", 0, -1)
		if err != nil {
			t.Fatalf("Get = %v", err)
		}
		defer rc.Close()
		got, n = hashOf(t, rc)
	})
	if got != want || n != size {
		t.Errorf("Get(64 MiB) returned %d bytes with a different hash", n)
	}
	if total > budget {
		t.Errorf("Get(64 MiB) allocated %d MiB; want under %d MiB", total>>20, budget>>20)
	}

	// A range near the end reads only what it needs and matches the stream.
	const off = size - 100_000
	src := stream(9, size)
	if _, err := io.CopyN(io.Discard, src, off); err != nil {
		t.Fatal(err)
	}
	want70k := make([]byte, 70_000)
	if _, err := io.ReadFull(src, want70k); err != nil {
		t.Fatal(err)
	}
	if tail := get(t, s, "big/object", off, 70_000); !bytes.Equal(tail, want70k) {
		t.Errorf("Get(range near the end) = %s, want %s", describe(tail), describe(want70k))
	}
}

// testUnknownSizeLarge stores an object of unknown size large enough to need
// several parts where a backend cuts uploads into parts.
func testUnknownSizeLarge(t *testing.T, s blob.Store) {
	const size = 20<<20 + 12345
	want, _ := hashOf(t, stream(5, size))
	if err := s.Put(t.Context(), "u/big", stream(5, size), -1); err != nil {
		t.Fatalf("Put(20 MiB, size -1) = %v", err)
	}
	rc, err := s.Get(t.Context(), "u/big", 0, -1)
	if err != nil {
		t.Fatalf("Get = %v", err)
	}
	defer rc.Close()
	if got, n := hashOf(t, rc); got != want || n != size {
		t.Errorf("Get returned %d bytes (want %d), hash match %v", n, size, got == want)
	}
}

// testConcurrentSameKey races writers of one key against readers: every read must
// see one whole version, never a mix or a part.
func testConcurrentSameKey(t *testing.T, s blob.Store) {
	const size = 150_000
	const writers = 8
	put(t, s, "same", bytes.Repeat([]byte{0xFF}, size))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range writers {
		wg.Go(func() {
			b := bytes.Repeat([]byte{byte(i)}, size)
			if err := s.Put(t.Context(), "same", bytes.NewReader(b), size); err != nil {
				errs <- fmt.Errorf("writer %d: %w", i, err)
			}
		})
	}
	for r := range 4 {
		wg.Go(func() {
			for range 5 {
				rc, err := s.Get(t.Context(), "same", 0, -1)
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				if len(b) != size || !bytes.Equal(b, bytes.Repeat(b[:1], size)) {
					errs <- fmt.Errorf("reader %d saw a torn object: %s", r, describe(b))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	b := get(t, s, "same", 0, -1)
	if len(b) != size || b[0] >= writers || !bytes.Equal(b, bytes.Repeat(b[:1], size)) {
		t.Errorf("after the race the object is %s, want one writer's version", describe(b))
	}
}

func testConcurrentKeys(t *testing.T, s blob.Store) {
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("many/%02d/%08d", i%4, i)
			if err := s.Put(t.Context(), key, bytes.NewReader(pattern(byte(i), 10_000+i)), -1); err != nil {
				t.Errorf("Put(%s) = %v", key, err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		wantContent(t, s, fmt.Sprintf("many/%02d/%08d", i%4, i), pattern(byte(i), 10_000+i))
	}
	count := 0
	prev := ""
	err := s.List(t.Context(), "many/", func(key string, size int64) error {
		if key <= prev {
			t.Errorf("List: %q after %q", key, prev)
		}
		prev = key
		count++
		return nil
	})
	if err != nil || count != n {
		t.Errorf("List(many/) = %d objects, %v; want %d", count, err, n)
	}
}
