package dicom

import (
	"image"
	"math"
)

// Render returns the frame as an 8-bit image: *image.Gray for monochrome frames,
// windowed with w (the frame's default window if w.Width is 0) and inverted for
// MONOCHROME1; *image.RGBA for colour and palette frames, which ignore w.
func (fr *Frame) Render(w Window) image.Image {
	r := image.Rect(0, 0, fr.Width, fr.Height)
	if fr.RGB != nil {
		img := image.NewRGBA(r)
		for i := range fr.Width * fr.Height {
			copy(img.Pix[4*i:4*i+3], fr.RGB[3*i:3*i+3])
			img.Pix[4*i+3] = 0xFF
		}
		return img
	}
	img := image.NewGray(r)
	lut := fr.levels(w)
	for i, v := range fr.Gray {
		img.Pix[i] = lut(v)
	}
	return img
}

// levels returns the function from stored value to output grey level.
func (fr *Frame) levels(w Window) func(int32) uint8 {
	v := voi{c: w.Center, w: w.Width, fn: "LINEAR"}
	if w.Width <= 0 {
		v = voi{c: fr.Window.Center, w: fr.Window.Width, fn: fr.VOIFunction, lut: fr.voiLUT}
	}
	if v.w <= 0 && v.lut == nil {
		v.w = 1
	}
	v.lo, v.hi = 0, 255
	if fr.Photometric == "MONOCHROME1" {
		v.lo, v.hi = 255, 0
	}
	level := func(s int32) uint8 {
		return uint8(math.Min(math.Max(v.level(float64(s)*fr.Slope+fr.Intercept), 0), 255))
	}
	span := int64(fr.Max) - int64(fr.Min)
	if span > 1<<20 {
		return level
	}
	table := make([]uint8, span+1)
	for k := range table {
		table[k] = level(fr.Min + int32(k))
	}
	return func(s int32) uint8 { return table[s-fr.Min] }
}
