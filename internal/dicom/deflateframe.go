package dicom

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// decodeDeflated inflates a frame of Deflated Image Frame Compression
// (1.2.840.10008.1.2.8.1): each frame is the native frame (little endian,
// 1-bit frames packed from a byte boundary), deflated on its own. The standard
// says raw deflate; a zlib header is accepted too.
func decodeDeflated(ef encodedFrame, im *imageInfo) (*rawFrame, error) {
	need := storedBytes(im.framePixels, im.bitsAlloc)
	out, err := inflateFrame(ef.data, need)
	if err != nil && len(ef.data) >= 2 && (uint16(ef.data[0])<<8|uint16(ef.data[1]))%31 == 0 {
		if z, zerr := zlib.NewReader(bytes.NewReader(ef.data)); zerr == nil {
			if zout, zerr := readFrame(z, need); zerr == nil {
				out, err = zout, nil
			}
		}
	}
	if err != nil && !ef.partial {
		return nil, fmt.Errorf("deflated frame: %w", err)
	}
	return im.newRaw(out, binary.LittleEndian), nil
}

// inflateFrame inflates raw deflate data into a buffer of exactly need bytes.
// Data that inflates to more is refused; if it inflates to less, the bytes it
// gave are returned with the error.
func inflateFrame(b []byte, need int64) ([]byte, error) {
	return readFrame(flate.NewReader(bytes.NewReader(b)), need)
}

func readFrame(r io.ReadCloser, need int64) ([]byte, error) {
	defer r.Close()
	out := make([]byte, need)
	n, err := io.ReadFull(r, out)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return out, fmt.Errorf("%w: frame inflates to %d bytes, needs %d", ErrMalformed, n, need)
	case err != nil:
		return out, fmt.Errorf("%w: inflate frame: %v", ErrMalformed, err)
	}
	// One byte of padding to an even length is allowed; more is not.
	var extra [2]byte
	if m, _ := io.ReadFull(r, extra[:]); m > 1 {
		return nil, fmt.Errorf("%w: frame inflates to more than %d bytes", ErrTooLarge, need)
	}
	return out, nil
}
