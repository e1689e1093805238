package blobtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob"
)

// Run tests that the stores newStore returns keep the blob.Store contract. Each
// subtest gets a fresh, empty store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"PutGetStat", testPutGetStat},
		{"Overwrite", testOverwrite},
		{"Ranges", testRanges},
		{"Empty", testEmpty},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"List", testList},
		{"BadKeys", testBadKeys},
		{"GoodKeys", testGoodKeys},
		{"SizeMismatch", testSizeMismatch},
		{"FailingReader", testFailingReader},
		{"Cancel", testCancel},
		{"ConcurrentSameKey", testConcurrentSameKey},
		{"ConcurrentKeys", testConcurrentKeys},
		{"UnknownSizeLarge", testUnknownSizeLarge},
		{"Large", testLarge},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// put stores b under key, declaring its size.
func put(t *testing.T, s blob.Store, key string, b []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("Put(%q, %d bytes) = %v", key, len(b), err)
	}
}

// get reads a range of key.
func get(t *testing.T, s blob.Store, key string, off, length int64) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key, off, length)
	if err != nil {
		t.Fatalf("Get(%q, %d, %d) = %v", key, off, length, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q, %d, %d): read: %v", key, off, length, err)
	}
	return b
}

// wantContent checks key holds exactly want, through Get and Stat.
func wantContent(t *testing.T, s blob.Store, key string, want []byte) {
	t.Helper()
	if got := get(t, s, key, 0, -1); !bytes.Equal(got, want) {
		t.Errorf("Get(%q) = %s, want %s", key, describe(got), describe(want))
	}
	size, err := s.Stat(t.Context(), key)
	if err != nil || size != int64(len(want)) {
		t.Errorf("Stat(%q) = %d, %v; want %d, nil", key, size, err, len(want))
	}
}

func wantNotFound(t *testing.T, s blob.Store, key string) {
	t.Helper()
	if rc, err := s.Get(t.Context(), key, 0, -1); !errors.Is(err, blob.ErrNotFound) {
		if err == nil {
			rc.Close()
		}
		t.Errorf("Get(%q) error = %v, want ErrNotFound", key, err)
	}
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(%q) error = %v, want ErrNotFound", key, err)
	}
}

// describe summarises b for a failure message.
func describe(b []byte) string {
	if len(b) <= 32 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%d bytes starting %q", len(b), b[:32])
}

// pattern returns n bytes that differ at every offset and between seeds, so a
// misplaced or mixed-up range shows.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i>>8) ^ seed
	}
	return b
}

func testPutGetStat(t *testing.T, s blob.Store) {
	want := pattern(1, 100_000)
	put(t, s, "f/one/00000000", want)
	wantContent(t, s, "f/one/00000000", want)

	// Unknown size.
	if err := s.Put(t.Context(), "f/one/00000001", bytes.NewReader(want), -1); err != nil {
		t.Fatalf("Put(size -1) = %v", err)
	}
	wantContent(t, s, "f/one/00000001", want)
}

func testOverwrite(t *testing.T, s blob.Store) {
	put(t, s, "k", pattern(1, 70_000))
	v2 := pattern(2, 5_000)
	put(t, s, "k", v2)
	wantContent(t, s, "k", v2)
	put(t, s, "k", nil)
	wantContent(t, s, "k", []byte{})
}

func testRanges(t *testing.T, s blob.Store) {
	const size = 200_000 // several 64 KiB encryption packages
	all := pattern(3, size)
	put(t, s, "r", all)
	tests := []struct{ off, length int64 }{
		{0, -1}, {0, 0}, {0, 1}, {1, 10}, {65535, 2}, {65535, 65538}, {65536, 65536},
		{131072, -1}, {100, size}, {size - 1, 1}, {size - 1, -1}, {size - 1, 100},
		{size, -1}, {size, 5}, {size + 1, 1}, {3 * size, -1}, {12345, 0},
	}
	for _, tt := range tests {
		start, end := min(tt.off, size), int64(size)
		if tt.length >= 0 {
			end = min(start+tt.length, size)
		}
		if got, want := get(t, s, "r", tt.off, tt.length), all[start:end]; !bytes.Equal(got, want) {
			t.Errorf("Get(off %d, length %d) = %s, want %s", tt.off, tt.length, describe(got), describe(want))
		}
	}
	if rc, err := s.Get(t.Context(), "r", -1, 10); err == nil {
		rc.Close()
		t.Error("Get(off -1) succeeded, want an error")
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	put(t, s, "e/known", nil)
	if err := s.Put(t.Context(), "e/unknown", strings.NewReader(""), -1); err != nil {
		t.Fatalf("Put(empty, size -1) = %v", err)
	}
	for _, key := range []string{"e/known", "e/unknown"} {
		wantContent(t, s, key, []byte{})
		if got := get(t, s, key, 0, 10); len(got) != 0 {
			t.Errorf("Get(%q, 0, 10) = %s, want nothing", key, describe(got))
		}
	}
	got := listAll(t, s, "e/")
	if want := "e/known:0 e/unknown:0"; got != want {
		t.Errorf("List(e/) = %q, want %q", got, want)
	}
}

func testMissing(t *testing.T, s blob.Store) {
	wantNotFound(t, s, "never/stored")
	put(t, s, "obj", []byte("x"))
	wantNotFound(t, s, "obj/below")
	wantNotFound(t, s, "ob")
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := t.Context()
	put(t, s, "d/a/1", []byte("one"))
	put(t, s, "d/a/2", []byte("two"))
	if err := s.Delete(ctx, "d/a/1"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	wantNotFound(t, s, "d/a/1")
	wantContent(t, s, "d/a/2", []byte("two"))
	for _, key := range []string{"d/a/1", "d/never", "d/a", "nothing/at/all"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of an absent object = %v, want nil", key, err)
		}
	}
	if err := s.Delete(ctx, "d/a/2"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if got := listAll(t, s, ""); got != "" {
		t.Errorf("List after deleting everything = %q, want nothing", got)
	}
	// The key can be used again.
	put(t, s, "d/a/1", []byte("again"))
	wantContent(t, s, "d/a/1", []byte("again"))
}
