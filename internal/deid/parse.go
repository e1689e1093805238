package deid

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors of a rewrite.
var (
	// ErrNotDICOM means the input is not a DICOM file.
	ErrNotDICOM = errors.New("not a DICOM file")
	// ErrMalformed means the input looks like DICOM but cannot be read as such:
	// truncated, or with lengths that do not add up.
	ErrMalformed = errors.New("malformed DICOM")
)

const (
	undefined   = 0xFFFFFFFF
	readLimit   = 64 << 10 // values up to this size are read; larger ones are copied from the input
	cleanLimit  = 16 << 20 // the largest value read to be cleaned
	windowSize  = 1 << 20  // bytes read at once
	maxDepth    = 32
	maxElements = 1 << 20

	tagItem          = 0xFFFEE000
	tagItemDelim     = 0xFFFEE00D
	tagSeqDelim      = 0xFFFEE0DD
	tagPixelData     = 0x7FE00010
	tagTransferSynta = 0x00020010
)

// encoding is how a run of elements is encoded.
type encoding struct {
	big      bool // big endian
	implicit bool
}

func (e encoding) order() binary.ByteOrder {
	if e.big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

var implicitLE = encoding{implicit: true}

// elem is one data element of the input, or one made anew.
type elem struct {
	tag       uint32
	vr        string // what decides the action: the header's VR, or the dictionary's
	hvr       string // VR written in an explicit header ("" in implicit encoding)
	undef     bool   // undefined length
	value     []byte // the value, when read or made anew
	off, n    int64  // the value's bytes in the input, when not read
	seq       bool   // a sequence: items, not value
	items     []*item
	inner     encoding // encoding of the items
	raw       bool     // copied whole, header included: encapsulated pixel data
	rawOff    int64
	rawN      int64
	groupLen  bool // a group length, recomputed on output
	offsetRef bool // a DICOMDIR offset, rewritten to the record's new position
}

// item is one sequence item: a nested dataset.
type item struct {
	elems []*elem
	undef bool
	off   int64 // offset of the item tag in the input (DICOMDIR offsets point here)
}

// window reads the input through a buffer, so that a header of many small
// elements costs few reads.
type window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64
}

// at returns n bytes at pos; the slice is valid until the next call.
func (w *window) at(pos int64, n int) ([]byte, error) {
	if pos < 0 || n < 0 || pos+int64(n) > w.size {
		return nil, fmt.Errorf("%w: %d bytes at %d run past the end (%d)", ErrMalformed, n, pos, w.size)
	}
	if pos >= w.off && pos+int64(n) <= w.off+int64(len(w.buf)) {
		return w.buf[pos-w.off : pos-w.off+int64(n)], nil
	}
	m := int64(max(n, windowSize))
	m = min(m, w.size-pos)
	if int64(cap(w.buf)) < m {
		w.buf = make([]byte, m)
	}
	w.buf = w.buf[:m]
	if _, err := w.r.ReadAt(w.buf, pos); err != nil && !(errors.Is(err, io.EOF) && pos+m == w.size) {
		w.buf = w.buf[:0]
		return nil, fmt.Errorf("read input at %d: %w", pos, err)
	}
	w.off = pos
	return w.buf[:n], nil
}

// copyAt returns a copy of n bytes at pos.
func (w *window) copyAt(pos int64, n int) ([]byte, error) {
	b, err := w.at(pos, n)
	if err != nil {
		return nil, err
	}
	out := make([]byte, n) // never nil: an empty value is still a value
	copy(out, b)
	return out, nil
}

type parser struct {
	w     *window
	count int
}

func (p *parser) malformed(pos int64, format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrMalformed, pos, fmt.Sprintf(format, args...))
}

func (p *parser) counted(pos int64) error {
	p.count++
	if p.count > maxElements {
		return p.malformed(pos, "more than %d elements", maxElements)
	}
	return nil
}

func (p *parser) tag(pos int64, bo binary.ByteOrder) (uint32, error) {
	b, err := p.w.at(pos, 4)
	if err != nil {
		return 0, err
	}
	return uint32(bo.Uint16(b))<<16 | uint32(bo.Uint16(b[2:])), nil
}

// dataset parses elements from pos to end; a delimited one (an item of
// undefined length) ends at its item delimiter, and dataset returns the position
// after it.
func (p *parser) dataset(pos, end int64, depth int, enc encoding, delimited bool) ([]*elem, int64, error) {
	if depth > maxDepth {
		return nil, 0, p.malformed(pos, "sequences nested deeper than %d", maxDepth)
	}
	var out []*elem
	bo := enc.order()
	for pos < end {
		if end-pos < 8 {
			if depth == 0 {
				break // trailing padding
			}
			return nil, 0, p.malformed(pos, "%d stray bytes where an element should start", end-pos)
		}
		t, err := p.tag(pos, bo)
		if err != nil {
			return nil, 0, err
		}
		switch t {
		case tagItemDelim:
			if delimited {
				return out, pos + 8, nil
			}
			return nil, 0, p.malformed(pos, "unexpected item delimiter")
		case tagItem, tagSeqDelim:
			return nil, 0, p.malformed(pos, "unexpected item tag outside a sequence")
		}
		e, next, err := p.element(pos, end, depth, enc)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
		pos = next
	}
	if delimited {
		return nil, 0, p.malformed(pos, "item has no delimiter")
	}
	return out, pos, nil
}

// bulkVRs hold binary values, which are kept or removed whole and never
// looked into: beyond bulkLimit they are copied from the input, never read.
var bulkVRs = map[string]bool{"OB": true, "OD": true, "OF": true, "OL": true, "OV": true, "OW": true, "UN": true}

const bulkLimit = 1024

var shortVRs = map[string]bool{"AE": true, "AS": true, "AT": true, "CS": true, "DA": true, "DS": true, "DT": true,
	"FL": true, "FD": true, "IS": true, "LO": true, "LT": true, "PN": true, "SH": true, "SL": true, "SS": true,
	"ST": true, "TM": true, "UI": true, "UL": true, "US": true}

var longVRs = map[string]bool{"OB": true, "OD": true, "OF": true, "OL": true, "OV": true, "OW": true, "SQ": true,
	"SV": true, "UC": true, "UN": true, "UR": true, "UT": true, "UV": true}

func isVRShape(b []byte) bool {
	return b[0] >= 'A' && b[0] <= 'Z' && b[1] >= 'A' && b[1] <= 'Z'
}

// lookupVR is the VR of t when the encoding does not say: the dictionary's.
func lookupVR(t uint32) string {
	switch {
	case t&0xFFFF == 0:
		return "UL"
	case t>>16&1 == 1:
		return "UN"
	}
	if v, ok := dictVR[t]; ok {
		return v
	}
	return "UN"
}

// element parses the element at pos.
func (p *parser) element(pos, end int64, depth int, enc encoding) (*elem, int64, error) {
	if err := p.counted(pos); err != nil {
		return nil, 0, err
	}
	bo := enc.order()
	h, err := p.w.at(pos, 8)
	if err != nil {
		return nil, 0, err
	}
	t := uint32(bo.Uint16(h))<<16 | uint32(bo.Uint16(h[2:]))
	e := &elem{tag: t}
	var length uint32
	hdr := int64(8)
	if enc.implicit {
		length = bo.Uint32(h[4:])
		e.vr = lookupVR(t)
	} else {
		if !isVRShape(h[4:6]) {
			return nil, 0, p.malformed(pos, "element %08X has no valid VR", t)
		}
		e.hvr = string(h[4:6])
		e.vr = e.hvr
		if shortVRs[e.hvr] {
			length = uint32(bo.Uint16(h[6:]))
		} else {
			h, err = p.w.at(pos, 12)
			if err != nil {
				return nil, 0, err
			}
			length = bo.Uint32(h[8:])
			hdr = 12
		}
		if e.vr == "UN" {
			e.vr = lookupVR(t) // PS3.5 6.2.2: an unknown VR's value is implicit VR LE
		}
	}
	vpos := pos + hdr
	e.undef = length == undefined
	if t == tagPixelData && e.undef {
		next, err := p.fragments(vpos, end)
		if err != nil {
			return nil, 0, err
		}
		e.raw, e.rawOff, e.rawN = true, pos, next-pos
		return e, next, nil
	}
	inner := enc
	if e.hvr == "UN" {
		inner = implicitLE
	}
	if e.undef {
		if e.vr != "SQ" && e.hvr != "UN" && !enc.implicit {
			return nil, 0, p.malformed(pos, "element %08X (%s) has undefined length", t, e.hvr)
		}
		items, next, err := p.items(vpos, end, depth, inner, true)
		if err != nil {
			return nil, 0, err
		}
		e.seq, e.items, e.inner, e.vr = true, items, inner, "SQ"
		return e, next, nil
	}
	if int64(length) > end-vpos {
		return nil, 0, p.malformed(pos, "element %08X declares %d bytes but only %d remain", t, length, end-vpos)
	}
	next := vpos + int64(length)
	if e.vr == "SQ" {
		items, _, err := p.items(vpos, next, depth, inner, false)
		if err != nil {
			return nil, 0, err
		}
		e.seq, e.items, e.inner = true, items, inner
		return e, next, nil
	}
	e.off, e.n = vpos, int64(length)
	if length <= readLimit && !(bulkVRs[e.vr] && length > bulkLimit) {
		if e.value, err = p.w.copyAt(vpos, int(length)); err != nil {
			return nil, 0, err
		}
	}
	return e, next, nil
}

// items parses the items of a sequence from pos. A delimited sequence ends with
// a sequence delimiter; otherwise its items fill pos..end.
func (p *parser) items(pos, end int64, depth int, enc encoding, delimited bool) ([]*item, int64, error) {
	var out []*item
	bo := enc.order()
	for {
		if pos >= end {
			if delimited {
				return nil, 0, p.malformed(pos, "sequence has no delimiter")
			}
			return out, pos, nil
		}
		h, err := p.w.at(pos, 8)
		if err != nil {
			return nil, 0, err
		}
		t := uint32(bo.Uint16(h))<<16 | uint32(bo.Uint16(h[2:]))
		length := bo.Uint32(h[4:])
		switch t {
		case tagSeqDelim:
			if !delimited {
				return nil, 0, p.malformed(pos, "sequence delimiter in a sequence of defined length")
			}
			return out, pos + 8, nil
		case tagItem:
		default:
			return nil, 0, p.malformed(pos, "expected an item, found %08X", t)
		}
		if err := p.counted(pos); err != nil {
			return nil, 0, err
		}
		it := &item{off: pos, undef: length == undefined}
		if it.undef {
			it.elems, pos, err = p.dataset(pos+8, end, depth+1, enc, true)
		} else {
			// An item claiming more than its sequence has left is read to the
			// sequence's end, as DCMTK does.
			n := min(int64(length), end-pos-8)
			it.elems, _, err = p.dataset(pos+8, pos+8+n, depth+1, enc, false)
			pos += 8 + n
		}
		if err != nil {
			return nil, 0, err
		}
		out = append(out, it)
	}
}

// fragments walks the items of encapsulated pixel data and returns the position
// after its sequence delimiter. Only the 8-byte item headers are read.
func (p *parser) fragments(pos, end int64) (int64, error) {
	for {
		if end-pos < 8 {
			return 0, p.malformed(pos, "encapsulated pixel data has no sequence delimiter")
		}
		h, err := p.w.at(pos, 8)
		if err != nil {
			return 0, err
		}
		t := uint32(binary.LittleEndian.Uint16(h))<<16 | uint32(binary.LittleEndian.Uint16(h[2:]))
		length := binary.LittleEndian.Uint32(h[4:])
		switch {
		case t == tagSeqDelim:
			return pos + 8, nil
		case t != tagItem:
			return 0, p.malformed(pos, "expected a fragment, found %08X", t)
		case int64(length) > end-pos-8:
			return 0, p.malformed(pos, "fragment declares %d bytes but only %d remain", length, end-pos-8)
		}
		if err := p.counted(pos); err != nil {
			return 0, err
		}
		pos += 8 + int64(length)
	}
}
