package dicom

import (
	"strconv"
	"strings"
)

// frameAttr returns the dataset that holds attribute t for frame i: the macro
// sequence of the frame's Per-Frame Functional Group, else of the Shared
// Functional Group, else the top level (PS3.3 C.7.6.16).
func (f *File) frameAttr(i int, macro, t Tag) *dataset {
	if per := f.ds.items(tagPerFrameFunctionalGroup); i >= 0 && i < len(per) {
		if m := per[i].item(macro); m != nil {
			if _, ok := m.find(t); ok {
				return m
			}
		}
	}
	if sh := f.ds.item(tagSharedFunctionalGroups); sh != nil {
		if m := sh.item(macro); m != nil {
			if _, ok := m.find(t); ok {
				return m
			}
		}
	}
	return f.ds
}

// rescale returns the modality rescale slope and intercept of frame i.
func (f *File) rescale(i int) (slope, intercept float64) {
	slope, intercept = 1, 0
	if v, ok := f.frameAttr(i, tagPixelValueXformSeq, tagRescaleSlope).float(tagRescaleSlope); ok && v != 0 {
		slope = v
	}
	if v, ok := f.frameAttr(i, tagPixelValueXformSeq, tagRescaleIntercept).float(tagRescaleIntercept); ok {
		intercept = v
	}
	return slope, intercept
}

// StoredWindows returns the windows the file itself defines for frame i, in
// order (the first is the default), named by their explanation or "file N".
func (f *File) StoredWindows(i int) []Preset {
	d := f.frameAttr(i, tagFrameVOILUTSeq, tagWindowCenter)
	cs, ws := d.floats(tagWindowCenter), d.floats(tagWindowWidth)
	names := strings.Split(d.text(tagWindowExplanation), `\`)
	var out []Preset
	for k := 0; k < len(cs) && k < len(ws); k++ {
		if ws[k] <= 0 {
			continue
		}
		name := ""
		if k < len(names) {
			name = strings.TrimSpace(names[k])
		}
		if name == "" {
			name = "file " + strconv.Itoa(k+1)
		}
		out = append(out, Preset{Name: name, Window: Window{Center: cs[k], Width: ws[k]}})
	}
	return out
}

// voiFunction returns the VOI LUT function of frame i.
func (f *File) voiFunction(i int) string {
	switch s := strings.ToUpper(f.frameAttr(i, tagFrameVOILUTSeq, tagVOILUTFunction).ascii(tagVOILUTFunction)); s {
	case "LINEAR_EXACT", "SIGMOID":
		return s
	}
	return "LINEAR"
}

// lut is a lookup table from a LUT descriptor and data.
type lut struct {
	first int64
	data  []uint16
	bits  int
}

func (l *lut) at(v int64) uint16 {
	k := v - l.first
	switch {
	case k < 0:
		return l.data[0]
	case k >= int64(len(l.data)):
		return l.data[len(l.data)-1]
	}
	return l.data[k]
}

// readLUT reads the first item of a Modality or VOI LUT sequence.
func (f *File) readLUT(seq Tag) *lut {
	it := f.ds.item(seq)
	if it == nil {
		return nil
	}
	desc := it.uint16s(tagLUTDescriptor)
	if len(desc) < 3 {
		return nil
	}
	n := int(desc[0])
	if n == 0 {
		n = maxLUTEntries
	}
	first := int64(desc[1])
	if f.img != nil && f.img.signed {
		first = int64(int16(desc[1]))
	}
	l := &lut{first: first, bits: int(desc[2])}
	raw := it.raw(tagLUTData)
	switch {
	case len(raw) >= 2*n:
		l.data = it.uint16s(tagLUTData)[:n]
	case l.bits <= 8 && len(raw) >= n:
		l.data = make([]uint16, n)
		for k := range n {
			l.data[k] = uint16(raw[k])
		}
	default:
		return nil
	}
	if l.bits < 1 || l.bits > 16 {
		l.bits = 16
	}
	return l
}

func (f *File) modalityLUT() *lut {
	if _, ok := f.ds.find(tagRescaleSlope); ok {
		return nil // rescale wins when a file has both
	}
	return f.readLUT(tagModalityLUTSeq)
}

func (f *File) voiLUT() *lut { return f.readLUT(tagVOILUTSeq) }
