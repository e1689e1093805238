package upload_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/upload"
)

// TestPutChunk (R-T1): chunks arrive in any order; a chunk must have exactly its
// length and, with a Content-Digest, its digest; sending an acknowledged chunk
// again with the same bytes is harmless, with other bytes refused. Whatever is
// sent, the file holds exactly the bytes of the upload.
func TestPutChunk(t *testing.T) {
	t.Parallel()
	evil := func(d []byte) []byte { return append([]byte("MZ"), part(d, 0)[2:]...) }
	tests := []struct {
		name         string
		before       []int // chunks sent first, correctly
		n            int
		body         func(data []byte) []byte
		length       func(body []byte) int64 // the declared length; default len(body)
		digest       func(body []byte) upload.Digest
		wantErr      error
		wantReceived []int
	}{
		{name: "the first chunk", n: 0, wantReceived: []int{0}},
		{name: "without a digest", n: 0, digest: func([]byte) upload.Digest { return nil }, wantReceived: []int{0}},
		{name: "without a declared length", n: 1, length: func([]byte) int64 { return -1 }, wantReceived: []int{1}},
		{name: "the short last chunk", n: 2, wantReceived: []int{2}},
		{name: "out of order", before: []int{2}, n: 0, wantReceived: []int{0, 2}},
		{name: "the same bytes again", before: []int{0}, n: 0, wantReceived: []int{0}},
		{name: "the same bytes again without length or digest", before: []int{0}, n: 0,
			length: func([]byte) int64 { return -1 }, digest: func([]byte) upload.Digest { return nil }, wantReceived: []int{0}},
		{name: "other bytes for an acknowledged chunk", before: []int{0}, n: 0, body: evil, wantErr: upload.ErrChunkConflict, wantReceived: []int{0}},
		{name: "other bytes without a digest", before: []int{0}, n: 0, body: evil, digest: func([]byte) upload.Digest { return nil },
			wantErr: upload.ErrChunkConflict, wantReceived: []int{0}},
		{name: "the same bytes with a wrong digest", before: []int{0}, n: 0, digest: func([]byte) upload.Digest { return digest([]byte("x")) },
			wantErr: upload.ErrDigest, wantReceived: []int{0}},
		{name: "a short body for an acknowledged chunk", before: []int{0}, n: 0, body: func(d []byte) []byte { return part(d, 0)[1:] },
			length: func([]byte) int64 { return -1 }, wantErr: upload.ErrChunkSize, wantReceived: []int{0}},
		{name: "a wrong digest", n: 1, digest: func([]byte) upload.Digest { return digest([]byte("something else")) }, wantErr: upload.ErrDigest},
		{name: "a byte short", n: 1, body: func(d []byte) []byte { return part(d, 1)[1:] }, length: func([]byte) int64 { return -1 },
			wantErr: upload.ErrChunkSize},
		{name: "a byte long", n: 1, body: func(d []byte) []byte { return append(bytes.Clone(part(d, 1)), 'x') }, length: func([]byte) int64 { return -1 },
			wantErr: upload.ErrChunkSize},
		{name: "a declared length that is wrong", n: 1, length: func(b []byte) int64 { return int64(len(b)) - 1 }, wantErr: upload.ErrChunkSize},
		{name: "a full-size last chunk", n: 2, body: func(d []byte) []byte { return d[len(d)-chunk:] }, wantErr: upload.ErrChunkSize},
		{name: "a chunk past the end", n: 3, body: func(d []byte) []byte { return part(d, 2) }, wantErr: upload.ErrBadChunk},
		{name: "a negative chunk", n: -1, body: func(d []byte) []byte { return part(d, 0) }, wantErr: upload.ErrBadChunk},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, w)
				for _, n := range tt.before {
					f.put(t, n)
				}
				body := func(d []byte) []byte { return part(d, tt.n) }
				if tt.body != nil {
					body = tt.body
				}
				b := body(f.data)
				length := int64(len(b))
				if tt.length != nil {
					length = tt.length(b)
				}
				dg := digest(b)
				if tt.digest != nil {
					dg = tt.digest(b)
				}
				err := f.Uploads.PutChunk(t.Context(), f.sender.ID, f.up.ID, tt.n, bytes.NewReader(b), length, dg)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("PutChunk(%d) error = %v, want %v", tt.n, err, tt.wantErr)
				}
				if got := f.received(t); fmt.Sprint(got) != fmt.Sprint(nonNil(tt.wantReceived)) {
					t.Errorf("received = %v, want %v", got, nonNil(tt.wantReceived))
				}
				file := f.finish(t)
				if got := f.read(t, f.colleague.ID, file.ID); !bytes.Equal(got, f.data) {
					t.Errorf("the completed file differs from the upload's bytes (%d bytes, want %d)", len(got), len(f.data))
				}
			})
		}
	})
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// blockedBody is a chunk body that delivers nothing until released: a client
// whose connection stalls mid-chunk. reading is closed once the service has
// claimed the chunk and starts to read.
type blockedBody struct {
	r       io.Reader
	reading chan struct{}
	release chan struct{}
	started bool
}

func newBlockedBody(b []byte) *blockedBody {
	return &blockedBody{r: bytes.NewReader(b), reading: make(chan struct{}), release: make(chan struct{})}
}

func (b *blockedBody) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		close(b.reading)
		<-b.release
	}
	return b.r.Read(p)
}

// interruptible is a blockedBody that a newer request for its chunk can end.
type interruptible struct {
	*blockedBody
	interrupted chan struct{}
}

var errInterrupted = errors.New("interrupted")

func (b *interruptible) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		close(b.reading)
		select {
		case <-b.release:
		case <-b.interrupted:
			return 0, errInterrupted
		}
	}
	return b.r.Read(p)
}

func (b *interruptible) Interrupt() { close(b.interrupted) }

// cancelAtEOF reads r and cancels a context as soon as r is drained: the
// client hangs up the moment its last byte has arrived.
type cancelAtEOF struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelAtEOF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		c.cancel()
	}
	return n, err
}

// TestChunkClaims: one request at a time writes a chunk. While one does, another
// is told the chunk is busy — unless the writer can be interrupted (a client
// that gave up on it), or its claim went stale 20 s ago (an instance that
// died). A client gone after its last byte leaves the chunk acknowledged.
func TestChunkClaims(t *testing.T) {
	t.Parallel()
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		t.Run("busy while another request writes it", func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			f := newFixture(t, w)
			first := newBlockedBody(part(f.data, 0))
			done := make(chan error, 1)
			go func() { done <- f.Uploads.PutChunk(ctx, f.sender.ID, f.up.ID, 0, first, chunk, nil) }()
			<-first.reading
			second := part(f.data, 0)
			if err := f.Uploads.PutChunk(ctx, f.sender.ID, f.up.ID, 0, bytes.NewReader(second), chunk, digest(second)); !errors.Is(err, upload.ErrChunkBusy) {
				t.Errorf("PutChunk() while another writes: error %v, want %v", err, upload.ErrChunkBusy)
			}
			if _, err := f.Uploads.Complete(ctx, f.sender.ID, f.up.ID, ""); err == nil {
				t.Error("Complete() succeeded while a chunk was being written")
			}
			close(first.release)
			if err := <-done; err != nil {
				t.Fatalf("the first writer: %v", err)
			}
			if got := f.received(t); fmt.Sprint(got) != "[0]" {
				t.Errorf("received = %v, want [0]", got)
			}
			file := f.finish(t)
			if !bytes.Equal(f.read(t, f.colleague.ID, file.ID), f.data) {
				t.Error("the completed file differs from the upload's bytes")
			}
		})

		t.Run("a newer request supersedes one that can be interrupted", func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			f := newFixture(t, w)
			old := &interruptible{blockedBody: newBlockedBody(part(f.data, 1)), interrupted: make(chan struct{})}
			done := make(chan error, 1)
			go func() { done <- f.Uploads.PutChunk(ctx, f.sender.ID, f.up.ID, 1, old, chunk, nil) }()
			<-old.reading
			f.put(t, 1)
			if err := <-done; err == nil {
				t.Error("the superseded request succeeded")
			}
			if got := f.received(t); fmt.Sprint(got) != "[1]" {
				t.Errorf("received = %v, want [1]", got)
			}
			file := f.finish(t)
			if !bytes.Equal(f.read(t, f.colleague.ID, file.ID), f.data) {
				t.Error("the completed file differs from the upload's bytes")
			}
		})

		t.Run("a client gone after the last byte", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, w)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			body := &cancelAtEOF{bytes.NewReader(part(f.data, 0)), cancel}
			if err := f.Uploads.PutChunk(ctx, f.sender.ID, f.up.ID, 0, body, chunk, nil); err != nil {
				t.Errorf("PutChunk(), client gone after the last byte: error %v", err)
			}
			if ctx.Err() == nil {
				t.Fatal("the client did not hang up")
			}
			if n := f.count(t, `SELECT count(*) FROM upload_chunks WHERE upload_id = $1 AND n = 0 AND state = 'done'`, f.up.ID); n != 1 {
				t.Errorf("chunk 0 acknowledged %d times, want 1", n)
			}
			file := f.finish(t)
			if !bytes.Equal(f.read(t, f.colleague.ID, file.ID), f.data) {
				t.Error("the completed file differs from the upload's bytes")
			}
		})
	})
}

// TestStaleClaim: a chunk claimed by a request whose instance died (killed mid
// write, so its claim is never renewed nor released) is busy for 20 s on the
// clock, then another request takes it over.
func TestStaleClaim(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, opts, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		f := newFixture(t, w)
		// What the dead instance left: its claim, as PutChunk writes one.
		if _, err := f.DB.ExecContext(ctx, `INSERT INTO upload_chunks (upload_id, n, state, claim, claimed_at, size, sha256)
			VALUES ($1, 0, 'writing', 'dead', $2, 0, '')`, f.up.ID, sqldb.Millis(f.Clock.Now())); err != nil {
			t.Fatal(err)
		}
		b := part(f.data, 0)
		for _, step := range []struct {
			advance time.Duration
			wantErr error
		}{
			{0, upload.ErrChunkBusy},
			{19 * time.Second, upload.ErrChunkBusy},
			{2 * time.Second, nil},
		} {
			f.Clock.Advance(step.advance)
			err := f.Uploads.PutChunk(ctx, f.sender.ID, f.up.ID, 0, bytes.NewReader(b), chunk, digest(b))
			if !errors.Is(err, step.wantErr) {
				t.Fatalf("PutChunk() at +%v since the claim: error %v, want %v", step.advance, err, step.wantErr)
			}
		}
		file := f.finish(t)
		if !bytes.Equal(f.read(t, f.colleague.ID, file.ID), f.data) {
			t.Error("the completed file differs from the upload's bytes")
		}
	})
}

// TestParseContentDigest: the SHA-256 of an RFC 9530 Content-Digest header is
// read; other algorithms are ignored, and a malformed SHA-256 is an error.
func TestParseContentDigest(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("chunk"))
	b64 := "bIf2g3GyiVRwfruSr+58z/t0xvceyP6oqYz2EEKJWFs="
	tests := []struct {
		header  string
		want    []byte
		wantErr error
	}{
		{"", nil, nil},
		{"sha-256=:" + b64 + ":", sum[:], nil},
		{"SHA-256=:" + b64 + ":", sum[:], nil},
		{"sha-512=:AAAA:, sha-256=:" + b64 + ":", sum[:], nil},
		{"md5=:AAAA:", nil, nil},
		{"sha-256=" + b64, nil, upload.ErrDigest},
		{"sha-256=:AAAA:", nil, upload.ErrDigest},
		{"sha-256=:not base64!:", nil, upload.ErrDigest},
	}
	for _, tt := range tests {
		got, err := upload.ParseContentDigest(tt.header)
		if !bytes.Equal(got, tt.want) || !errors.Is(err, tt.wantErr) {
			t.Errorf("ParseContentDigest(%q) = %x, %v; want %x, %v", tt.header, got, err, tt.want, tt.wantErr)
		}
	}
}
