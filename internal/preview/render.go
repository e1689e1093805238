package preview

import (
	"image"
	"math"

	"github.com/medbox-jp/medbox/internal/dicom"
)

// renderFrame draws a viewer frame the way the browser viewer does: grey values
// through the rescale, then the DICOM linear window w (the frame's own when
// w.Width is 0), inverted for MONOCHROME1; colour frames as they are. It is the
// server's fallback for browsers that cannot draw on a canvas.
func renderFrame(v *dicom.ViewerFrame, w dicom.Window) image.Image {
	r := image.Rect(0, 0, v.Width, v.Height)
	if v.Color {
		img := image.NewRGBA(r)
		for i := range v.Width * v.Height {
			copy(img.Pix[4*i:4*i+3], v.RGB[3*i:3*i+3])
			img.Pix[4*i+3] = 0xFF
		}
		return img
	}
	if w.Width <= 0 {
		w = dicom.Window{Center: v.WindowCenter, Width: v.WindowWidth}
	}
	lut := windowLUT(v.Slope, v.Intercept, w, v.Invert)
	img := image.NewGray(r)
	for i, p := range v.Pixels {
		img.Pix[i] = lut[p]
	}
	return img
}

// windowLUT maps every 16-bit stored value to a grey level (PS3.3 C.11.2.1.2.1).
func windowLUT(slope, intercept float64, w dicom.Window, invert bool) []uint8 {
	if slope == 0 {
		slope = 1
	}
	c, width := w.Center, math.Max(w.Width, 1)
	lo, hi := c-0.5-(width-1)/2, c-0.5+(width-1)/2
	lut := make([]uint8, 1<<16)
	for p := range lut {
		x := float64(p)*slope + intercept
		var g float64
		switch {
		case x <= lo:
			g = 0
		case x > hi:
			g = 255
		default:
			g = ((x-(c-0.5))/(width-1) + 0.5) * 255
		}
		if invert {
			g = 255 - g
		}
		lut[p] = uint8(math.Round(math.Min(math.Max(g, 0), 255)))
	}
	return lut
}
