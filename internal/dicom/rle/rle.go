// Package rle decodes DICOM RLE Lossless frames (PS3.5 annex G): a 64-byte header
// of segment offsets followed by PackBits-compressed byte planes.
package rle

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrInvalid means the frame is not valid DICOM RLE.
var ErrInvalid = errors.New("invalid RLE frame")

const headerSize = 64

// Decode decodes one RLE frame of width×height pixels with samples samples of
// bytesPerSample bytes each. The result is planar (all of sample 0, then sample 1,
// ...) with little-endian samples, ready to be read as native pixel data.
func Decode(src []byte, width, height, samples, bytesPerSample int) ([]byte, error) {
	return decode(src, width, height, samples, bytesPerSample, false)
}

// DecodeTruncated decodes a frame cut short by the end of a truncated file:
// segments that are missing or end early leave zeros, as GDCM pads truncated
// pixel data. Only a header that is not RLE at all is an error.
func DecodeTruncated(src []byte, width, height, samples, bytesPerSample int) ([]byte, error) {
	return decode(src, width, height, samples, bytesPerSample, true)
}

func decode(src []byte, width, height, samples, bytesPerSample int, cut bool) ([]byte, error) {
	if width <= 0 || height <= 0 || samples <= 0 || bytesPerSample <= 0 || bytesPerSample > 4 {
		return nil, fmt.Errorf("%w: bad geometry %d×%d×%d×%d", ErrInvalid, width, height, samples, bytesPerSample)
	}
	if len(src) < headerSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrInvalid, len(src))
	}
	nseg := int(binary.LittleEndian.Uint32(src))
	want := samples * bytesPerSample
	if nseg != want {
		return nil, fmt.Errorf("%w: %d segments, want %d", ErrInvalid, nseg, want)
	}
	if nseg > 15 {
		return nil, fmt.Errorf("%w: %d segments", ErrInvalid, nseg)
	}
	offs := make([]int, nseg+1)
	for i := range nseg {
		o := int64(binary.LittleEndian.Uint32(src[4+4*i:]))
		if cut && o > int64(len(src)) {
			o = int64(len(src)) // the segment is missing: it stays zero
		}
		if o < headerSize || o > int64(len(src)) || (i > 0 && int(o) < offs[i-1]) {
			return nil, fmt.Errorf("%w: segment %d at offset %d", ErrInvalid, i, o)
		}
		offs[i] = int(o)
	}
	offs[nseg] = len(src)
	plane := width * height
	out := make([]byte, plane*want)
	for seg := range nseg {
		s, b := seg/bytesPerSample, seg%bytesPerSample // b = 0 is the most significant byte
		dst := out[s*plane*bytesPerSample+(bytesPerSample-1-b):]
		if err := packBits(src[offs[seg]:offs[seg+1]], dst, plane, bytesPerSample); err != nil && !cut {
			return nil, fmt.Errorf("segment %d: %w", seg, err)
		}
	}
	return out, nil
}

// packBits decodes n bytes into dst[0], dst[stride], dst[2*stride], ...
func packBits(src, dst []byte, n, stride int) error {
	k := 0
	for i := 0; i < len(src) && k < n; {
		c := int8(src[i])
		i++
		switch {
		case c >= 0:
			run := int(c) + 1
			short := i+run > len(src)
			for j := 0; j < run && i+j < len(src) && k < n; j++ {
				dst[k*stride] = src[i+j]
				k++
			}
			if short {
				return fmt.Errorf("%w: literal run past the end", ErrInvalid)
			}
			i += run
		case c != -128:
			if i >= len(src) {
				return fmt.Errorf("%w: replicate run past the end", ErrInvalid)
			}
			v := src[i]
			i++
			for j := 0; j < 1-int(c) && k < n; j++ {
				dst[k*stride] = v
				k++
			}
		}
	}
	if k < n {
		return fmt.Errorf("%w: segment decodes to %d bytes, want %d", ErrInvalid, k, n)
	}
	return nil
}
