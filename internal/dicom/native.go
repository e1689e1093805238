package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
)

// rawFrame is one frame of pixel samples as stored (native) or as a decoder
// produced them.
type rawFrame struct {
	data        []byte
	bitOffset   int64 // start of the frame in data, for 1-bit pixels
	bo          binary.ByteOrder
	bitsAlloc   int
	planar      bool
	photometric string // interpretation of the samples
	sub422      bool   // native 4:2:2 layout: Y Y Cb Cr for each pair of pixels
	swap8       bool   // 8-bit samples in byte-swapped 16-bit words
	shift       int    // HighBit + 1 - BitsStored
	bits        int    // width of a stored value: where to mask and sign-extend
	signed      bool
}

// unpack returns the masked, sign-extended samples of a w×h frame with spp samples
// per pixel, pixel-interleaved. Unsigned 32-bit values above MaxInt32 cannot be
// held: if any occurs, all values are halved and halved is true.
func unpack(rf *rawFrame, w, h, spp, bitsStored int, signed bool) (out []int32, halved bool, err error) {
	n := w * h * spp
	if rf.sub422 {
		return unpack422(rf, w, h)
	}
	need := (int64(n)*int64(rf.bitsAlloc) + 7) / 8
	if rf.bitsAlloc == 1 {
		need = (rf.bitOffset + int64(n) + 7) / 8
	}
	if int64(len(rf.data)) < need {
		return nil, false, fmt.Errorf("%w: frame holds %d bytes, needs %d", ErrMalformed, len(rf.data), need)
	}
	get := sampleReader(rf)
	mask := uint32(math.MaxUint32)
	if bitsStored < 32 {
		mask = 1<<bitsStored - 1
	}
	signBit := uint32(1) << (bitsStored - 1)
	shift := uint(rf.shift)
	if bitsStored == 32 && !signed {
		for k := range n {
			if get(k)>>shift&mask > math.MaxInt32 {
				halved = true
				break
			}
		}
	}
	out = make([]int32, n)
	plane := w * h
	for k := range n {
		v := get(k) >> shift & mask
		var s int32
		switch {
		case halved:
			s = int32(v >> 1)
		case signed && v&signBit != 0:
			s = int32(int64(v) - int64(mask) - 1)
		default:
			s = int32(v)
		}
		if rf.planar && spp > 1 {
			out[(k%plane)*spp+k/plane] = s
		} else {
			out[k] = s
		}
	}
	return out, halved, nil
}

// sampleReader returns a function reading the k-th stored sample.
func sampleReader(rf *rawFrame) func(k int) uint32 {
	d := rf.data
	switch rf.bitsAlloc {
	case 1:
		off := rf.bitOffset
		return func(k int) uint32 {
			b := off + int64(k)
			return uint32(d[b/8]>>(b%8)) & 1
		}
	case 8:
		if rf.swap8 {
			return func(k int) uint32 { return uint32(d[k^1]) }
		}
		return func(k int) uint32 { return uint32(d[k]) }
	case 16:
		if rf.bo == binary.BigEndian {
			return func(k int) uint32 { return uint32(binary.BigEndian.Uint16(d[2*k:])) }
		}
		return func(k int) uint32 { return uint32(binary.LittleEndian.Uint16(d[2*k:])) }
	default:
		if rf.bo == binary.BigEndian {
			return func(k int) uint32 { return binary.BigEndian.Uint32(d[4*k:]) }
		}
		return func(k int) uint32 { return binary.LittleEndian.Uint32(d[4*k:]) }
	}
}

// unpack422 expands native 8-bit YBR_*_422 (Y1 Y2 Cb Cr per pair of pixels) to
// three samples per pixel.
func unpack422(rf *rawFrame, w, h int) ([]int32, bool, error) {
	if rf.bitsAlloc != 8 {
		return nil, false, fmt.Errorf("%w: %d-bit 4:2:2 pixel data", ErrUnsupported, rf.bitsAlloc)
	}
	pairs := (w + 1) / 2
	if int64(len(rf.data)) < int64(h)*int64(pairs)*4 {
		return nil, false, fmt.Errorf("%w: 4:2:2 frame holds %d bytes", ErrMalformed, len(rf.data))
	}
	out := make([]int32, w*h*3)
	src := rf.data
	for y := range h {
		for p := range pairs {
			q := src[(y*pairs+p)*4:]
			cb, cr := int32(q[2]), int32(q[3])
			for i := range 2 {
				x := 2*p + i
				if x >= w {
					break
				}
				o := (y*w + x) * 3
				out[o], out[o+1], out[o+2] = int32(q[i]), cb, cr
			}
		}
	}
	return out, false, nil
}
