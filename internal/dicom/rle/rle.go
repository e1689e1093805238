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

// Stream decodes one segment of an RLE frame incrementally, so that a large
// frame can be read a row at a time.
type Stream struct {
	src  []byte
	i    int
	rep  int  // bytes of a replicate run still to give
	val  byte // the replicated byte
	lit  int  // bytes of a literal run still to give
	left int  // bytes the segment must still yield
	cut  bool // the frame is cut short: a segment that ends early yields zeros
}

// Segments splits an RLE frame into its n segment streams, each to yield
// perSegment bytes. With cut, missing segments and data yield zeros.
func Segments(src []byte, n, perSegment int, cut bool) ([]*Stream, error) {
	if len(src) < headerSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrInvalid, len(src))
	}
	if got := int(binary.LittleEndian.Uint32(src)); got != n || n > 15 {
		return nil, fmt.Errorf("%w: %d segments, want %d", ErrInvalid, got, n)
	}
	offs := make([]int, n+1)
	for i := range n {
		o := int64(binary.LittleEndian.Uint32(src[4+4*i:]))
		if cut && o > int64(len(src)) {
			o = int64(len(src))
		}
		if o < headerSize || o > int64(len(src)) || (i > 0 && int(o) < offs[i-1]) {
			return nil, fmt.Errorf("%w: segment %d at offset %d", ErrInvalid, i, o)
		}
		offs[i] = int(o)
	}
	offs[n] = len(src)
	out := make([]*Stream, n)
	for i := range out {
		out[i] = &Stream{src: src[offs[i]:offs[i+1]], left: perSegment, cut: cut}
	}
	return out, nil
}

// Read writes the next n bytes of the segment to dst[0], dst[stride], ….
func (s *Stream) Read(dst []byte, n, stride int) error {
	if n > s.left {
		return fmt.Errorf("%w: segment read past its %d bytes", ErrInvalid, s.left)
	}
	s.left -= n
	for k := 0; k < n; {
		switch {
		case s.rep > 0:
			m := min(s.rep, n-k)
			for j := range m {
				dst[(k+j)*stride] = s.val
			}
			s.rep -= m
			k += m
			continue
		case s.lit > 0:
			m := min(s.lit, n-k, len(s.src)-s.i)
			for j := range m {
				dst[(k+j)*stride] = s.src[s.i+j]
			}
			s.i += m
			s.lit -= m
			k += m
			if m > 0 {
				continue
			}
		}
		if s.i >= len(s.src) {
			if !s.cut {
				return fmt.Errorf("%w: segment ends %d bytes early", ErrInvalid, n-k+s.left)
			}
			for ; k < n; k++ {
				dst[k*stride] = 0
			}
			return nil
		}
		c := int8(s.src[s.i])
		s.i++
		switch {
		case c >= 0:
			s.lit = int(c) + 1
		case c != -128:
			if s.i >= len(s.src) {
				s.rep = 0
				continue
			}
			s.val, s.rep = s.src[s.i], 1-int(c)
			s.i++
		}
	}
	return nil
}
