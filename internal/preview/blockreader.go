package preview

import (
	"io"

	"github.com/medbox-jp/medbox/internal/filetype"
)

// Decoders read a file's sealed content in many small pieces at scattered
// offsets (TIFF strips, a ZIP's central directory): newBlockReader reads it in
// whole blocks and keeps the last few (filetype.BlockReader), so that each
// piece does not cost a storage request of its own.
const (
	blockSize  = 1 << 20
	blocksKept = 4
	directRead = 4 * blockSize // reads at least this long skip the cache
)

func newBlockReader(r io.ReaderAt, size int64) *filetype.BlockReader {
	return filetype.NewBlockReader(r, size, blockSize, blocksKept, directRead)
}
