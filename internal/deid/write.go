package deid

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
)

// Output is a rewritten file: new bytes and ranges of the input, in order.
type Output struct {
	// Info says what the rewrite found.
	Info  Info
	parts []part
	src   io.ReaderAt
	size  int64
}

// part is new bytes, or n bytes of the input at off.
type part struct {
	b      []byte
	off, n int64
}

// Size returns the length of the output in bytes.
func (o *Output) Size() int64 { return o.size }

// Copied returns how many of the output's bytes are ranges of the input.
func (o *Output) Copied() int64 {
	var n int64
	for _, p := range o.parts {
		if p.b == nil {
			n += p.n
		}
	}
	return n
}

// WriteTo writes the output to w, copying the kept ranges from the input.
func (o *Output) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for _, p := range o.parts {
		var n int64
		var err error
		if p.b != nil {
			var m int
			m, err = w.Write(p.b)
			n = int64(m)
		} else {
			n, err = io.Copy(w, io.NewSectionReader(o.src, p.off, p.n))
		}
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// writer lays out the output. With dry set it only counts, to learn where the
// items will be.
type writer struct {
	dry     bool
	buf     []byte
	parts   []part
	pos     int64
	items   map[int64]int64 // item offset in the input → in the output
	fileOff int64           // what the first byte of f.data is in the input file
}

func (w *writer) bytes(b []byte) {
	w.pos += int64(len(b))
	if !w.dry {
		w.buf = append(w.buf, b...)
	}
}

func (w *writer) rng(off, n int64) {
	w.pos += n
	if w.dry || n == 0 {
		return
	}
	if len(w.buf) > 0 {
		w.parts = append(w.parts, part{b: w.buf})
		w.buf = nil
	}
	w.parts = append(w.parts, part{off: off, n: n})
}

func (w *writer) flush() []part {
	if len(w.buf) > 0 {
		w.parts = append(w.parts, part{b: w.buf})
		w.buf = nil
	}
	return w.parts
}

// size is the encoded length of e, header included.
func size(e *elem, enc encoding) int64 {
	if e.raw {
		return e.rawN
	}
	return headerSize(e, enc) + contentSize(e)
}

func headerSize(e *elem, enc encoding) int64 {
	if enc.implicit || shortVRs[e.hvr] {
		return 8
	}
	return 12
}

func contentSize(e *elem) int64 {
	if !e.seq {
		if e.value != nil {
			return int64(len(e.value))
		}
		return e.n
	}
	var n int64
	for _, it := range e.items {
		n += 8 + datasetSize(it.elems, e.inner)
		if it.undef {
			n += 8
		}
	}
	if e.undef {
		n += 8
	}
	return n
}

func datasetSize(ds []*elem, enc encoding) int64 {
	var n int64
	for _, e := range ds {
		n += size(e, enc)
	}
	return n
}

func (w *writer) header(t uint32, hvr string, length uint32, enc encoding) {
	bo := enc.order()
	var h [12]byte
	bo.PutUint16(h[0:], uint16(t>>16))
	bo.PutUint16(h[2:], uint16(t))
	switch {
	case enc.implicit || hvr == "":
		bo.PutUint32(h[4:], length)
		w.bytes(h[:8])
	case shortVRs[hvr]:
		copy(h[4:], hvr)
		bo.PutUint16(h[6:], uint16(length))
		w.bytes(h[:8])
	default:
		copy(h[4:], hvr)
		bo.PutUint32(h[8:], length)
		w.bytes(h[:12])
	}
}

func (w *writer) dataset(ds []*elem, enc encoding) {
	for i, e := range ds {
		if e.groupLen {
			var n int64
			for _, x := range ds[i+1:] {
				if x.tag>>16 == e.tag>>16 {
					n += size(x, enc)
				}
			}
			e.value = putUint32(enc, uint32(n))
		}
		if e.offsetRef && len(e.value) == 4 && w.items != nil && !w.dry {
			old := int64(enc.order().Uint32(e.value))
			if nw, ok := w.items[old]; ok && old != 0 {
				e.value = putUint32(enc, uint32(nw))
			}
		}
		w.elem(e, enc)
	}
}

func (w *writer) elem(e *elem, enc encoding) {
	if e.raw {
		w.rng(w.fileOff+e.rawOff, e.rawN)
		return
	}
	length := uint32(contentSize(e))
	if e.seq && e.undef {
		length = undefined
	}
	w.header(e.tag, e.hvr, length, enc)
	switch {
	case e.seq:
		bo := e.inner.order()
		for _, it := range e.items {
			if w.dry && w.items != nil {
				w.items[w.fileOff+it.off] = w.pos
			}
			n := uint32(datasetSize(it.elems, e.inner))
			if it.undef {
				n = undefined
			}
			w.bytes(itemHeader(bo, tagItem, n))
			w.dataset(it.elems, e.inner)
			if it.undef {
				w.bytes(itemHeader(bo, tagItemDelim, 0))
			}
		}
		if e.undef {
			w.bytes(itemHeader(bo, tagSeqDelim, 0))
		}
	case e.value != nil:
		w.bytes(e.value)
	default:
		w.rng(w.fileOff+e.off, e.n)
	}
}

func itemHeader(bo binary.ByteOrder, t uint32, n uint32) []byte {
	b := make([]byte, 8)
	bo.PutUint16(b, uint16(t>>16))
	bo.PutUint16(b[2:], uint16(t))
	bo.PutUint32(b[4:], n)
	return b
}

// write lays out the rewritten file. A DICOMDIR is laid out twice: first to
// learn where each directory record lands, then with its offsets rewritten.
func write(f *file, meta, ds []*elem) (*Output, error) {
	head := &writer{}
	head.bytes([]byte(f.prefix))
	head.dataset(meta, encoding{})
	if f.deflated {
		body := &writer{}
		body.dataset(ds, f.enc)
		var raw bytes.Buffer
		o := &Output{parts: body.flush(), src: f.data}
		if _, err := o.WriteTo(&raw); err != nil {
			return nil, fmt.Errorf("lay out deflated dataset: %w", err)
		}
		var z bytes.Buffer
		zw, _ := flate.NewWriter(&z, flate.DefaultCompression)
		zw.Write(raw.Bytes())
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("deflate dataset: %w", err)
		}
		head.bytes(z.Bytes())
		return &Output{parts: head.flush(), src: f.data, size: head.pos}, nil
	}
	var items map[int64]int64
	if hasOffsets(ds) {
		dry := &writer{dry: true, pos: head.pos, items: map[int64]int64{}}
		dry.dataset(ds, f.enc)
		items = dry.items
	}
	body := &writer{pos: head.pos, buf: head.buf, items: items}
	body.dataset(ds, f.enc)
	return &Output{parts: body.flush(), src: f.data, size: body.pos}, nil
}

func hasOffsets(ds []*elem) bool {
	for _, e := range ds {
		if e.offsetRef {
			return true
		}
		for _, it := range e.items {
			if hasOffsets(it.elems) {
				return true
			}
		}
	}
	return false
}

func putUint32(enc encoding, v uint32) []byte {
	b := make([]byte, 4)
	enc.order().PutUint32(b, v)
	return b
}
