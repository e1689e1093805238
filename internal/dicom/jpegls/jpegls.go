// Package jpegls decodes JPEG-LS (ITU-T T.87) images: lossless and near-lossless,
// 2–16 bits, one to four components, with no, line or sample interleaving, and
// preset coding parameters. Mapping tables and restart markers are not supported.
package jpegls

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by Decode.
var (
	// ErrInvalid means the stream is not valid JPEG-LS.
	ErrInvalid = errors.New("invalid JPEG-LS")
	// ErrUnsupported means a valid stream uses a feature not decoded here.
	ErrUnsupported = errors.New("unsupported JPEG-LS")
)

// Image is a decoded JPEG-LS image.
type Image struct {
	Width, Height int
	Components    int
	Precision     int
	// Pix holds the samples, Components per pixel, row-major.
	Pix []uint16
	// Near is the NEAR parameter of the last scan (0 means lossless).
	Near int
}

// params are the coding parameters of a scan (T.87 C.2.4.1).
type params struct {
	maxval, t1, t2, t3, reset int32
}

type decoder struct {
	src       []byte
	pos       int
	maxSample int64
	img       Image
	ids       []byte
	preset    params
	frameSeen bool
	done      []bool // components decoded
}

const (
	mSOI   = 0xD8
	mEOI   = 0xD9
	mSOS   = 0xDA
	mDRI   = 0xDD
	mSOF55 = 0xF7
	mLSE   = 0xF8
)

// Decode decodes a JPEG-LS stream. maxSamples bounds width × height × components;
// a larger frame header is refused before anything is allocated.
func Decode(src []byte, maxSamples int64) (*Image, error) {
	d := &decoder{src: src, maxSample: maxSamples}
	if len(src) < 4 || src[0] != 0xFF || src[1] != mSOI {
		return nil, fmt.Errorf("%w: no SOI marker", ErrInvalid)
	}
	d.pos = 2
	for {
		m, err := d.nextMarker()
		if err != nil {
			if d.complete() {
				break
			}
			return nil, err
		}
		if m == mEOI {
			break
		}
		if d.pos+2 > len(d.src) {
			return nil, fmt.Errorf("%w: truncated marker segment", ErrInvalid)
		}
		n := int(binary.BigEndian.Uint16(d.src[d.pos:]))
		if n < 2 || d.pos+n > len(d.src) {
			return nil, fmt.Errorf("%w: segment length %d", ErrInvalid, n)
		}
		seg := d.src[d.pos+2 : d.pos+n]
		d.pos += n
		switch {
		case m == mSOF55:
			err = d.frame(seg)
		case m == mLSE:
			err = d.presets(seg)
		case m == mSOS:
			err = d.scan(seg)
		case m == mDRI:
			if len(seg) >= 2 && binary.BigEndian.Uint16(seg) != 0 {
				err = fmt.Errorf("%w: restart intervals", ErrUnsupported)
			}
		case m >= 0xC0 && m <= 0xCF || m == 0xF9:
			err = fmt.Errorf("%w: marker %02X is not JPEG-LS", ErrUnsupported, m)
		}
		if err != nil {
			return nil, err
		}
	}
	if !d.complete() {
		return nil, fmt.Errorf("%w: not every component was decoded", ErrInvalid)
	}
	return &d.img, nil
}

func (d *decoder) complete() bool {
	if !d.frameSeen {
		return false
	}
	for _, ok := range d.done {
		if !ok {
			return false
		}
	}
	return true
}

func (d *decoder) nextMarker() (byte, error) {
	for d.pos+1 < len(d.src) {
		if d.src[d.pos] != 0xFF || d.src[d.pos+1] < 0x80 {
			d.pos++
			continue
		}
		m := d.src[d.pos+1]
		d.pos += 2
		if m == 0xFF {
			d.pos--
			continue
		}
		return m, nil
	}
	return 0, fmt.Errorf("%w: unexpected end of data", ErrInvalid)
}

func (d *decoder) frame(seg []byte) error {
	if d.frameSeen {
		return fmt.Errorf("%w: second frame header", ErrInvalid)
	}
	if len(seg) < 6 {
		return fmt.Errorf("%w: short frame header", ErrInvalid)
	}
	p := int(seg[0])
	h := int(binary.BigEndian.Uint16(seg[1:]))
	w := int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	switch {
	case p < 2 || p > 16:
		return fmt.Errorf("%w: precision %d", ErrInvalid, p)
	case w == 0 || h == 0:
		return fmt.Errorf("%w: image size %d×%d", ErrUnsupported, w, h)
	case nc < 1 || nc > 4 || len(seg) < 6+3*nc:
		return fmt.Errorf("%w: %d components", ErrInvalid, nc)
	case int64(w)*int64(h)*int64(nc) > d.maxSample:
		return fmt.Errorf("%w: frame %d×%d×%d exceeds %d samples", ErrInvalid, w, h, nc, d.maxSample)
	}
	for i := range nc {
		if seg[7+3*i] != 0x11 {
			return fmt.Errorf("%w: subsampled components", ErrUnsupported)
		}
		d.ids = append(d.ids, seg[6+3*i])
	}
	d.frameSeen = true
	d.img = Image{Width: w, Height: h, Components: nc, Precision: p, Pix: make([]uint16, w*h*nc)}
	d.done = make([]bool, nc)
	return nil
}

func (d *decoder) presets(seg []byte) error {
	if len(seg) < 1 {
		return fmt.Errorf("%w: empty LSE segment", ErrInvalid)
	}
	if seg[0] != 1 {
		return fmt.Errorf("%w: LSE type %d (mapping tables or oversize images)", ErrUnsupported, seg[0])
	}
	if len(seg) < 11 {
		return fmt.Errorf("%w: short LSE segment", ErrInvalid)
	}
	u := func(i int) int32 { return int32(binary.BigEndian.Uint16(seg[1+2*i:])) }
	d.preset = params{maxval: u(0), t1: u(1), t2: u(2), t3: u(3), reset: u(4)}
	return nil
}

func (d *decoder) scan(seg []byte) error {
	if !d.frameSeen {
		return fmt.Errorf("%w: scan before frame header", ErrInvalid)
	}
	if len(seg) < 1 {
		return fmt.Errorf("%w: short scan header", ErrInvalid)
	}
	ns := int(seg[0])
	if ns < 1 || ns > d.img.Components || len(seg) < 4+2*ns {
		return fmt.Errorf("%w: scan of %d components", ErrInvalid, ns)
	}
	comps := make([]int, ns)
	for i := range ns {
		idx := -1
		for j, id := range d.ids {
			if id == seg[1+2*i] {
				idx = j
			}
		}
		if idx < 0 {
			return fmt.Errorf("%w: scan names unknown component %d", ErrInvalid, seg[1+2*i])
		}
		if seg[2+2*i] != 0 {
			return fmt.Errorf("%w: mapping tables", ErrUnsupported)
		}
		comps[i] = idx
	}
	near, ilv, pt := int32(seg[1+2*ns]), int(seg[2+2*ns]), seg[3+2*ns]&15
	switch {
	case pt != 0:
		return fmt.Errorf("%w: point transform", ErrUnsupported)
	case ilv > 2 || ilv == 0 && ns != 1:
		return fmt.Errorf("%w: interleave mode %d with %d components", ErrInvalid, ilv, ns)
	case ilv == 2 && ns != 3:
		return fmt.Errorf("%w: sample interleaving of %d components", ErrUnsupported, ns)
	}
	s, err := newScan(d, comps, near, ilv)
	if err != nil {
		return err
	}
	if err := s.decode(); err != nil {
		return err
	}
	for _, c := range comps {
		d.done[c] = true
	}
	d.pos = s.br.pos
	d.img.Near = int(near)
	return nil
}
