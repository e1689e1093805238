// Package j2k decodes JPEG 2000 Part 1 codestreams (ITU-T T.800), as DICOM stores
// them: one or more tiles, reversible 5/3 and irreversible 9/7 wavelets, any
// number of quality layers and resolution levels, all five progression orders,
// precincts, every code-block style, the RCT and ICT colour transforms, and up
// to 16 bits per sample, signed or not. Region-of-interest shifts, progression
// order changes (POC) and packed packet headers (PPM, PPT) are refused with
// ErrUnsupported; DICOM writers do not use them.
package j2k

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by Decode.
var (
	// ErrInvalid means the codestream is not valid JPEG 2000.
	ErrInvalid = errors.New("invalid JPEG 2000")
	// ErrUnsupported means a valid codestream uses a feature not decoded here.
	ErrUnsupported = errors.New("unsupported JPEG 2000")
)

// Image is a decoded JPEG 2000 image.
type Image struct {
	Width, Height int
	Components    int
	Precision     int  // bits per sample
	Signed        bool // samples are two's complement values
	// MCT is set when the decoder applied the inverse RCT or ICT, so that the
	// three components are R, G and B.
	MCT bool
	// Pix holds the samples, Components per pixel, row-major, as signed values
	// for signed images and 0..2^Precision−1 otherwise.
	Pix []int32
}

// compInfo is a component of SIZ.
type compInfo struct {
	precision int
	signed    bool
	dx, dy    int
}

// codingStyle is COD/COC: how one component is coded.
type codingStyle struct {
	levels     int   // decomposition levels
	xcb, ycb   int   // log2 code-block size
	style      int   // code-block style flags
	reversible bool  // 5/3 rather than 9/7
	ppx, ppy   []int // log2 precinct size per resolution
}

// quantization is QCD/QCC.
type quantization struct {
	style int // 0 none, 1 scalar derived, 2 scalar expounded
	guard int
	exps  []int
	mants []int
}

// header is what the main header (and tile headers) say.
type header struct {
	x0, y0, x1, y1   int // image area on the reference grid
	tx0, ty0, tw, th int // tile grid
	comps            []compInfo
	sop, eph         bool
	order            int
	layers           int
	mct              bool
	cod              []codingStyle
	qcd              []quantization
	codSet, qcdSet   []bool // set by a component-specific marker
}

func (h *header) clone() *header {
	c := *h
	c.cod = append([]codingStyle(nil), h.cod...)
	c.qcd = append([]quantization(nil), h.qcd...)
	c.codSet = append([]bool(nil), h.codSet...)
	c.qcdSet = append([]bool(nil), h.qcdSet...)
	return &c
}

// Decode decodes a J2K codestream (not a JP2 file). maxSamples bounds width ×
// height × components; a larger image is refused before anything is allocated.
func Decode(src []byte, maxSamples int64) (*Image, error) {
	if len(src) < 4 || src[0] != 0xFF || src[1] != 0x4F {
		return nil, fmt.Errorf("%w: no SOC marker", ErrInvalid)
	}
	d := &decoder{src: src, pos: 2, maxSamples: maxSamples}
	if err := d.mainHeader(); err != nil {
		return nil, err
	}
	if err := d.tiles(); err != nil {
		return nil, err
	}
	return d.finish(), nil
}

type decoder struct {
	src        []byte
	pos        int
	maxSamples int64
	h          *header
	tileHdr    map[int]*header
	tileData   map[int][][]byte
	img        *Image // its Pix filled tile by tile
}

// marker reads a marker and its segment at d.pos.
func (d *decoder) marker() (m byte, seg []byte, err error) {
	if d.pos+2 > len(d.src) || d.src[d.pos] != 0xFF {
		return 0, nil, fmt.Errorf("%w: expected a marker at byte %d", ErrInvalid, d.pos)
	}
	m = d.src[d.pos+1]
	d.pos += 2
	if m == 0x93 || m == 0xD9 { // SOD, EOC: no segment
		return m, nil, nil
	}
	if d.pos+2 > len(d.src) {
		return 0, nil, fmt.Errorf("%w: truncated marker segment", ErrInvalid)
	}
	n := int(binary.BigEndian.Uint16(d.src[d.pos:]))
	if n < 2 || d.pos+n > len(d.src) {
		return 0, nil, fmt.Errorf("%w: marker %02X length %d", ErrInvalid, m, n)
	}
	seg = d.src[d.pos+2 : d.pos+n]
	d.pos += n
	return m, seg, nil
}

func (d *decoder) mainHeader() error {
	d.h = &header{}
	for {
		start := d.pos
		m, seg, err := d.marker()
		if err != nil {
			return err
		}
		if m == 0x90 { // SOT: the first tile-part
			d.pos = start
			break
		}
		if m == 0x51 {
			if err := d.siz(seg); err != nil {
				return err
			}
			continue
		}
		if d.h.comps == nil {
			return fmt.Errorf("%w: marker %02X before SIZ", ErrInvalid, m)
		}
		if err := d.h.apply(m, seg, true); err != nil {
			return err
		}
	}
	if d.h.cod == nil || d.h.qcd == nil || d.h.layers == 0 {
		return fmt.Errorf("%w: main header lacks COD or QCD", ErrInvalid)
	}
	return nil
}

func (d *decoder) siz(seg []byte) error {
	if len(seg) < 36 || d.h.comps != nil {
		return fmt.Errorf("%w: SIZ", ErrInvalid)
	}
	u := func(o int) int { return int(binary.BigEndian.Uint32(seg[o:])) }
	h := d.h
	h.x1, h.y1, h.x0, h.y0 = u(2), u(6), u(10), u(14)
	h.tw, h.th, h.tx0, h.ty0 = u(18), u(22), u(26), u(30)
	nc := int(binary.BigEndian.Uint16(seg[34:]))
	w, ht := int64(h.x1)-int64(h.x0), int64(h.y1)-int64(h.y0)
	switch {
	case h.x1 <= 0 || h.y1 <= 0 || w <= 0 || ht <= 0 || h.tw <= 0 || h.th <= 0 || h.tx0 > h.x0 || h.ty0 > h.y0 ||
		int64(h.tx0)+int64(h.tw) <= int64(h.x0) || int64(h.ty0)+int64(h.th) <= int64(h.y0):
		return fmt.Errorf("%w: SIZ geometry", ErrInvalid)
	case nc < 1 || nc > 4 || len(seg) < 36+3*nc:
		return fmt.Errorf("%w: %d components", ErrUnsupported, nc)
	case w*ht*int64(nc) > d.maxSamples:
		return fmt.Errorf("%w: %d×%d×%d exceeds %d samples", ErrInvalid, w, ht, nc, d.maxSamples)
	}
	tiles := int64((h.x1-h.tx0+h.tw-1)/h.tw) * int64((h.y1-h.ty0+h.th-1)/h.th)
	if tiles > 1<<12 || tiles > w*ht {
		return fmt.Errorf("%w: %d tiles", ErrUnsupported, tiles)
	}
	for c := range nc {
		ssiz, dx, dy := seg[36+3*c], int(seg[37+3*c]), int(seg[38+3*c])
		ci := compInfo{precision: int(ssiz&0x7F) + 1, signed: ssiz&0x80 != 0, dx: dx, dy: dy}
		if ci.precision > 16 || dx != 1 || dy != 1 {
			return fmt.Errorf("%w: component %d: %d bits, subsampling %d×%d", ErrUnsupported, c, ci.precision, dx, dy)
		}
		h.comps = append(h.comps, ci)
	}
	h.cod = nil
	h.qcd = nil
	h.codSet, h.qcdSet = make([]bool, nc), make([]bool, nc)
	return nil
}

// tiles reads every tile-part, then decodes each tile.
func (d *decoder) tiles() error {
	h := d.h
	ntx := (h.x1 - h.tx0 + h.tw - 1) / h.tw
	nty := (h.y1 - h.ty0 + h.th - 1) / h.th
	d.tileHdr, d.tileData = map[int]*header{}, map[int][][]byte{}
	for d.pos < len(d.src) {
		start := d.pos
		m, seg, err := d.marker()
		if err != nil {
			if len(d.tileData) > 0 {
				break // garbage or truncation after the last tile-part
			}
			return err
		}
		if m == 0xD9 {
			break
		}
		if m != 0x90 || len(seg) < 8 {
			return fmt.Errorf("%w: expected SOT, found %02X", ErrInvalid, m)
		}
		tile := int(binary.BigEndian.Uint16(seg))
		psot := int(binary.BigEndian.Uint32(seg[2:]))
		if tile >= ntx*nty {
			return fmt.Errorf("%w: tile %d of %d", ErrInvalid, tile, ntx*nty)
		}
		end := len(d.src)
		if psot != 0 {
			end = start + psot
			if psot < 14 || end > len(d.src) {
				end = len(d.src) // truncated: take what there is
			}
		}
		th := d.tileHdr[tile]
		if th == nil {
			th = h.clone()
			d.tileHdr[tile] = th
		}
		for {
			m, seg, err := d.marker()
			if err != nil {
				return err
			}
			if m == 0x93 {
				break
			}
			if err := th.apply(m, seg, false); err != nil {
				return err
			}
		}
		if d.pos > end {
			return fmt.Errorf("%w: tile-part header longer than the tile-part", ErrInvalid)
		}
		d.tileData[tile] = append(d.tileData[tile], d.src[d.pos:end])
		d.pos = end
	}
	w, ht := h.x1-h.x0, h.y1-h.y0
	d.img = &Image{Width: w, Height: ht, Components: len(h.comps), Precision: h.comps[0].precision, Signed: h.comps[0].signed}
	d.img.Pix = make([]int32, w*ht*len(h.comps))
	for t := range ntx * nty {
		th := d.tileHdr[t]
		if th == nil {
			continue // a missing tile stays zero
		}
		if err := d.decodeTile(t, ntx, th, joinParts(d.tileData[t])); err != nil {
			return fmt.Errorf("tile %d: %w", t, err)
		}
	}
	return nil
}

func joinParts(parts [][]byte) []byte {
	if len(parts) == 1 {
		return parts[0]
	}
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// finish returns the decoded image.
func (d *decoder) finish() *Image { return d.img }
