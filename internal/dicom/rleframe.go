package dicom

import (
	"encoding/binary"

	"github.com/medbox-jp/medbox/internal/dicom/rle"
)

// decodeRLE decodes an RLE frame. Samples of 8, 16 and 32 bits are one byte
// plane per segment, most significant first; 1-bit frames (segmentations) are a
// single segment holding the packed bits, as in native pixel data.
func decodeRLE(ef encodedFrame, im *imageInfo) (*rawFrame, error) {
	dec, data := rle.Decode, ef.data
	if ef.partial {
		dec = rle.DecodeTruncated
	}
	if im.bitsAlloc == 1 {
		out, err := dec(data, int((im.framePixels+7)/8), 1, 1, 1)
		if err != nil {
			return nil, err
		}
		return im.newRaw(out, binary.LittleEndian), nil
	}
	out, err := dec(data, im.cols, im.rows, im.samples, im.bitsAlloc/8)
	if err != nil {
		return nil, err
	}
	rf := im.newRaw(out, binary.LittleEndian)
	rf.planar = true
	return rf, nil
}
