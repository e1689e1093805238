package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
)

// rawFrame is one frame of pixel samples as stored (native) or as a decoder
// produced them. Reads past the end of data give zeros: a frame cut short by a
// truncated file is padded, as GDCM does, and never read out of bounds.
type rawFrame struct {
	data        []byte
	off         int64 // start of the frame in data: in bits for 1- and 12-bit samples, else in bytes
	bo          binary.ByteOrder
	bitsAlloc   int // 1, 8, 12 (packed, ACR-NEMA), 16 or 32
	planar      bool
	photometric string // interpretation of the samples
	sub422      bool   // native 4:2:2 layout: Y Y Cb Cr for each pair of pixels
	swap8       bool   // 8-bit samples in byte-swapped 16-bit words
	shift       int    // HighBit + 1 - BitsStored
	bits        int    // width of a stored value: where to mask and sign-extend
	signed      bool
	w, h, spp   int
}

// sample returns the k-th stored sample of the frame (in storage order), or 0
// past the end of the data.
func (rf *rawFrame) sample(k int64) uint32 {
	d := rf.data
	switch rf.bitsAlloc {
	case 1:
		b := rf.off + k
		if b>>3 >= int64(len(d)) {
			return 0
		}
		return uint32(d[b>>3]>>(b&7)) & 1
	case 12:
		// Packed 12-bit samples run through 16-bit words in the file's byte
		// order: sample 0 is bits 0–11 of word 0, sample 1 bits 12–15 of word 0
		// and 0–7 of word 1, and so on.
		b := rf.off + 12*k
		w := b >> 4
		lo, hi := rf.word(w), rf.word(w+1)
		return (lo | hi<<16) >> (b & 15) & 0xFFF
	case 8:
		i := rf.off + k
		if rf.swap8 {
			i ^= 1
		}
		if i >= int64(len(d)) {
			return 0
		}
		return uint32(d[i])
	case 16:
		i := rf.off + 2*k
		if i+2 > int64(len(d)) {
			return uint32(rf.bo.Uint16(tail(d, i, 2)))
		}
		return uint32(rf.bo.Uint16(d[i:]))
	default:
		i := rf.off + 4*k
		if i+4 > int64(len(d)) {
			return rf.bo.Uint32(tail(d, i, 4))
		}
		return rf.bo.Uint32(d[i:])
	}
}

// tail returns the n bytes of d at i, those past its end being zero: a sample
// cut by the end of a truncated file keeps the bytes it has, as in GDCM.
func tail(d []byte, i int64, n int) []byte {
	b := make([]byte, n)
	if i < int64(len(d)) {
		copy(b, d[i:])
	}
	return b
}

// word returns 16-bit word w of the data, 0 past its end.
func (rf *rawFrame) word(w int64) uint32 {
	if 2*w+2 > int64(len(rf.data)) {
		return 0
	}
	return uint32(rf.bo.Uint16(rf.data[2*w:]))
}

// storedBytes returns how many bytes a frame of n samples occupies.
func storedBytes(n int64, bitsAlloc int) int64 { return (n*int64(bitsAlloc) + 7) / 8 }

// needsOffset reports whether unsigned 32-bit samples exceed MaxInt32, so that
// they are held as int32 offset by −2³¹.
func (rf *rawFrame) needsOffset() bool {
	if rf.bits < 32 || rf.signed || rf.sub422 {
		return false
	}
	n := int64(rf.w) * int64(rf.h) * int64(rf.spp)
	for k := range n {
		if rf.sample(k)>>uint(rf.shift) > math.MaxInt32 {
			return true
		}
	}
	return false
}

// value64 masks and sign-extends stored sample v at full precision.
func (rf *rawFrame) value64(v uint32) int64 {
	v >>= uint(rf.shift)
	switch {
	case rf.bits >= 32 && rf.signed:
		return int64(int32(v))
	case rf.bits >= 32:
		return int64(v)
	}
	v &= 1<<uint(rf.bits) - 1
	if rf.signed && v&(1<<uint(rf.bits-1)) != 0 {
		return int64(v) - 1<<uint(rf.bits)
	}
	return int64(v)
}

// value masks and sign-extends stored sample v; offset moves unsigned 32-bit
// values down by 2³¹ so that they fit.
func (rf *rawFrame) value(v uint32, offset bool) int32 {
	v >>= uint(rf.shift)
	if rf.bits < 32 {
		v &= 1<<uint(rf.bits) - 1
	}
	switch {
	case offset:
		return int32(int64(v) - 1<<31)
	case rf.signed && rf.bits < 32 && v&(1<<uint(rf.bits-1)) != 0:
		return int32(int64(v) - 1<<uint(rf.bits))
	}
	return int32(v)
}

// row writes the w·spp masked, sign-extended samples of row y, pixel-interleaved,
// to dst.
func (rf *rawFrame) row(y int, dst []int32, offset bool) {
	w, spp := rf.w, rf.spp
	if rf.sub422 {
		rf.row422(y, dst)
		return
	}
	if rf.planar && spp > 1 {
		plane := int64(w) * int64(rf.h)
		for s := range spp {
			base := int64(s)*plane + int64(y)*int64(w)
			for x := range w {
				dst[x*spp+s] = rf.value(rf.sample(base+int64(x)), offset)
			}
		}
		return
	}
	base := int64(y) * int64(w) * int64(spp)
	if rf.fastRow(base, dst[:w*spp], offset) {
		return
	}
	for k := range w * spp {
		dst[k] = rf.value(rf.sample(base+int64(k)), offset)
	}
}

// fastRow reads the common layouts, whole rows of 8- or 16-bit samples that
// are all in the data, without going through sample for each.
func (rf *rawFrame) fastRow(base int64, dst []int32, offset bool) bool {
	n := int64(len(dst))
	switch {
	case rf.bitsAlloc == 16 && rf.off+2*(base+n) <= int64(len(rf.data)):
		d := rf.data[rf.off+2*base : rf.off+2*(base+n)]
		le := rf.bo == binary.LittleEndian
		for k := range dst {
			var v uint32
			if le {
				v = uint32(d[2*k]) | uint32(d[2*k+1])<<8
			} else {
				v = uint32(d[2*k])<<8 | uint32(d[2*k+1])
			}
			dst[k] = rf.value(v, offset)
		}
		return true
	case rf.bitsAlloc == 8 && !rf.swap8 && rf.off+base+n <= int64(len(rf.data)):
		d := rf.data[rf.off+base : rf.off+base+n]
		for k := range dst {
			dst[k] = rf.value(uint32(d[k]), offset)
		}
		return true
	}
	return false
}

// row422 expands a row of native 8-bit YBR_*_422 (Y1 Y2 Cb Cr per pair of
// pixels) to three samples per pixel.
func (rf *rawFrame) row422(y int, dst []int32) {
	pairs := int64(rf.w+1) / 2
	for p := range pairs {
		base := (int64(y)*pairs + p) * 4
		cb, cr := int32(rf.sample(base+2)), int32(rf.sample(base+3))
		for i := range int64(2) {
			x := 2*p + i
			if x >= int64(rf.w) {
				break
			}
			o := x * 3
			dst[o], dst[o+1], dst[o+2] = int32(rf.sample(base+i)), cb, cr
		}
	}
}

// unpack returns the masked, sign-extended samples of the frame,
// pixel-interleaved. Unsigned 32-bit values above MaxInt32 do not fit in an
// int32: if any occurs, every value is stored minus 2³¹ and offset is true.
func unpack(rf *rawFrame) (out []int32, offset bool, err error) {
	if rf.sub422 && rf.bitsAlloc != 8 {
		return nil, false, fmt.Errorf("%w: %d-bit 4:2:2 pixel data", ErrUnsupported, rf.bitsAlloc)
	}
	offset = rf.needsOffset()
	rowLen := rf.w * rf.spp
	out = make([]int32, rowLen*rf.h)
	for y := range rf.h {
		rf.row(y, out[y*rowLen:(y+1)*rowLen], offset)
	}
	return out, offset, nil
}
