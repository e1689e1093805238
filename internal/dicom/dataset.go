package dicom

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
)

// element is one data element. Values are sub-slices of the parsed bytes; nothing
// is copied.
type element struct {
	tag    Tag
	vr     vr
	value  []byte    // raw value; nil for sequences and encapsulated pixel data
	seq    *sequence // items of a sequence, or fragments of encapsulated pixel data
	offset int       // offset of the element's first byte in the file, -1 if unknown
	// lazy is set for pixel data beyond what ParseAt read: its value is
	// read from the file when needed.
	lazy *fragment
}

// length returns the length of the value, read or not.
func (e *element) length() int64 {
	if e.lazy != nil {
		return int64(e.lazy.n)
	}
	return int64(len(e.value))
}

// sequence holds the items of an SQ element, or the fragments of encapsulated pixel
// data (the first fragment is the basic offset table).
type sequence struct {
	items   []*dataset
	frags   []fragment
	partial bool // the last fragment is cut short (a truncated file)
}

// fragment is a fragment of encapsulated pixel data (or a lazy value): its
// bytes, or, beyond what ParseAt read, where they are in the file.
type fragment struct {
	data []byte // nil if not read
	off  int64  // file offset of the value
	n    int
}

// dataset is an ordered list of elements: the top level, or one sequence item.
type dataset struct {
	elems  []element
	bo     binary.ByteOrder
	parent *dataset
	offset int // offset of an item's tag in the file, -1 if unknown
}

// find returns the first element with tag t.
func (d *dataset) find(t Tag) (*element, bool) {
	if d == nil {
		return nil, false
	}
	for i := range d.elems {
		if d.elems[i].tag == t {
			return &d.elems[i], true
		}
	}
	return nil, false
}

// items returns the items of sequence t.
func (d *dataset) items(t Tag) []*dataset {
	e, ok := d.find(t)
	if !ok || e.seq == nil {
		return nil
	}
	return e.seq.items
}

// item returns the first item of sequence t, or nil.
func (d *dataset) item(t Tag) *dataset {
	if it := d.items(t); len(it) > 0 {
		return it[0]
	}
	return nil
}

// raw returns the value bytes of t.
func (d *dataset) raw(t Tag) []byte {
	if e, ok := d.find(t); ok {
		return e.value
	}
	return nil
}

// ascii returns the value of t as a string without decoding a character set, with
// padding removed. It is meant for CS, UI, DS, IS, DA and TM values.
func (d *dataset) ascii(t Tag) string {
	return trimValue(string(d.raw(t)))
}

// strings returns the backslash-separated values of an ASCII element.
func (d *dataset) strings(t Tag) []string {
	s := d.ascii(t)
	if s == "" {
		return nil
	}
	parts := strings.Split(s, `\`)
	for i := range parts {
		parts[i] = trimValue(parts[i])
	}
	return parts
}

func trimValue(s string) string {
	return strings.Trim(s, " \x00")
}

// floats returns the numeric values of t: DS, IS, or binary FL, FD, US, SS, UL, SL.
func (d *dataset) floats(t Tag) []float64 {
	e, ok := d.find(t)
	if !ok {
		return nil
	}
	switch e.vr {
	case vr{'F', 'L'}, vr{'F', 'D'}, vr{'U', 'S'}, vr{'S', 'S'}, vr{'U', 'L'}, vr{'S', 'L'}:
		return d.binaryNumbers(e)
	}
	var out []float64
	for _, s := range d.strings(t) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return out
		}
		out = append(out, f)
	}
	return out
}

func (d *dataset) binaryNumbers(e *element) []float64 {
	b := e.value
	var out []float64
	switch e.vr {
	case vr{'F', 'L'}:
		for ; len(b) >= 4; b = b[4:] {
			f := float64(math.Float32frombits(d.bo.Uint32(b)))
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return out
			}
			out = append(out, f)
		}
	case vr{'F', 'D'}:
		for ; len(b) >= 8; b = b[8:] {
			f := math.Float64frombits(d.bo.Uint64(b))
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return out
			}
			out = append(out, f)
		}
	case vr{'U', 'S'}:
		for ; len(b) >= 2; b = b[2:] {
			out = append(out, float64(d.bo.Uint16(b)))
		}
	case vr{'S', 'S'}:
		for ; len(b) >= 2; b = b[2:] {
			out = append(out, float64(int16(d.bo.Uint16(b))))
		}
	case vr{'U', 'L'}:
		for ; len(b) >= 4; b = b[4:] {
			out = append(out, float64(d.bo.Uint32(b)))
		}
	case vr{'S', 'L'}:
		for ; len(b) >= 4; b = b[4:] {
			out = append(out, float64(int32(d.bo.Uint32(b))))
		}
	}
	return out
}

// float returns the first numeric value of t.
func (d *dataset) float(t Tag) (float64, bool) {
	if f := d.floats(t); len(f) > 0 {
		return f[0], true
	}
	return 0, false
}

// int returns the first value of t as an integer (IS, or a binary integer VR).
// Values outside ±2^31 are refused.
func (d *dataset) int(t Tag) (int, bool) {
	f, ok := d.float(t)
	if !ok || f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
		return 0, false
	}
	return int(f), true
}

// uint16s returns the value of t as 16-bit words in the dataset's byte order (US,
// SS, OW, and the ambiguous LUT elements).
func (d *dataset) uint16s(t Tag) []uint16 {
	b := d.raw(t)
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = d.bo.Uint16(b[2*i:])
	}
	return out
}

// uint32 returns the first value of an UL element.
func (d *dataset) uint32(t Tag) (uint32, bool) {
	b := d.raw(t)
	if len(b) < 4 {
		return 0, false
	}
	return d.bo.Uint32(b), true
}
