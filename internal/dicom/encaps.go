package dicom

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// encodedFrame is one frame of encapsulated pixel data, read.
type encodedFrame struct {
	data    []byte
	partial bool // cut short by the end of a truncated file
}

// frameRef is where a frame of encapsulated pixel data is: its fragments.
type frameRef struct {
	frags   []fragment
	partial bool
}

// encodedFrames splits encapsulated pixel data into frames, using the
// extended or basic offset table when they are consistent, and the codec's
// start-of-image markers when they are not. In a truncated file there may be
// fewer frames than declared, the last one partial.
func (f *File) encodedFrames() ([]frameRef, error) {
	f.frameOnce.Do(func() { f.frames, f.framesErr = f.splitFrames() })
	return f.frames, f.framesErr
}

// encoded returns the bytes of frame i, reading them from the file if they were
// left there.
func (f *File) encoded(i int) (encodedFrame, error) {
	frames, err := f.encodedFrames()
	if err != nil {
		return encodedFrame{}, err
	}
	if i >= len(frames) {
		return encodedFrame{}, fmt.Errorf("%w: frame %d is missing", ErrMalformed, i)
	}
	ref := frames[i]
	parts := make([][]byte, len(ref.frags))
	for k, fr := range ref.frags {
		if parts[k], err = f.fragmentBytes(fr); err != nil {
			return encodedFrame{}, err
		}
	}
	return encodedFrame{data: join(parts), partial: ref.partial}, nil
}

// fragmentBytes returns a fragment's bytes, reading them if need be.
func (f *File) fragmentBytes(fr fragment) ([]byte, error) {
	if fr.data != nil || fr.n == 0 {
		return fr.data, nil
	}
	if f.at == nil {
		return nil, fmt.Errorf("%w: pixel data not read", ErrMalformed)
	}
	b := make([]byte, fr.n)
	if _, err := f.at.ReadAt(b, fr.off); err != nil {
		return nil, fmt.Errorf("read pixel data: %w", err)
	}
	return b, nil
}

func (f *File) splitFrames() ([]frameRef, error) {
	im := f.img
	seq := im.pixel.seq
	if len(seq.frags) == 0 {
		return nil, fmt.Errorf("%w: encapsulated pixel data without offset table", ErrMalformed)
	}
	botFrag, frags := seq.frags[0], seq.frags[1:]
	if len(frags) == 0 {
		return nil, fmt.Errorf("%w: encapsulated pixel data without fragments", ErrMalformed)
	}
	bot, err := f.fragmentBytes(botFrag)
	if err != nil {
		return nil, err
	}
	n := im.frames
	cut := f.truncated // the fragments may stop before the last frame
	starts := make([]int64, len(frags)+1)
	for i, fr := range frags { // the offset of each fragment's item tag
		starts[i+1] = starts[i] + 8 + int64(fr.n)
	}
	idx := f.frameStarts(frags, starts, bot, n, cut)
	if idx == nil {
		return nil, fmt.Errorf("%w: %d fragments do not split into %d frames", ErrMalformed, len(frags), n)
	}
	out := make([]frameRef, len(idx))
	for k, first := range idx {
		last := len(frags)
		if k+1 < len(idx) {
			last = idx[k+1]
		}
		out[k].frags = frags[first:last]
	}
	out[len(out)-1].partial = seq.partial
	return out, nil
}

// frameStarts returns the index of the first fragment of each frame, or nil if
// the fragments cannot be split into n frames (fewer in a cut file).
func (f *File) frameStarts(frags []fragment, starts []int64, bot []byte, n int, cut bool) []int {
	if offs := f.extendedOffsets(); len(offs) == n {
		if idx, ok := fragmentsAt(starts, offs, cut); ok {
			return idx
		}
	}
	if len(bot) >= 4*n && len(bot)%4 == 0 {
		offs := make([]int64, n)
		for i := range offs {
			offs[i] = int64(binary.LittleEndian.Uint32(bot[4*i:]))
		}
		if idx, ok := fragmentsAt(starts, offs, cut); ok {
			return idx
		}
	}
	if n == 1 {
		return []int{0}
	}
	if len(frags) == n || cut && len(frags) < n && !f.hasFrameMarkers() {
		idx := make([]int, len(frags))
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	var idx []int
	for i, fr := range frags {
		if i == 0 || f.startsFrame(fr) {
			idx = append(idx, i)
		}
	}
	if len(idx) == n || cut && len(idx) < n {
		return idx
	}
	return nil
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

// fragmentsAt maps frame offsets to fragment indices. It fails unless every
// offset is the start of a fragment and the offsets increase from 0; in a cut
// file, offsets past the last fragment are frames that are missing.
func fragmentsAt(starts []int64, offs []int64, cut bool) ([]int, bool) {
	nfrag := len(starts) - 1
	idx := make([]int, 0, len(offs))
	j := 0
	for k, o := range offs {
		if k == 0 && o != 0 {
			return nil, false
		}
		for j < nfrag && starts[j] < o {
			j++
		}
		if j >= nfrag && cut && k > 0 && o >= starts[nfrag] {
			break // this frame and the rest are missing
		}
		if j >= nfrag || starts[j] != o || (k > 0 && j <= idx[k-1]) {
			return nil, false
		}
		idx = append(idx, j)
	}
	return idx, true
}

// hasFrameMarkers reports whether the codec's frames start with a marker that
// startsFrame recognises.
func (f *File) hasFrameMarkers() bool {
	switch f.syntax.codec {
	case codecJPEG, codecJPEGLossless, codecJPEGLS, codecJPEG2000:
		return true
	}
	return false
}

// startsFrame reports whether a fragment begins a new codestream.
func (f *File) startsFrame(fr fragment) bool {
	b := fr.data
	if b == nil && f.at != nil && fr.n > 0 {
		b = make([]byte, min(fr.n, 8))
		if _, err := f.at.ReadAt(b, fr.off); err != nil {
			return false
		}
	}
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
