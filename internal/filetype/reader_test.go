package filetype

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// TestReplay: reads at any offset return the bytes a bytes.Reader returns;
// reads going forwards, and reads of the tail or of what was just read, do not
// decompress the entry again; jumping back too often stops with errReplay.
func TestReplay(t *testing.T) {
	data := make([]byte, 3<<20)
	rand.NewChaCha8([32]byte{9}).Read(data)
	opens := 0
	r := newReplay(func() (io.ReadCloser, error) {
		opens++
		return io.NopCloser(bytes.NewReader(data)), nil
	}, int64(len(data)))
	want := bytes.NewReader(data)
	read := func(off int64, n int) {
		t.Helper()
		got, exp := make([]byte, n), make([]byte, n)
		gn, gerr := r.ReadAt(got, off)
		wn, werr := want.ReadAt(exp, off)
		if gn != wn || !bytes.Equal(got[:gn], exp[:wn]) || (gerr == nil) != (werr == nil) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d, %v", n, off, gn, gerr, wn, werr)
		}
	}
	read(int64(len(data))-22, 22)       // the end record
	read(int64(len(data))-70000, 70000) // the directory, in the tail
	read(100, 30)                       // a local header, then its entry forwards
	read(130, 8192)
	read(100, 30) // again: still recent
	read(130, 100_000)
	read(2<<20, 1000)
	read(int64(len(data))-10, 100) // past the end
	if opens != 2 {
		t.Errorf("decompressed %d times, want 2", opens)
	}
	for i := range maxReplays + 1 {
		if _, err := r.ReadAt(make([]byte, 10), int64(1000-i)); err != nil {
			if !errors.Is(err, errReplay) || i < maxReplays-1 {
				t.Fatalf("jump back %d: %v", i, err)
			}
			return
		}
		r.ReadAt(make([]byte, 10), 1<<20) // forwards, out of the recent bytes
	}
	t.Errorf("jumping back %d times did not stop", maxReplays+1)
}

// TestCachedReader: reads of any size and offset return what the file holds,
// and small reads close together cost one read of the file.
func TestCachedReader(t *testing.T) {
	data := make([]byte, 300_000)
	rand.NewChaCha8([32]byte{7}).Read(data)
	counter := &countingReaderAt{r: bytes.NewReader(data)}
	c := newCachedReader(counter, int64(len(data)))
	for _, tc := range []struct {
		off int64
		n   int
	}{{0, 30}, {30, 4096}, {4126, 10}, {65530, 20}, {200_000, 100_000}, {299_990, 20}, {0, cacheBlock}} {
		got := make([]byte, tc.n)
		n, err := c.ReadAt(got, tc.off)
		exp := data[tc.off:min(int(tc.off)+tc.n, len(data))]
		if n != len(exp) || !bytes.Equal(got[:n], exp) || (n < tc.n) != errors.Is(err, io.EOF) {
			t.Fatalf("ReadAt(%d at %d) = %d, %v", tc.n, tc.off, n, err)
		}
	}
	if counter.reads > 6 {
		t.Errorf("%d reads of the file, want at most 6", counter.reads)
	}
}

type countingReaderAt struct {
	r     io.ReaderAt
	reads int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return c.r.ReadAt(p, off)
}

// BenchmarkScanText measures reading text through, in both charsets.
func BenchmarkScanText(b *testing.B) {
	line := []byte("12345,山田 太郎,ﾔﾏﾀﾞ,2024-01-02,陰性,0.82\r\n")
	sjis, _ := japaneseEncode(line)
	for _, tc := range []struct {
		name string
		text []byte
	}{{"utf-8", bytes.Repeat(line, 200_000)}, {"shift_jis", bytes.Repeat(sjis, 200_000)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.text)))
			for b.Loop() {
				if _, err := scanText(bytes.NewReader(tc.text)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
