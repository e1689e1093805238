package dicom

import (
	"fmt"
	"math"
)

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

	voiLUT *lut
}

// Frame decodes frame i (from 0).
func (f *File) Frame(i int) (fr *Frame, err error) {
	defer func() {
		if p := recover(); p != nil { // defence in depth; the worker is the real guard
			fr, err = nil, recovered(fmt.Sprintf("frame %d", i), p)
		}
	}()
	if f.img == nil {
		return nil, f.imgErr
	}
	if i < 0 || i >= f.img.present {
		return nil, fmt.Errorf("frame %d of %d: out of range", i, f.img.present)
	}
	if f.img.float != 0 {
		return f.floatFrame(i)
	}
	rf, im, err := f.raw(i)
	if err != nil {
		return nil, fmt.Errorf("decode frame %d: %w", i, err)
	}
	samples, offset, err := unpack(rf)
	if err != nil {
		return nil, fmt.Errorf("decode frame %d: %w", i, err)
	}
	fr = &Frame{Index: i, Width: im.cols, Height: im.rows, Photometric: rf.photometric,
		BitsStored: im.bitsStored, Signed: im.signed, Slope: 1}
	switch rf.photometric {
	case "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR":
		fr.Gray = samples
		if rf.photometric == "PALETTE COLOR" {
			pal, err := readPalette(f.ds, im.signed)
			if err != nil {
				return nil, fmt.Errorf("decode frame %d: %w", i, err)
			}
			fr.RGB = pal.apply(samples)
		}
		f.monochrome(fr, offset)
	default:
		// Offset 32-bit samples are the signed form of the values.
		if fr.RGB, err = toRGB(samples, rf.photometric, rf.bits, rf.signed || offset); err != nil {
			return nil, fmt.Errorf("decode frame %d: %w", i, err)
		}
		fr.Photometric = "RGB"
	}
	return fr, nil
}

// monochrome sets the rescale, range and default window of a grey frame;
// offset says the samples are stored minus 2³¹.
func (f *File) monochrome(fr *Frame, offset bool) {
	i := fr.Index
	fr.Slope, fr.Intercept = f.rescale(i)
	if offset {
		fr.Intercept += math.Ldexp(fr.Slope, 31)
	}
	if mlut := f.modalityLUT(); mlut != nil && fr.Photometric != "PALETTE COLOR" {
		for k, v := range fr.Gray {
			fr.Gray[k] = int32(mlut.at(int64(v)))
		}
		fr.Slope, fr.Intercept, fr.Signed = 1, 0, false
	}
	fr.Min, fr.Max = minMax(fr.Gray)
	if fr.Photometric == "PALETTE COLOR" {
		return
	}
	fr.VOIFunction = "LINEAR"
	if ws := f.StoredWindows(i); len(ws) > 0 {
		fr.Window = ws[0].Window
		fr.VOIFunction = f.voiFunction(i)
		return
	}
	if l := f.voiLUT(); l != nil {
		fr.voiLUT = l
		fr.Window = Window{Center: float64(l.first) + float64(len(l.data))/2, Width: float64(len(l.data))}
		return
	}
	fr.Window = fr.rangeWindow()
}

// rangeWindow maps the frame's values in modality units onto the whole output
// range, as DCMTK's min-max window does: with the DICOM linear function, values
// lo and hi are the ends when the width is hi − lo + 1 and the centre half a
// unit above their middle.
func (fr *Frame) rangeWindow() Window {
	lo := float64(fr.Min)*fr.Slope + fr.Intercept
	hi := float64(fr.Max)*fr.Slope + fr.Intercept
	if lo > hi {
		lo, hi = hi, lo
	}
	return Window{Center: (lo+hi)/2 + 0.5, Width: hi - lo + 1}
}

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
