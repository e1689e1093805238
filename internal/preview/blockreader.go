package preview

import (
	"io"
)

// blockReader is an io.ReaderAt over a file's sealed content that reads whole
// blocks and keeps the last few, so that decoders which read in many small
// pieces at scattered offsets (TIFF strips, a ZIP's central directory) cost a
// storage request per block rather than per piece.
type blockReader struct {
	r      io.ReaderAt
	size   int64
	blocks []cachedBlock // most recently used last
}

type cachedBlock struct {
	n    int64
	data []byte
}

const (
	blockSize  = 1 << 20
	blocksKept = 4
	directRead = 4 * blockSize // reads at least this long skip the cache
)

func newBlockReader(r io.ReaderAt, size int64) *blockReader {
	return &blockReader{r: r, size: size}
}

// ReadAt implements io.ReaderAt.
func (b *blockReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= b.size {
		return 0, io.EOF
	}
	if len(p) >= directRead {
		want := min(int64(len(p)), b.size-off)
		n, err := b.r.ReadAt(p[:want], off)
		if err == nil && int64(n) < int64(len(p)) {
			err = io.EOF
		}
		return n, err
	}
	n := 0
	for n < len(p) && off < b.size {
		blk, err := b.block(off / blockSize)
		if err != nil {
			return n, err
		}
		k := copy(p[n:], blk[off%blockSize:])
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (b *blockReader) block(n int64) ([]byte, error) {
	for i, c := range b.blocks {
		if c.n == n {
			b.blocks = append(append(b.blocks[:i:i], b.blocks[i+1:]...), c)
			return c.data, nil
		}
	}
	start := n * blockSize
	data := make([]byte, min(blockSize, b.size-start))
	if k, err := b.r.ReadAt(data, start); k < len(data) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if len(b.blocks) >= blocksKept {
		b.blocks = b.blocks[1:]
	}
	b.blocks = append(b.blocks, cachedBlock{n: n, data: data})
	return data, nil
}
