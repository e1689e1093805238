package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/medbox-jp/medbox/internal/dicom/rle"
)

// rowSource yields the rows of a frame, top to bottom, as masked and
// sign-extended samples (w·spp per row, pixel-interleaved), so that a frame
// can be shown without its samples ever being in memory all at once:
// native, RLE and deflated frames are read row by row; the other codecs
// decode the frame whole first.
type rowSource interface {
	// next writes the next row to dst.
	next(dst []int32) error
	// layout describes the samples: their photometric interpretation, the bits
	// they have, whether they are signed, and whether they are stored minus
	// 2³¹ (unsigned 32-bit values, see offset32).
	layout() rowLayout
}

type rowLayout struct {
	photometric string
	bits        int
	signed      bool
	offset      bool
}

// offset32 says whether samples of this width are held minus 2³¹: unsigned
// 32-bit values do not fit in an int32.
func offset32(bits int, signed bool) bool { return bits >= 32 && !signed }

// memRows reads the rows of a frame held in memory.
type memRows struct {
	rf *rawFrame
	y  int
}

func (m *memRows) next(dst []int32) error {
	if m.y >= m.rf.h {
		return io.ErrUnexpectedEOF
	}
	m.rf.row(m.y, dst, offset32(m.rf.bits, m.rf.signed))
	m.y++
	return nil
}

func (m *memRows) layout() rowLayout {
	return rowLayout{m.rf.photometric, m.rf.bits, m.rf.signed, offset32(m.rf.bits, m.rf.signed)}
}

// rows returns the rows of frame i: from the file's bytes for native frames,
// decoded as they are read for RLE and deflated frames, and from a whole
// decoded frame otherwise (or when GDCM had to decode it).
func (f *File) rows(i int) (rowSource, error) {
	im := f.img
	if !f.syntax.encapsulated {
		if im.pixel.lazy != nil && im.bitsAlloc%8 == 0 && (!im.planar || im.samples == 1) {
			return newNativeAtRows(f, i), nil
		}
		rf, err := f.native(i)
		if err != nil {
			return nil, err
		}
		return &memRows{rf: rf}, nil
	}
	if !forceGDCM && im.bitsAlloc >= 8 && (f.syntax.codec == codecRLE || f.syntax.codec == codecDeflate) {
		ef, err := f.encoded(i)
		if err != nil {
			return nil, err
		}
		if f.syntax.codec == codecRLE {
			return newRLERows(ef, im)
		}
		if !im.planar || im.samples == 1 {
			return newDeflateRows(ef, im), nil
		}
	}
	rf, _, err := f.raw(i)
	if err != nil {
		return nil, err
	}
	return &memRows{rf: rf}, nil
}

// rleRows decodes an RLE frame a row at a time: each segment is a PackBits
// stream of one byte plane, and a row takes the next w bytes of every one.
type rleRows struct {
	segs []*rle.Stream
	buf  []byte // one row of every plane, each sample little endian
	rf   *rawFrame
	left int // rows still to read
}

func newRLERows(ef encodedFrame, im *imageInfo) (*rleRows, error) {
	bps := im.bitsAlloc / 8
	segs, err := rle.Segments(ef.data, im.samples*bps, im.cols*im.rows, ef.partial)
	if err != nil {
		return nil, err
	}
	r := &rleRows{segs: segs, buf: make([]byte, im.cols*im.samples*bps), left: im.rows}
	r.rf = im.newRaw(r.buf, binary.LittleEndian)
	r.rf.h, r.rf.planar = 1, true
	return r, nil
}

func (r *rleRows) next(dst []int32) error {
	if r.left == 0 {
		return io.ErrUnexpectedEOF
	}
	r.left--
	w, bps := r.rf.w, r.rf.bitsAlloc/8
	for k, s := range r.segs {
		sample, b := k/bps, k%bps // b = 0 is the most significant byte
		if err := s.Read(r.buf[sample*w*bps+(bps-1-b):], w, bps); err != nil {
			return err
		}
	}
	r.rf.row(0, dst, offset32(r.rf.bits, r.rf.signed))
	return nil
}

func (r *rleRows) layout() rowLayout {
	return rowLayout{r.rf.photometric, r.rf.bits, r.rf.signed, offset32(r.rf.bits, r.rf.signed)}
}

// deflateRows inflates a deflated frame (pixel-interleaved or grey) a row at
// a time.
type deflateRows struct {
	zr   io.Reader
	buf  []byte
	rf   *rawFrame
	left int // rows still to read
	cut  bool
	done bool // the stream ended early: the rest of the frame is zeros
}

func newDeflateRows(ef encodedFrame, im *imageInfo) *deflateRows {
	data := ef.data
	if zlibHeader(data) {
		data = data[2:] // which the standard does not have, but writers add
	}
	zr := flate.NewReader(bytes.NewReader(data))
	buf := make([]byte, im.cols*im.samples*im.bitsAlloc/8)
	rf := im.newRaw(buf, binary.LittleEndian)
	rf.h = 1
	return &deflateRows{zr: zr, buf: buf, rf: rf, left: im.rows, cut: ef.partial}
}

func (d *deflateRows) next(dst []int32) error {
	if d.left == 0 {
		return io.ErrUnexpectedEOF
	}
	d.left--
	if !d.done {
		if n, err := io.ReadFull(d.zr, d.buf); err != nil {
			if !d.cut {
				return fmt.Errorf("%w: deflated frame: %v", ErrMalformed, err)
			}
			clear(d.buf[n:])
			d.done = true
		}
	} else {
		clear(d.buf)
	}
	d.rf.row(0, dst, offset32(d.rf.bits, d.rf.signed))
	return nil
}

func (d *deflateRows) layout() rowLayout {
	return rowLayout{d.rf.photometric, d.rf.bits, d.rf.signed, offset32(d.rf.bits, d.rf.signed)}
}

// zlibHeader reports whether b starts with a zlib header rather than raw
// deflate data. A raw stream can only start with the same two bytes as a
// stored block, whose length and its complement then follow.
func zlibHeader(b []byte) bool {
	if len(b) < 2 || b[0]&0x0F != 8 || (uint16(b[0])<<8|uint16(b[1]))%31 != 0 {
		return false
	}
	if b[0]&7 == 0 && len(b) >= 5 && binary.LittleEndian.Uint16(b[1:]) == ^binary.LittleEndian.Uint16(b[3:]) {
		return false
	}
	return true
}

// nativeAtRows reads a native frame that ParseAt left in the file a strip of
// rows at a time.
type nativeAtRows struct {
	f        *File
	base     *rawFrame // the whole frame's layout; data unused
	rowBytes int64
	y        int
	strip    *rawFrame // rows y0…y0+strip.h−1
	y0       int
}

// stripBytes is about how much of a native frame is read at once.
const stripBytes = 4 << 20

func newNativeAtRows(f *File, i int) *nativeAtRows {
	im := f.img
	base := nativeFrame(im, f.syntax, i)
	rowBytes := int64(im.cols) * int64(im.samples) * int64(im.bitsAlloc/8)
	if base.sub422 {
		rowBytes = int64((im.cols+1)/2*4) * int64(im.bitsAlloc/8)
	}
	return &nativeAtRows{f: f, base: base, rowBytes: rowBytes}
}

func (n *nativeAtRows) next(dst []int32) error {
	if n.y >= n.base.h {
		return io.ErrUnexpectedEOF
	}
	if n.strip == nil || n.y >= n.y0+n.strip.h {
		rows := int(max(1, min(int64(n.base.h-n.y), stripBytes/max(n.rowBytes, 1))))
		rel := n.base.off + int64(n.y)*n.rowBytes // from the start of the pixel data
		start := rel &^ 1                         // even: byte-swapped 8-bit samples keep their pairs
		lz := n.f.img.pixel.lazy
		want := min(rel-start+int64(rows)*n.rowBytes, int64(lz.n)-start)
		strip := *n.base
		strip.h, strip.off, strip.data = rows, rel-start, nil
		if want > 0 {
			b, err := n.f.fragmentBytes(fragment{off: lz.off + start, n: int(want)})
			if err != nil {
				return err
			}
			strip.data = b
		}
		n.strip, n.y0 = &strip, n.y
	}
	n.strip.row(n.y-n.y0, dst, offset32(n.base.bits, n.base.signed))
	n.y++
	return nil
}

func (n *nativeAtRows) layout() rowLayout {
	return rowLayout{n.base.photometric, n.base.bits, n.base.signed, offset32(n.base.bits, n.base.signed)}
}
