package dicom

import "math"

// Window is a VOI window in modality units (after rescale): values below
// Center − Width/2 are black, values above Center + Width/2 white.
type Window struct {
	Center float64 `json:"center"`
	Width  float64 `json:"width"`
}

// Preset is a named window. Auto presets have no fixed window: they stand for the
// file's own window, or for one spanning the frame's values.
type Preset struct {
	Name   string `json:"name"`
	Window Window `json:"window"`
	Auto   bool   `json:"auto,omitempty"`
}

// Presets returns the standard window presets, "auto" first. Names are keys;
// labels in Japanese or English are the caller's business.
func Presets() []Preset {
	return []Preset{
		{Name: "auto", Auto: true},
		{Name: "ct-lung", Window: Window{Center: -600, Width: 1500}},
		{Name: "ct-mediastinum", Window: Window{Center: 50, Width: 350}},
		{Name: "ct-bone", Window: Window{Center: 400, Width: 1800}},
		{Name: "ct-brain", Window: Window{Center: 40, Width: 80}},
	}
}

// DefaultWindow returns the window to show frame i with: the file's first window
// for that frame, else one derived from its VOI LUT, else one spanning the
// frame's values (which decodes the frame). It is zero for colour images and for
// frames that cannot be decoded.
func (f *File) DefaultWindow(i int) Window {
	if f.img == nil || f.img.samples != 1 || f.img.photometric == "PALETTE COLOR" {
		return Window{}
	}
	if ws := f.StoredWindows(i); len(ws) > 0 {
		return ws[0].Window
	}
	fr, err := f.Frame(i)
	if err != nil {
		return Window{}
	}
	return fr.Window
}

// voi maps a modality value to an output level between lo and hi (PS3.3
// C.11.2.1.2); for MONOCHROME1 lo > hi. The linear function is evaluated as
// offset + x·gradient and truncated, exactly as DCMTK does, so that our renders
// and DCMTK's agree to the grey level.
type voi struct {
	c, w   float64
	fn     string
	lut    *lut
	lo, hi float64
}

func (v voi) level(x float64) float64 {
	rng := v.hi - v.lo
	if v.lut != nil {
		return v.lo + float64(v.lut.at(int64(math.Round(x))))*rng/float64(int(1)<<v.lut.bits-1)
	}
	switch v.fn {
	case "SIGMOID":
		return v.lo + rng/(1+math.Exp(-4*(x-v.c)/v.w))
	case "LINEAR_EXACT":
		switch {
		case x <= v.c-v.w/2:
			return v.lo
		case x > v.c+v.w/2:
			return v.hi
		}
		return ((x-v.c)/v.w+0.5)*rng + v.lo
	}
	w1 := math.Max(v.w, 1) - 1
	switch {
	case x <= v.c-0.5-w1/2:
		return v.lo
	case x > v.c-0.5+w1/2:
		return v.hi
	}
	offset := v.hi - ((v.c-0.5)/w1+0.5)*rng
	return offset + x*(rng/w1)
}
