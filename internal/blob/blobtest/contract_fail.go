package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob"
)

// failingReader yields n bytes of data and then fails with err.
type failingReader struct {
	data []byte
	n    int
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := copy(p[:min(len(p), f.n)], f.data)
	f.data, f.n = f.data[k:], f.n-k
	return k, nil
}

func testSizeMismatch(t *testing.T, s blob.Store) {
	ctx := t.Context()
	old := pattern(1, 1000)
	put(t, s, "m", old)
	data := pattern(2, 100_000)
	tests := []struct {
		name     string
		n        int
		declared int64
	}{
		{"short", 99_999, 100_000},
		{"long", 100_000, 99_999},
		{"empty but declared", 0, 10},
		{"declared empty", 10, 0},
	}
	for _, tt := range tests {
		err := s.Put(ctx, "m", bytes.NewReader(data[:tt.n]), tt.declared)
		if !errors.Is(err, blob.ErrSize) {
			t.Errorf("%s: Put(%d bytes, size %d) = %v, want ErrSize", tt.name, tt.n, tt.declared, err)
		}
		wantContent(t, s, "m", old)
		if err := s.Put(ctx, "m-new", bytes.NewReader(data[:tt.n]), tt.declared); !errors.Is(err, blob.ErrSize) {
			t.Errorf("%s: Put(new key) = %v, want ErrSize", tt.name, err)
		}
		wantNotFound(t, s, "m-new")
	}
}

func testFailingReader(t *testing.T, s blob.Store) {
	ctx := t.Context()
	old := pattern(1, 3000)
	put(t, s, "fail/old", old)
	boom := errors.New("client went away")
	data := pattern(2, 300_000)
	for _, size := range []int64{int64(len(data)), -1} {
		for _, n := range []int{0, 1, 70_000, 299_999} {
			if err := s.Put(ctx, "fail/old", &failingReader{data, n, boom}, size); err == nil {
				t.Errorf("Put(reader failing after %d bytes, size %d) over an object succeeded", n, size)
			}
			wantContent(t, s, "fail/old", old)
			if err := s.Put(ctx, "fail/new", &failingReader{data, n, boom}, size); err == nil {
				t.Errorf("Put(reader failing after %d bytes, size %d) succeeded", n, size)
			}
			wantNotFound(t, s, "fail/new")
		}
	}
	if got := listAll(t, s, "fail/"); got != "fail/old:3000" {
		t.Errorf("List after failed Puts = %q, want only fail/old", got)
	}
}

// cancelingReader yields data and cancels its context after n bytes.
type cancelingReader struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func testCancel(t *testing.T, s blob.Store) {
	old := pattern(1, 2000)
	put(t, s, "c", old)
	data := pattern(2, 1<<20)

	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(canceled, "c", bytes.NewReader(data), int64(len(data))); err == nil {
		t.Error("Put with a canceled context succeeded")
	}
	if rc, err := s.Get(canceled, "c", 0, -1); err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
		if err == nil {
			t.Error("Get with a canceled context succeeded")
		}
	}
	wantContent(t, s, "c", old)

	for _, size := range []int64{int64(len(data)), -1} {
		ctx, cancel := context.WithCancel(t.Context())
		r := &cancelingReader{r: bytes.NewReader(data), n: 100_000, cancel: cancel}
		if err := s.Put(ctx, "c", r, size); err == nil {
			t.Errorf("Put(size %d) canceled midway succeeded", size)
		}
		wantContent(t, s, "c", old)
	}

	// A read that outlives its request fails rather than going on.
	put(t, s, "c", data)
	ctx, cancel := context.WithCancel(t.Context())
	rc, err := s.Get(ctx, "c", 0, -1)
	if err != nil {
		t.Fatalf("Get = %v", err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatalf("read the start: %v", err)
	}
	cancel()
	if n, err := io.Copy(io.Discard, rc); err == nil {
		t.Errorf("reading on after cancel: got the remaining %d bytes and no error", n)
	}
}

func testPing(t *testing.T, s blob.Store) {
	p, ok := s.(blob.Pinger)
	if !ok {
		t.Skip("store does not implement blob.Pinger")
	}
	if err := p.Ping(t.Context()); err != nil {
		t.Errorf("Ping() = %v", err)
	}
}
