package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

const undefinedLength = 0xFFFFFFFF

// encoding is how a run of elements is encoded.
type encoding struct {
	bo       binary.ByteOrder
	implicit bool
}

var implicitLE = encoding{bo: binary.LittleEndian, implicit: true}

// reader parses elements out of data. Every declared length is checked against the
// bytes present, nesting is bounded by lim.MaxDepth and the number of elements and
// items by lim.MaxElements, so memory stays proportional to the input.
type reader struct {
	data      []byte
	base      int // file offset of data[0], or -1 when offsets mean nothing (deflated)
	lim       Limits
	count     int
	truncated bool // the data ended inside an element: what came before it is kept
	// size is where the data really ends. It is len(data), unless data is the
	// start of a larger file read through at (ParseAt): then pixel data beyond
	// data is left in the file (element.lazy), and anything else beyond it
	// asks for a longer start (errNeedMore).
	size  int
	at    io.ReaderAt
	stop  bool // the pixel data was left in the file: the top level ends there
	cache []byte
	coff  int64 // file offset of cache[0]
}

// errTruncated means the data ends inside an element.
var errTruncated = fmt.Errorf("%w: the file ends early", ErrMalformed)

// errNeedMore means ParseAt must read more of the file's start.
var errNeedMore = errors.New("dicom: the header runs past the part read")

// avail checks that n bytes at pos are in data; errNeedMore if they are in
// the file but not read. Positions past the real end are for the caller's
// bounds checks.
func (r *reader) avail(pos, n int) error {
	if pos+n > len(r.data) && pos+n <= r.size {
		return errNeedMore
	}
	return nil
}

// readAt reads n bytes at file position pos through a cache of at least
// 64 KiB, for the fragment headers of pixel data beyond data.
func (r *reader) readAt(pos int64, n int) ([]byte, error) {
	if pos < r.coff || pos+int64(n) > r.coff+int64(len(r.cache)) {
		m := max(int64(64<<10), int64(n))
		m = min(m, int64(r.size)-pos)
		if m < int64(n) {
			return nil, io.ErrUnexpectedEOF
		}
		if cap(r.cache) < int(m) {
			r.cache = make([]byte, m)
		}
		r.cache, r.coff = r.cache[:m], pos
		if _, err := r.at.ReadAt(r.cache, pos); err != nil {
			r.cache = r.cache[:0]
			return nil, fmt.Errorf("read pixel data at %d: %w", pos, err)
		}
	}
	return r.cache[pos-r.coff : pos-r.coff+int64(n)], nil
}

func (r *reader) malformed(pos int, format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrMalformed, pos, fmt.Sprintf(format, args...))
}

// short reports a structure at pos that needs more bytes than remain before end:
// a truncated file when end is the end of the data, else malformed.
func (r *reader) short(pos, end int, format string, args ...any) error {
	if end == r.size {
		return fmt.Errorf("%w (at byte %d: %s)", errTruncated, pos, fmt.Sprintf(format, args...))
	}
	return r.malformed(pos, format, args...)
}

// isPixelData reports the tags whose value is the image.
func isPixelData(t Tag) bool {
	return t == tagPixelData || t == tagFloatPixelData || t == tagDoubleFloatPixelData
}

func (r *reader) fileOffset(pos int) int {
	if r.base < 0 {
		return -1
	}
	return r.base + pos
}

func (r *reader) counted(pos int) error {
	r.count++
	if r.count > r.lim.MaxElements {
		return fmt.Errorf("%w: more than %d data elements (at byte %d)", ErrTooLarge, r.lim.MaxElements, pos)
	}
	return nil
}

func (r *reader) tag(pos int, bo binary.ByteOrder) Tag {
	return newTag(bo.Uint16(r.data[pos:]), bo.Uint16(r.data[pos+2:]))
}

// header reads an element header at pos, which must leave at least 8 bytes before
// end. It returns the tag, VR, declared length and header size.
func (r *reader) header(pos, end int, enc encoding) (Tag, vr, uint32, int, error) {
	t := r.tag(pos, enc.bo)
	if t.Group() == 0xFFFE || enc.implicit {
		length := enc.bo.Uint32(r.data[pos+4:])
		if t.Group() == 0xFFFE {
			return t, vr{}, length, 8, nil
		}
		return t, implicitVR(t), length, 8, nil
	}
	b := r.data[pos+4 : pos+6]
	if !isVRShape(b) {
		return 0, vr{}, 0, 0, r.malformed(pos, "element %s has no valid VR (%q)", t, b)
	}
	v := vr{b[0], b[1]}
	if shortVRs[v] {
		return t, v, uint32(enc.bo.Uint16(r.data[pos+6:])), 8, nil
	}
	// Long VRs, and any VR a later edition of the standard adds, have a reserved
	// field and a 4-byte length (PS3.5 7.1.2).
	if end-pos < 12 {
		return 0, vr{}, 0, 0, r.short(pos, end, "element %s header is truncated", t)
	}
	return t, v, enc.bo.Uint32(r.data[pos+8:]), 12, nil
}

// dataset parses elements from pos up to end. With delimited set it expects an
// item delimitation item and returns the position after it.
func (r *reader) dataset(pos, end, depth int, enc encoding, parent *dataset, delimited bool) (*dataset, int, error) {
	if depth > r.lim.MaxDepth {
		return nil, 0, fmt.Errorf("%w: sequences nested deeper than %d", ErrTooLarge, r.lim.MaxDepth)
	}
	ds := &dataset{bo: enc.bo, parent: parent, offset: -1}
	for pos < end && !r.stop {
		if err := r.avail(pos, min(12, end-pos)); err != nil {
			return nil, 0, err
		}
		if end-pos < 8 {
			if depth == 0 && !delimited {
				// Trailing padding after the last element, or the start of
				// an element the file was cut in.
				r.truncated = r.truncated || end == r.size && strings.Trim(string(r.data[pos:end]), "\x00 ") != ""
				break
			}
			return nil, 0, r.short(pos, end, "%d stray bytes where an element should start", end-pos)
		}
		t := r.tag(pos, enc.bo)
		switch t {
		case tagItemDelimiter:
			if !delimited {
				return nil, 0, r.malformed(pos, "unexpected item delimiter")
			}
			return ds, pos + 8, nil
		case tagItem, tagSequenceDelimiter:
			return nil, 0, r.malformed(pos, "unexpected %s outside a sequence", t)
		}
		e, next, err := r.element(pos, end, depth, enc, ds)
		if err != nil {
			if depth == 0 && !delimited && errors.Is(err, errTruncated) {
				// The file ends inside this element: keep what came before.
				r.truncated = true
				return ds, end, nil
			}
			return nil, 0, err
		}
		ds.elems = append(ds.elems, e)
		pos = next
	}
	if delimited {
		return nil, 0, r.short(pos, end, "item has no delimiter before the data ends")
	}
	return ds, pos, nil
}

// element parses one element at pos.
func (r *reader) element(pos, end, depth int, enc encoding, parent *dataset) (element, int, error) {
	if err := r.counted(pos); err != nil {
		return element{}, 0, err
	}
	t, v, length, hdr, err := r.header(pos, end, enc)
	if err != nil {
		return element{}, 0, err
	}
	e := element{tag: t, vr: v, offset: r.fileOffset(pos)}
	vpos := pos + hdr
	if length == undefinedLength {
		switch {
		case t == tagPixelData && depth == 0:
			frags, next, partial, err := r.fragments(vpos, end)
			if err != nil {
				return element{}, 0, fmt.Errorf("pixel data: %w", err)
			}
			e.seq = &sequence{frags: frags, partial: partial}
			return e, next, nil
		case v == vrSQ || v == vrUN || enc.implicit:
			inner := enc
			if v == vrUN {
				inner = implicitLE // PS3.5 6.2.2: UN of undefined length is an implicit VR LE sequence
			}
			items, next, err := r.items(vpos, end, depth, inner, parent, true)
			if err != nil {
				return element{}, 0, err
			}
			e.vr, e.seq = vrSQ, &sequence{items: items}
			return e, next, nil
		default:
			return element{}, 0, r.malformed(pos, "element %s (%s) has undefined length", t, v)
		}
	}
	if int64(length) > int64(end-vpos) {
		if depth == 0 && isPixelData(t) && end == r.size {
			// A truncated file: the pixel data keeps the bytes it has.
			r.truncated = true
			return r.pixelValue(e, vpos, end), end, nil
		}
		return element{}, 0, r.short(pos, end, "element %s declares %d bytes but only %d remain", t, length, end-vpos)
	}
	next := vpos + int(length)
	if next > len(r.data) {
		if depth == 0 && isPixelData(t) {
			return r.pixelValue(e, vpos, next), next, nil
		}
		return element{}, 0, errNeedMore
	}
	if v == vrSQ {
		items, _, err := r.items(vpos, next, depth, enc, parent, false)
		if err != nil {
			return element{}, 0, err
		}
		e.seq = &sequence{items: items}
		return e, next, nil
	}
	e.value = r.data[vpos:next:next]
	return e, next, nil
}

// pixelValue sets the value of pixel data element e to data[vpos:end], or,
// where that is beyond the part read, to where it is in the file; then the
// top level stops there, since nothing after the pixel data is needed.
func (r *reader) pixelValue(e element, vpos, end int) element {
	if end <= len(r.data) {
		e.value = r.data[vpos:end:end]
		return e
	}
	e.lazy = &fragment{off: int64(vpos), n: end - vpos}
	r.stop = true
	return e
}

// items parses sequence items from pos. A delimited sequence ends with a sequence
// delimitation item; otherwise the items fill pos..end exactly.
func (r *reader) items(pos, end, depth int, enc encoding, parent *dataset, delimited bool) ([]*dataset, int, error) {
	var items []*dataset
	for {
		if pos >= end {
			if delimited {
				return nil, 0, r.short(pos, end, "sequence has no delimiter before the data ends")
			}
			return items, pos, nil
		}
		if err := r.avail(pos, min(8, end-pos)); err != nil {
			return nil, 0, err
		}
		if end-pos < 8 {
			return nil, 0, r.short(pos, end, "truncated item header")
		}
		t := r.tag(pos, enc.bo)
		length := enc.bo.Uint32(r.data[pos+4:])
		switch t {
		case tagSequenceDelimiter:
			if !delimited {
				return nil, 0, r.malformed(pos, "sequence delimiter in a sequence of defined length")
			}
			return items, pos + 8, nil
		case tagItem:
		default:
			return nil, 0, r.malformed(pos, "expected an item, found %s", t)
		}
		if err := r.counted(pos); err != nil {
			return nil, 0, err
		}
		start := pos
		var ds *dataset
		var err error
		if length == undefinedLength {
			ds, pos, err = r.dataset(pos+8, end, depth+1, enc, parent, true)
		} else {
			// An item that claims more bytes than its sequence has left is read
			// to the end of the sequence, as DCMTK does: writers that remove
			// elements sometimes forget to shorten the item.
			n := min(int64(length), int64(end-pos-8))
			ds, _, err = r.dataset(pos+8, pos+8+int(n), depth+1, enc, parent, false)
			pos += 8 + int(n)
		}
		if err != nil {
			return nil, 0, err
		}
		ds.offset = r.fileOffset(start)
		items = append(items, ds)
	}
}

// fragments parses the items of encapsulated pixel data up to the sequence
// delimiter. In a truncated file it keeps the fragments that are there, the last
// one partial if cut, and sets r.truncated. Beyond the part read, fragment
// headers are read from the file and the values left there.
func (r *reader) fragments(pos, end int) (frags []fragment, next int, partial bool, err error) {
	for {
		if end-pos < 8 {
			if end == r.size && len(frags) > 0 {
				r.truncated = true
				return frags, end, false, nil
			}
			return nil, 0, false, r.malformed(pos, "encapsulated pixel data has no sequence delimiter")
		}
		head, err := r.bytes(pos, 8)
		if err != nil {
			return nil, 0, false, err
		}
		// Encapsulated pixel data only exists in little endian syntaxes.
		t := newTag(binary.LittleEndian.Uint16(head), binary.LittleEndian.Uint16(head[2:]))
		length := binary.LittleEndian.Uint32(head[4:])
		switch {
		case t == tagSequenceDelimiter:
			return frags, pos + 8, false, nil
		case t != tagItem:
			return nil, 0, false, r.malformed(pos, "expected a fragment, found %s", t)
		case int64(length) > int64(end-pos-8):
			if end == r.size && len(frags) > 0 {
				r.truncated = true
				return append(frags, r.fragmentAt(pos+8, end-pos-8)), end, true, nil
			}
			return nil, 0, false, r.malformed(pos, "fragment declares %d bytes but only %d remain", length, end-pos-8)
		}
		if err := r.counted(pos); err != nil {
			return nil, 0, false, err
		}
		frags = append(frags, r.fragmentAt(pos+8, int(length)))
		pos += 8 + int(length)
	}
}

// bytes returns n bytes at pos, from data or, beyond it, from the file.
func (r *reader) bytes(pos, n int) ([]byte, error) {
	if pos+n <= len(r.data) {
		return r.data[pos : pos+n], nil
	}
	if r.at == nil {
		return nil, r.malformed(pos, "data ends early")
	}
	return r.readAt(int64(pos), n)
}

// fragmentAt returns the fragment of n bytes at pos, read if it is in data.
func (r *reader) fragmentAt(pos, n int) fragment {
	fr := fragment{off: int64(pos), n: n}
	if pos+n <= len(r.data) {
		fr.data = r.data[pos : pos+n : pos+n]
	}
	return fr
}
