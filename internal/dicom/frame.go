package dicom

import "image"

// Frame is one decoded frame.
type Frame struct {
	// Index is the frame's number in the file, from 0.
	Index         int
	Width, Height int
	// Photometric says how to read the pixels: MONOCHROME1, MONOCHROME2 (Gray
	// holds stored values), PALETTE COLOR (Gray holds indices, RGB the colours)
	// or RGB (RGB only; every colour model is converted to RGB on decoding).
	Photometric string
	// Gray holds one value per pixel, row-major: stored values after masking
	// and sign extension (and after a Modality LUT, if the file has one).
	// Unsigned 32-bit values are held minus 2³¹, which Intercept adds back.
	Gray []int32
	// RGB holds 8-bit R, G, B triplets for colour and palette images.
	RGB []uint8
	// BitsStored and Signed describe the stored values.
	BitsStored int
	Signed     bool
	// Slope and Intercept map stored values to modality units (Hounsfield
	// units for CT): modality = stored·Slope + Intercept.
	Slope, Intercept float64
	// Window is the frame's default window in modality units: the file's own,
	// else one spanning Min..Max. Zero for colour images.
	Window Window
	// VOIFunction is LINEAR, LINEAR_EXACT or SIGMOID.
	VOIFunction string
	// Min and Max are the smallest and largest values in Gray.
	Min, Max int32
	// SourceWidth and SourceHeight are the frame's own size; Region is the
	// part of it this Frame shows (all of it unless a region was asked for),
	// scaled to Width×Height.
	SourceWidth, SourceHeight int
	Region                    image.Rectangle

	voiLUT *lut
}

// Frame decodes frame i (from 0) at full resolution.
func (f *File) Frame(i int) (*Frame, error) { return f.view(i, viewOptions{}) }

func minMax(v []int32) (int32, int32) {
	if len(v) == 0 {
		return 0, 0
	}
	lo, hi := v[0], v[0]
	for _, x := range v[1:] {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}
