package object

import (
	"context"
	"io"
)

// ContextReader returns a reader of r that fails with ctx's error once ctx is done,
// so a long copy stops soon after its request is canceled.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	return &ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ReadCloser joins a reader and the Close of what it reads from.
type ReadCloser struct {
	io.Reader
	Closer io.Closer
}

// Close closes the underlying source.
func (rc ReadCloser) Close() error {
	if rc.Closer == nil {
		return nil
	}
	return rc.Closer.Close()
}

// Range cuts a request for length bytes at off (length < 0: to the end) to an
// object of size bytes, returning the number of bytes that exist there.
func Range(off, length, size int64) int64 {
	if off >= size {
		return 0
	}
	if length < 0 || length > size-off {
		return size - off
	}
	return length
}
