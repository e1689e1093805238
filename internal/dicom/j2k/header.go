package j2k

import (
	"encoding/binary"
	"fmt"
)

// apply applies a header marker segment; main says whether it is in the main
// header (a tile header's COD/QCD override main-header COC/QCC too).
func (h *header) apply(m byte, seg []byte, main bool) error {
	nc := len(h.comps)
	compIndex := func(b []byte) (int, []byte, error) {
		if nc < 257 {
			if len(b) < 1 || int(b[0]) >= nc {
				return 0, nil, fmt.Errorf("%w: component index", ErrInvalid)
			}
			return int(b[0]), b[1:], nil
		}
		return 0, nil, fmt.Errorf("%w: component index", ErrInvalid)
	}
	switch m {
	case 0x52: // COD
		if len(seg) < 5 {
			return fmt.Errorf("%w: COD", ErrInvalid)
		}
		scod := seg[0]
		h.sop, h.eph = scod&2 != 0, scod&4 != 0
		h.order, h.layers, h.mct = int(seg[1]), int(binary.BigEndian.Uint16(seg[2:])), seg[4] != 0
		if h.order > 4 || h.layers == 0 {
			return fmt.Errorf("%w: COD progression %d, %d layers", ErrInvalid, h.order, h.layers)
		}
		cs, err := parseCodingStyle(seg[5:], scod&1 != 0)
		if err != nil {
			return err
		}
		if h.cod == nil {
			h.cod = make([]codingStyle, nc)
		}
		for c := range nc {
			if !h.codSet[c] || !main {
				h.cod[c] = cs
				h.codSet[c] = false
			}
		}
	case 0x53: // COC
		c, rest, err := compIndex(seg)
		if err != nil || len(rest) < 1 || h.cod == nil {
			return fmt.Errorf("%w: COC", ErrInvalid)
		}
		cs, err := parseCodingStyle(rest[1:], rest[0]&1 != 0)
		if err != nil {
			return err
		}
		h.cod[c], h.codSet[c] = cs, true
	case 0x5C: // QCD
		q, err := parseQuantization(seg)
		if err != nil {
			return err
		}
		if h.qcd == nil {
			h.qcd = make([]quantization, nc)
		}
		for c := range nc {
			if !h.qcdSet[c] || !main {
				h.qcd[c] = q
				h.qcdSet[c] = false
			}
		}
	case 0x5D: // QCC
		c, rest, err := compIndex(seg)
		if err != nil || h.qcd == nil {
			return fmt.Errorf("%w: QCC", ErrInvalid)
		}
		q, err := parseQuantization(rest)
		if err != nil {
			return err
		}
		h.qcd[c], h.qcdSet[c] = q, true
	case 0x5E:
		return fmt.Errorf("%w: region of interest (RGN)", ErrUnsupported)
	case 0x5F:
		return fmt.Errorf("%w: progression order change (POC)", ErrUnsupported)
	case 0x60, 0x61:
		return fmt.Errorf("%w: packed packet headers (PPM/PPT)", ErrUnsupported)
	}
	return nil // TLM, PLM, PLT, CRG, COM and unknown markers carry nothing we need
}

func parseCodingStyle(b []byte, precincts bool) (codingStyle, error) {
	if len(b) < 5 {
		return codingStyle{}, fmt.Errorf("%w: coding style", ErrInvalid)
	}
	cs := codingStyle{levels: int(b[0]), xcb: int(b[1]) + 2, ycb: int(b[2]) + 2, style: int(b[3]), reversible: b[4] == 1}
	if cs.style&styleHTMixed != 0 {
		return codingStyle{}, fmt.Errorf("%w: mixed HT and part 1 code-blocks", ErrUnsupported)
	}
	if cs.levels > 32 || cs.xcb > 10 || cs.ycb > 10 || cs.xcb+cs.ycb > 12 || b[4] > 1 {
		return codingStyle{}, fmt.Errorf("%w: %d levels, code-block 2^%d×2^%d", ErrInvalid, cs.levels, cs.xcb, cs.ycb)
	}
	for r := 0; r <= cs.levels; r++ {
		px, py := 15, 15
		if precincts {
			if 5+r >= len(b) {
				return codingStyle{}, fmt.Errorf("%w: precinct sizes", ErrInvalid)
			}
			px, py = int(b[5+r]&15), int(b[5+r]>>4)
			if r > 0 && (px == 0 || py == 0) {
				return codingStyle{}, fmt.Errorf("%w: precinct size", ErrInvalid)
			}
		}
		cs.ppx, cs.ppy = append(cs.ppx, px), append(cs.ppy, py)
	}
	return cs, nil
}

func parseQuantization(b []byte) (quantization, error) {
	if len(b) < 1 {
		return quantization{}, fmt.Errorf("%w: quantization", ErrInvalid)
	}
	q := quantization{style: int(b[0] & 31), guard: int(b[0] >> 5)}
	b = b[1:]
	switch q.style {
	case 0:
		for _, v := range b {
			q.exps, q.mants = append(q.exps, int(v>>3)), append(q.mants, 0)
		}
	case 1, 2:
		for ; len(b) >= 2; b = b[2:] {
			v := int(binary.BigEndian.Uint16(b))
			q.exps, q.mants = append(q.exps, v>>11), append(q.mants, v&0x7FF)
		}
	default:
		return quantization{}, fmt.Errorf("%w: quantization style %d", ErrInvalid, q.style)
	}
	if len(q.exps) == 0 {
		return quantization{}, fmt.Errorf("%w: empty quantization", ErrInvalid)
	}
	return q, nil
}
