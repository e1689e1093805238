package dicom

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// encodedFrames splits encapsulated pixel data into one byte stream per frame,
// using the extended or basic offset table when they are consistent, and the
// codec's start-of-image markers when they are not.
func (f *File) encodedFrames() ([][]byte, error) {
	f.frameOnce.Do(func() { f.frames, f.framesErr = f.splitFrames() })
	return f.frames, f.framesErr
}

func (f *File) splitFrames() ([][]byte, error) {
	im := f.img
	frags := im.pixel.seq.frags
	if len(frags) == 0 {
		return nil, fmt.Errorf("%w: encapsulated pixel data without offset table", ErrMalformed)
	}
	bot, frags := frags[0], frags[1:]
	if len(frags) == 0 {
		return nil, fmt.Errorf("%w: encapsulated pixel data without fragments", ErrMalformed)
	}
	n := im.frames
	starts := make([]int64, len(frags)+1) // offset of each fragment's item tag
	for i, fr := range frags {
		starts[i+1] = starts[i] + 8 + int64(len(fr))
	}
	if offs := f.extendedOffsets(); len(offs) == n {
		if out, ok := framesAt(frags, starts, offs); ok {
			return out, nil
		}
	}
	if len(bot) >= 4*n && len(bot)%4 == 0 {
		offs := make([]int64, n)
		for i := range offs {
			offs[i] = int64(binary.LittleEndian.Uint32(bot[4*i:]))
		}
		if out, ok := framesAt(frags, starts, offs); ok {
			return out, nil
		}
	}
	switch {
	case n == 1:
		return [][]byte{join(frags)}, nil
	case len(frags) == n:
		return frags, nil
	}
	var out [][]byte
	var cur [][]byte
	for _, fr := range frags {
		if len(cur) > 0 && f.startsFrame(fr) {
			out = append(out, join(cur))
			cur = nil
		}
		cur = append(cur, fr)
	}
	out = append(out, join(cur))
	if len(out) != n {
		return nil, fmt.Errorf("%w: %d fragments do not split into %d frames", ErrMalformed, len(frags), n)
	}
	return out, nil
}

// extendedOffsets returns the Extended Offset Table (7FE0,0001), if any.
func (f *File) extendedOffsets() []int64 {
	b := f.ds.raw(tagExtendedOffsetTable)
	out := make([]int64, len(b)/8)
	for i := range out {
		v := binary.LittleEndian.Uint64(b[8*i:])
		if v > 1<<62 {
			return nil
		}
		out[i] = int64(v)
	}
	return out
}

// framesAt maps frame offsets to fragment boundaries. It fails unless every offset
// is the start of a fragment and the offsets increase from 0.
func framesAt(frags [][]byte, starts []int64, offs []int64) ([][]byte, bool) {
	idx := make([]int, 0, len(offs)+1)
	j := 0
	for k, o := range offs {
		if k == 0 && o != 0 {
			return nil, false
		}
		for j < len(frags) && starts[j] < o {
			j++
		}
		if j >= len(frags) || starts[j] != o || (k > 0 && j <= idx[k-1]) {
			return nil, false
		}
		idx = append(idx, j)
	}
	idx = append(idx, len(frags))
	out := make([][]byte, len(offs))
	for k := range out {
		out[k] = join(frags[idx[k]:idx[k+1]])
	}
	return out, true
}

// startsFrame reports whether a fragment begins a new codestream.
func (f *File) startsFrame(b []byte) bool {
	switch f.syntax.codec {
	case codecJPEG, codecJPEGLossless, codecJPEGLS:
		return bytes.HasPrefix(b, []byte{0xFF, 0xD8})
	case codecJPEG2000:
		return bytes.HasPrefix(b, []byte{0xFF, 0x4F, 0xFF, 0x51}) ||
			bytes.HasPrefix(b, []byte{0, 0, 0, 0x0C, 'j', 'P', ' ', ' '})
	}
	return false
}

func join(frags [][]byte) []byte {
	if len(frags) == 1 {
		return frags[0]
	}
	return bytes.Join(frags, nil)
}
