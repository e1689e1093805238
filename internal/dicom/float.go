package dicom

import (
	"fmt"
	"image"
	"math"
)

// floatLevels is how many steps float samples are quantized to: the viewer
// and the renderer work on integer stored values, and 16 bits are all a screen
// shows.
const floatLevels = 1<<16 - 1

// floatSample returns sample k of Float (32-bit) or Double Float (64-bit)
// Pixel Data, or NaN past the end of the data.
func (rf *rawFrame) floatSample(k int64) float64 {
	d := rf.data
	if rf.bitsAlloc == 64 {
		i := rf.off + 8*k
		if i+8 > int64(len(d)) {
			return math.NaN()
		}
		return math.Float64frombits(rf.bo.Uint64(d[i:]))
	}
	i := rf.off + 4*k
	if i+4 > int64(len(d)) {
		return math.NaN()
	}
	return float64(math.Float32frombits(rf.bo.Uint32(d[i:])))
}

// floatFrame decodes frame i of float pixel data. Its values become stored
// values 0…65535 along the range of its finite values, and the map back to
// them is the frame's rescale, so modality values (and windows) are the
// file's float values. NaN and infinities show as the lowest value.
func (f *File) floatFrame(i int) (*Frame, error) {
	im := f.img
	rf, err := f.native(i)
	if err != nil {
		return nil, fmt.Errorf("decode frame %d: %w", i, err)
	}
	n := int64(im.cols) * int64(im.rows)
	lo, hi := math.Inf(1), math.Inf(-1)
	for k := range n {
		if v := rf.floatSample(k); !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if lo > hi {
		return nil, fmt.Errorf("decode frame %d: %w: no finite float sample", i, ErrMalformed)
	}
	scale := (hi - lo) / floatLevels
	if scale == 0 || math.IsInf(scale, 0) {
		scale = 1
	}
	fr := &Frame{Index: i, Width: im.cols, Height: im.rows, Photometric: im.photometric, BitsStored: 16,
		Slope: scale, Intercept: lo, Gray: make([]int32, n), SourceWidth: im.cols, SourceHeight: im.rows,
		Region: image.Rect(0, 0, im.cols, im.rows)}
	for k := range n {
		v := rf.floatSample(k)
		switch {
		case math.IsNaN(v), v < lo:
			v = lo
		case v > hi:
			v = hi
		}
		fr.Gray[k] = int32(math.Round((v - lo) / scale))
	}
	fr.Min, fr.Max = minMax(fr.Gray)
	fr.VOIFunction = "LINEAR"
	if ws := f.StoredWindows(i); len(ws) > 0 {
		fr.Window, fr.VOIFunction = ws[0].Window, f.voiFunction(i)
	} else {
		fr.Window = windowOver(lo, hi)
	}
	return fr, nil
}
