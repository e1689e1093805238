package dicom

import (
	"fmt"
	"image"
	"math"
)

// viewOptions say which part of a frame to show, and how large.
type viewOptions struct {
	// maxSide scales the frame down so that its longer side is at most this
	// many pixels; 0 keeps its own size.
	maxSide int
	// region is the part of the frame to show, in its own pixels; empty means
	// all of it.
	region image.Rectangle
}

// view decodes frame i, or a region of it, for display: grey frames as stored
// values with their rescale and default window, colour and palette frames as
// RGB. Rows are read one at a time and, when the frame is scaled down, folded
// into the smaller image as they come, so that a frame of 10000×10000 pixels
// needs memory only for its 4096-pixel rendition. The default window is that
// of the file, else one spanning the values of the whole frame (or region) at
// full resolution, as DCMTK's min-max window does.
func (f *File) view(i int, opt viewOptions) (fr *Frame, err error) {
	defer func() {
		if p := recover(); p != nil { // defence in depth; the worker is the real guard
			fr, err = nil, recovered(fmt.Sprintf("frame %d", i), p)
		}
	}()
	if f.img == nil {
		return nil, f.imgErr
	}
	im := f.img
	if i < 0 || i >= im.present {
		return nil, fmt.Errorf("frame %d of %d: out of range", i, im.present)
	}
	if im.float != 0 {
		return f.floatFrame(i)
	}
	full := image.Rect(0, 0, im.cols, im.rows)
	reg := full
	if !opt.region.Empty() {
		if reg = opt.region.Intersect(full); reg.Empty() {
			return nil, fmt.Errorf("frame %d: region %v outside the %d×%d frame", i, opt.region, im.cols, im.rows)
		}
	}
	src, err := f.rows(i)
	if err != nil {
		return nil, fmt.Errorf("decode frame %d: %w", i, err)
	}
	lay := src.layout()
	w, h := scaledSize(reg.Dx(), reg.Dy(), opt.maxSide)
	fr = &Frame{Index: i, Width: w, Height: h, Photometric: lay.photometric, BitsStored: im.bitsStored,
		Signed: im.signed, Slope: 1, SourceWidth: im.cols, SourceHeight: im.rows, Region: reg}
	grey := false
	var pal *palette
	switch lay.photometric {
	case "MONOCHROME1", "MONOCHROME2":
		grey = true
	case "PALETTE COLOR":
		if pal, err = readPalette(f.ds, im.signed); err != nil {
			return nil, fmt.Errorf("decode frame %d: %w", i, err)
		}
	default:
		fr.Photometric = "RGB"
	}
	mlut := f.modalityLUT()
	c := 3
	if grey {
		c = 1
		fr.Gray = make([]int32, w*h)
	} else {
		fr.RGB = make([]uint8, 3*w*h)
	}
	put := func(y int, row []float64) {
		for k, v := range row {
			if grey {
				fr.Gray[y*w+k] = int32(math.Round(v))
			} else {
				fr.RGB[(y*w)*3+k] = uint8(math.Min(math.Max(math.Round(v), 0), 255))
			}
		}
	}
	var sc *scaler
	if w != reg.Dx() || h != reg.Dy() {
		sc = newScaler(reg.Dx(), reg.Dy(), w, h, c, put)
	}
	spp := im.samples
	raw := make([]int32, im.cols*spp)
	vals := make([]float64, reg.Dx()*c)
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for y := range reg.Max.Y {
		if err := src.next(raw); err != nil {
			return nil, fmt.Errorf("decode frame %d: row %d: %w", i, y, err)
		}
		if y < reg.Min.Y {
			continue
		}
		part := raw[reg.Min.X*spp : reg.Max.X*spp]
		switch {
		case grey:
			for k, v := range part {
				if mlut != nil {
					v = int32(mlut.at(int64(v)))
				}
				lo, hi = min(lo, int64(v)), max(hi, int64(v))
				vals[k] = float64(v)
			}
		case pal != nil:
			rgb := pal.apply(part)
			for k, v := range rgb {
				vals[k] = float64(v)
			}
		default:
			rgb, err := toRGB(part, lay.photometric, lay.bits, lay.signed || lay.offset)
			if err != nil {
				return nil, fmt.Errorf("decode frame %d: %w", i, err)
			}
			for k, v := range rgb {
				vals[k] = float64(v)
			}
		}
		if sc != nil {
			sc.add(vals)
		} else {
			put(y-reg.Min.Y, vals)
		}
	}
	if grey {
		f.greyLevels(fr, lay.offset, mlut != nil, lo, hi)
	}
	return fr, nil
}

// greyLevels sets the rescale, range and default window of a grey frame
// whose stored values (at full resolution) run from lo to hi; offset says
// they are stored minus 2³¹, withLUT that a Modality LUT made them.
func (f *File) greyLevels(fr *Frame, offset, withLUT bool, lo, hi int64) {
	i := fr.Index
	fr.Slope, fr.Intercept = f.rescale(i)
	if offset {
		fr.Intercept += math.Ldexp(fr.Slope, 31)
	}
	if withLUT {
		fr.Slope, fr.Intercept, fr.Signed = 1, 0, false
	}
	fr.Min, fr.Max = minMax(fr.Gray)
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
	if lo > hi {
		lo, hi = 0, 0
	}
	fr.Window = windowOver(float64(lo)*fr.Slope+fr.Intercept, float64(hi)*fr.Slope+fr.Intercept)
}

// windowOver maps modality values lo…hi onto the whole output range, as
// DCMTK's min-max window does: with the DICOM linear function, lo and hi are
// the ends when the width is hi − lo + 1 and the centre half a unit above
// their middle.
func windowOver(lo, hi float64) Window {
	if lo > hi {
		lo, hi = hi, lo
	}
	return Window{Center: (lo+hi)/2 + 0.5, Width: hi - lo + 1}
}
