// Package jpeg decodes the Huffman-coded JPEG processes that DICOM uses: baseline
// and extended sequential DCT (8 and 12 bits), progressive DCT with spectral
// selection and successive approximation (8 and 12 bits), and lossless (process
// 14, any predictor and point transform, 2–16 bits). Its inverse DCT and
// upsampling are libjpeg's, so lossy frames decode to the same samples as in
// GDCM and DCMTK. Samples come back exactly as coded: colour conversion is the
// caller's business, because DICOM says in its own header whether components
// are RGB or YCbCr.
package jpeg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by Decode.
var (
	// ErrInvalid means the stream is not valid JPEG.
	ErrInvalid = errors.New("invalid JPEG")
	// ErrUnsupported means a valid JPEG uses a process this package does not
	// decode (hierarchical, arithmetic coding).
	ErrUnsupported = errors.New("unsupported JPEG")
)

// Image is a decoded JPEG image.
type Image struct {
	Width, Height int
	Components    int
	Precision     int  // bits per sample, 2..16
	Lossless      bool // process 14
	// Pix holds the samples, Components per pixel, row-major; subsampled
	// components are replicated to full resolution.
	Pix []uint16
	// ComponentIDs are the component identifiers from the frame header.
	ComponentIDs []byte
	// JFIF is set when an APP0 JFIF marker was present.
	JFIF bool
	// AdobeTransform is the APP14 Adobe colour transform (0 none, 1 YCbCr, 2
	// YCCK), or -1 without an Adobe marker.
	AdobeTransform int
}

type component struct {
	id     byte
	h, v   int
	tq     int
	bw, bh int     // blocks (DCT) or samples (lossless) per line and column
	plane  []int32 // decoded samples, bw*8 × bh*8 for DCT, width × height for lossless
	coef   []int16 // progressive: the coefficients of every block, 64 per block in natural order
	dcPred int32   // DCT DC predictor
	td, ta int     // tables of the current scan
}

type decoder struct {
	src       []byte
	pos       int
	maxSample int64

	img        Image
	sof        byte
	comps      []component
	hmax, vmax int
	mcux, mcuy int
	quant      [4][64]int32 // in natural (not zigzag) order
	dc, ac     [4]*huffman
	restart    int
	frameSeen  bool
	scanned    bool
	eobrun     int // progressive AC scans: blocks left in an end-of-band run
}

// Marker codes.
const (
	mSOF0 = 0xC0
	mSOF1 = 0xC1
	mSOF2 = 0xC2
	mSOF3 = 0xC3
	mDHT  = 0xC4
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDQT  = 0xDB
	mDNL  = 0xDC
	mDRI  = 0xDD
	mAPP0 = 0xE0
	mAPPE = 0xEE
)

// Decode decodes a JPEG stream. maxSamples bounds width × height × components;
// a larger frame header is refused before anything is allocated.
func Decode(src []byte, maxSamples int64) (img *Image, err error) {
	d := &decoder{src: src, maxSample: maxSamples}
	d.img.AdobeTransform = -1
	if len(src) < 4 || src[0] != 0xFF || src[1] != mSOI {
		return nil, fmt.Errorf("%w: no SOI marker", ErrInvalid)
	}
	d.pos = 2
	for {
		m, err := d.nextMarker()
		if err != nil {
			if d.scanned && errors.Is(err, errEOF) {
				break // a missing EOI is common and harmless
			}
			return nil, err
		}
		if m == mEOI {
			break
		}
		if m >= 0xD0 && m <= 0xD7 || m == 0x01 {
			continue // stray RSTn or TEM
		}
		seg, err := d.segment()
		if err != nil {
			return nil, err
		}
		if err := d.handle(m, seg); err != nil {
			return nil, err
		}
	}
	if !d.scanned {
		return nil, fmt.Errorf("%w: no scan", ErrInvalid)
	}
	if d.sof == mSOF2 {
		d.transformAll()
	}
	d.finish()
	return &d.img, nil
}

var errEOF = fmt.Errorf("%w: unexpected end of data", ErrInvalid)

// nextMarker skips to the next marker and returns its code.
func (d *decoder) nextMarker() (byte, error) {
	for d.pos+1 < len(d.src) {
		if d.src[d.pos] != 0xFF {
			d.pos++ // garbage between segments; tolerated as libjpeg does
			continue
		}
		m := d.src[d.pos+1]
		d.pos += 2
		if m == 0xFF {
			d.pos-- // fill byte
			continue
		}
		if m != 0 {
			return m, nil
		}
	}
	return 0, errEOF
}

// segment returns the payload of a marker segment with a length field.
func (d *decoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.src) {
		return nil, errEOF
	}
	n := int(binary.BigEndian.Uint16(d.src[d.pos:]))
	if n < 2 || d.pos+n > len(d.src) {
		return nil, fmt.Errorf("%w: segment length %d at byte %d", ErrInvalid, n, d.pos)
	}
	seg := d.src[d.pos+2 : d.pos+n]
	d.pos += n
	return seg, nil
}

func (d *decoder) handle(m byte, seg []byte) error {
	switch {
	case m == mSOF0 || m == mSOF1 || m == mSOF2 || m == mSOF3:
		return d.frame(m, seg)
	case m >= 0xC0 && m <= 0xCF && m != mDHT && m != 0xC8 && m != 0xCC:
		return fmt.Errorf("%w: frame type SOF%d", ErrUnsupported, m-0xC0)
	case m == 0xCC:
		return fmt.Errorf("%w: arithmetic coding", ErrUnsupported)
	case m == mDHT:
		return d.huffmanTables(seg)
	case m == mDQT:
		return d.quantTables(seg)
	case m == mDRI:
		if len(seg) < 2 {
			return fmt.Errorf("%w: short DRI", ErrInvalid)
		}
		d.restart = int(binary.BigEndian.Uint16(seg))
	case m == mSOS:
		return d.scan(seg)
	case m == mDNL:
		return fmt.Errorf("%w: DNL marker", ErrUnsupported)
	case m == mAPP0 && len(seg) >= 5 && string(seg[:5]) == "JFIF\x00":
		d.img.JFIF = true
	case m == mAPPE && len(seg) >= 12 && string(seg[:5]) == "Adobe":
		d.img.AdobeTransform = int(seg[11])
	}
	return nil
}

func (d *decoder) frame(m byte, seg []byte) error {
	if d.frameSeen {
		return fmt.Errorf("%w: second frame header", ErrUnsupported)
	}
	if len(seg) < 6 {
		return fmt.Errorf("%w: short frame header", ErrInvalid)
	}
	d.frameSeen, d.sof = true, m
	p := int(seg[0])
	h := int(binary.BigEndian.Uint16(seg[1:]))
	w := int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	switch {
	case m == mSOF3 && (p < 2 || p > 16):
		return fmt.Errorf("%w: lossless precision %d", ErrInvalid, p)
	case m != mSOF3 && p != 8 && p != 12:
		return fmt.Errorf("%w: DCT precision %d", ErrInvalid, p)
	case h == 0:
		return fmt.Errorf("%w: height defined by DNL", ErrUnsupported)
	case w == 0 || nc == 0 || nc > 4 || len(seg) < 6+3*nc:
		return fmt.Errorf("%w: frame %d×%d with %d components", ErrInvalid, w, h, nc)
	case int64(w)*int64(h)*int64(nc) > d.maxSample:
		return fmt.Errorf("%w: frame %d×%d×%d exceeds %d samples", ErrInvalid, w, h, nc, d.maxSample)
	}
	d.img.Width, d.img.Height, d.img.Components, d.img.Precision = w, h, nc, p
	d.img.Lossless = m == mSOF3
	d.comps = make([]component, nc)
	for i := range d.comps {
		c := &d.comps[i]
		c.id = seg[6+3*i]
		c.h, c.v = int(seg[7+3*i]>>4), int(seg[7+3*i]&15)
		c.tq = int(seg[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return fmt.Errorf("%w: component %d sampling %d×%d table %d", ErrInvalid, i, c.h, c.v, c.tq)
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
		d.img.ComponentIDs = append(d.img.ComponentIDs, c.id)
	}
	if d.img.Lossless {
		for i := range d.comps {
			c := &d.comps[i]
			if c.h != d.hmax || c.v != d.vmax {
				return fmt.Errorf("%w: subsampled lossless JPEG", ErrUnsupported)
			}
			c.bw, c.bh = w, h
			c.plane = make([]int32, w*h)
		}
		return nil
	}
	d.mcux = (w + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcuy = (h + 8*d.vmax - 1) / (8 * d.vmax)
	for i := range d.comps {
		c := &d.comps[i]
		c.bw, c.bh = d.mcux*c.h, d.mcuy*c.v
		if int64(c.bw)*int64(c.bh)*64 > 4*d.maxSample+1<<20 {
			return fmt.Errorf("%w: component planes too large", ErrInvalid)
		}
		c.plane = make([]int32, c.bw*c.bh*64)
		if m == mSOF2 {
			c.coef = make([]int16, c.bw*c.bh*64)
		}
	}
	return nil
}

func (d *decoder) quantTables(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := int(seg[0]>>4), int(seg[0]&15)
		n := 64 * (1 + pq)
		if pq > 1 || tq > 3 || len(seg) < 1+n {
			return fmt.Errorf("%w: quantization table", ErrInvalid)
		}
		for k := range 64 {
			if pq == 0 {
				d.quant[tq][zigzag[k]] = int32(seg[1+k])
			} else {
				d.quant[tq][zigzag[k]] = int32(binary.BigEndian.Uint16(seg[1+2*k:]))
			}
		}
		seg = seg[1+n:]
	}
	return nil
}

func (d *decoder) huffmanTables(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return fmt.Errorf("%w: short Huffman table", ErrInvalid)
		}
		class, th := seg[0]>>4, int(seg[0]&15)
		if class > 1 || th > 3 {
			return fmt.Errorf("%w: Huffman table class %d id %d", ErrInvalid, class, th)
		}
		h, n, err := newHuffman(seg[1:17], seg[17:])
		if err != nil {
			return err
		}
		if class == 0 {
			d.dc[th] = h
		} else {
			d.ac[th] = h
		}
		seg = seg[17+n:]
	}
	return nil
}

// scan decodes one scan whose header is seg; the entropy-coded data follows at
// d.pos, and d.pos is left at the marker that ends it.
func (d *decoder) scan(seg []byte) error {
	if !d.frameSeen {
		return fmt.Errorf("%w: scan before frame header", ErrInvalid)
	}
	if len(seg) < 1 {
		return fmt.Errorf("%w: short scan header", ErrInvalid)
	}
	ns := int(seg[0])
	if ns < 1 || ns > len(d.comps) || len(seg) < 4+2*ns {
		return fmt.Errorf("%w: scan of %d components", ErrInvalid, ns)
	}
	var sc []*component
	for i := range ns {
		id, tables := seg[1+2*i], seg[2+2*i]
		var c *component
		for j := range d.comps {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return fmt.Errorf("%w: scan names unknown component %d", ErrInvalid, id)
		}
		c.td, c.ta = int(tables>>4), int(tables&15)
		if c.td > 3 || c.ta > 3 {
			return fmt.Errorf("%w: scan table selector", ErrInvalid)
		}
		sc = append(sc, c)
	}
	ss, se, ahal := seg[1+2*ns], seg[2+2*ns], seg[3+2*ns]
	br := &bitReader{src: d.src, pos: d.pos}
	var err error
	switch {
	case d.img.Lossless:
		err = d.losslessScan(br, sc, int(ss), int(ahal&15))
	case d.sof == mSOF2:
		err = d.progressiveScan(br, sc, int(ss), int(se), int(ahal>>4), int(ahal&15))
	default:
		// A sequential scan codes coefficients 0–63 whatever its header says;
		// some writers put Ss = Se = 0 there, and libjpeg ignores it too.
		err = d.dctScan(br, sc)
	}
	if err != nil {
		return err
	}
	d.pos = br.pos
	d.scanned = true
	return nil
}
