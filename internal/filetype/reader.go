package filetype

import (
	"errors"
	"fmt"
	"io"
)

// BlockReader is an io.ReaderAt that reads whole blocks of the reader under it
// and keeps the last few. Readers that take many small pieces at scattered
// offsets — a container's walk (a directory in 4 KiB steps, a 30-byte local
// header, then an entry's first bytes), TIFF strips, a ZIP's central directory —
// cost one read of a stored file per block instead of one per piece, and over
// stored content each read is a storage request and a decryption.
type BlockReader struct {
	r      io.ReaderAt
	size   int64
	block  int64
	kept   int
	direct int
	blocks []cachedBlock // most recently used last
}

type cachedBlock struct {
	n    int64
	data []byte
}

// NewBlockReader reads r, which holds size bytes, in blocks of block bytes and
// keeps kept of them; a read of direct bytes or more goes straight through.
func NewBlockReader(r io.ReaderAt, size, block int64, kept, direct int) *BlockReader {
	return &BlockReader{r: r, size: size, block: block, kept: kept, direct: direct}
}

// The container walk's blocks: the size of a sealed package.
const (
	cacheBlock = 64 << 10
	cacheKept  = 8
)

func newCachedReader(r io.ReaderAt, size int64) *BlockReader {
	return NewBlockReader(r, size, cacheBlock, cacheKept, cacheBlock)
}

// ReadAt implements io.ReaderAt.
func (c *BlockReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= c.size {
		return 0, io.EOF
	}
	if len(p) >= c.direct {
		want := min(int64(len(p)), c.size-off)
		n, err := c.r.ReadAt(p[:want], off)
		if err == nil && n < len(p) {
			err = io.EOF
		}
		return n, err
	}
	n := 0
	for n < len(p) && off < c.size {
		blk, err := c.blockAt(off / c.block)
		if err != nil {
			return n, err
		}
		k := copy(p[n:], blk[off%c.block:])
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (c *BlockReader) blockAt(n int64) ([]byte, error) {
	for i, b := range c.blocks {
		if b.n == n {
			c.blocks = append(append(c.blocks[:i:i], c.blocks[i+1:]...), b)
			return b.data, nil
		}
	}
	start := n * c.block
	data := make([]byte, min(c.block, c.size-start))
	if k, err := c.r.ReadAt(data, start); k < len(data) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if len(c.blocks) >= c.kept {
		c.blocks = c.blocks[1:]
	}
	c.blocks = append(c.blocks, cachedBlock{n: n, data: data})
	return data, nil
}

// errReplay stops a replay that would decompress its entry too many times.
var errReplay = errors.New("compressed entry read out of order too often")

// replay gives random access to a compressed entry without holding it in
// memory: reads move forwards through one decompressor, and a read behind it
// starts again from the beginning. It keeps the entry's tail, where an archive
// is read first (its directory), and the bytes just read, which an archive's
// walk reads twice (an entry's head, then the entry again). Reading a ZIP
// through it decompresses the entry two or three times; a reader that jumps
// back and forth gets errReplay after maxReplays restarts.
type replay struct {
	open func() (io.ReadCloser, error)
	size int64

	rc       io.ReadCloser
	pos      int64  // of rc
	recent   []byte // the bytes just before pos
	tail     []byte // the last bytes of the entry, once read
	restarts int
}

const (
	replayTail   = 1 << 20
	replayRecent = 256 << 10
	maxReplays   = 8
)

func newReplay(open func() (io.ReadCloser, error), size int64) *replay {
	return &replay{open: open, size: size}
}

// ReadAt implements io.ReaderAt.
func (r *replay) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := len(p)
	p = p[:min(int64(len(p)), r.size-off)]
	tailStart := r.size - min(r.size, replayTail)
	if off >= tailStart {
		if r.tail == nil {
			if err := r.readTail(tailStart); err != nil {
				return 0, err
			}
		}
		n := copy(p, r.tail[off-tailStart:])
		return n, r.eof(n, want)
	}
	n := 0
	if start := r.pos - int64(len(r.recent)); off >= start && off < r.pos {
		n = copy(p, r.recent[off-start:])
	}
	if n < len(p) {
		k, err := r.forward(p[n:], off+int64(n))
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, r.eof(n, want)
}

func (r *replay) eof(n, want int) error {
	if n < want {
		return io.EOF
	}
	return nil
}

// forward reads p at off, at or after pos, restarting first if off is behind.
func (r *replay) forward(p []byte, off int64) (int, error) {
	if r.rc == nil || off < r.pos {
		if err := r.restart(); err != nil {
			return 0, err
		}
	}
	if err := r.skip(off - r.pos); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(r.rc, p)
	r.advance(p[:n])
	if err != nil {
		return n, fmt.Errorf("decompress entry: %w", err)
	}
	return n, nil
}

func (r *replay) restart() error {
	if r.rc != nil {
		r.restarts++
		r.rc.Close()
		r.rc = nil
	}
	if r.restarts > maxReplays {
		return errReplay
	}
	rc, err := r.open()
	if err != nil {
		return err
	}
	r.rc, r.pos, r.recent = rc, 0, r.recent[:0]
	return nil
}

// skip reads and drops n bytes, keeping the last of them as recent.
func (r *replay) skip(n int64) error {
	buf := make([]byte, 32<<10)
	for n > 0 {
		k, err := io.ReadFull(r.rc, buf[:min(n, int64(len(buf)))])
		r.advance(buf[:k])
		n -= int64(k)
		if err != nil {
			return fmt.Errorf("decompress entry: %w", err)
		}
	}
	return nil
}

func (r *replay) advance(b []byte) {
	r.pos += int64(len(b))
	r.recent = append(r.recent, b...)
	if over := len(r.recent) - replayRecent; over > replayRecent { // trim now and then, not on every read
		r.recent = append(r.recent[:0], r.recent[over:]...)
	}
}

func (r *replay) readTail(start int64) error {
	tail := make([]byte, r.size-start)
	if _, err := r.forward(tail, start); err != nil {
		return err
	}
	r.tail = tail
	return nil
}
