package dicom

import "fmt"

// maxLUTEntries bounds a palette or VOI lookup table (the descriptor allows 65536).
const maxLUTEntries = 1 << 16

// palette maps stored values to 8-bit RGB through the Palette Color Lookup Tables.
type palette struct {
	first   int32
	r, g, b []uint8
}

// readPalette reads the red, green and blue tables of ds, normal or segmented.
func readPalette(ds *dataset, signed bool) (*palette, error) {
	p := &palette{}
	chans := []struct {
		desc, data, seg Tag
		out             *[]uint8
	}{
		{tagRedDescriptor, tagRedData, tagSegRedData, &p.r},
		{tagGreenDescriptor, tagGreenData, tagSegGreenData, &p.g},
		{tagBlueDescriptor, tagBlueData, tagSegBlueData, &p.b},
	}
	for i, c := range chans {
		d := ds.uint16s(c.desc)
		if len(d) < 3 {
			return nil, fmt.Errorf("%w: palette descriptor %s", ErrMalformed, c.desc)
		}
		entries, bits := int(d[0]), int(d[2])
		if entries == 0 {
			entries = maxLUTEntries
		}
		first := int32(d[1])
		if signed {
			first = int32(int16(d[1]))
		}
		if i == 0 {
			p.first = first
		}
		var lut []uint8
		var err error
		if seg := ds.uint16s(c.seg); len(seg) > 0 {
			lut, err = segmentedLUT(seg, entries, bits)
		} else {
			lut, err = plainLUT(ds.raw(c.data), ds, entries, bits)
		}
		if err != nil {
			return nil, fmt.Errorf("palette %s: %w", c.data, err)
		}
		*c.out = lut
	}
	return p, nil
}

// plainLUT reads a palette table as 8-bit output levels. 8-bit tables come
// either packed two to a word or one per word; 16-bit tables keep their high byte.
func plainLUT(raw []byte, ds *dataset, entries, bits int) ([]uint8, error) {
	out := make([]uint8, entries)
	switch {
	case bits == 8 && len(raw) == entries || bits == 8 && len(raw) == entries+1:
		copy(out, raw)
	case len(raw) >= 2*entries:
		words := make([]uint16, entries)
		big := false
		for i := range words {
			words[i] = ds.bo.Uint16(raw[2*i:])
			big = big || words[i] > 0xFF
		}
		for i, w := range words {
			if bits > 8 || big {
				out[i] = uint8(w >> 8)
			} else {
				out[i] = uint8(w)
			}
		}
	default:
		return nil, fmt.Errorf("%w: %d bytes for %d entries", ErrMalformed, len(raw), entries)
	}
	return out, nil
}

// segmentedLUT expands a segmented palette table (PS3.3 C.7.9.2).
func segmentedLUT(seg []uint16, entries, bits int) ([]uint8, error) {
	vals, err := expandSegments(seg, entries, 0)
	if err != nil {
		return nil, err
	}
	out := make([]uint8, entries)
	for i := range out {
		v := vals[len(vals)-1]
		if i < len(vals) {
			v = vals[i]
		}
		if bits > 8 {
			v >>= 8
		}
		out[i] = uint8(v)
	}
	return out, nil
}

func expandSegments(seg []uint16, entries, depth int) ([]uint16, error) {
	if depth > 1 {
		return nil, fmt.Errorf("%w: nested indirect palette segments", ErrMalformed)
	}
	var out []uint16
	for i := 0; i < len(seg); {
		if i+1 >= len(seg) {
			return nil, fmt.Errorf("%w: truncated palette segment", ErrMalformed)
		}
		op, n := seg[i], int(seg[i+1])
		switch op {
		case 0: // discrete
			if i+2+n > len(seg) {
				return nil, fmt.Errorf("%w: truncated discrete palette segment", ErrMalformed)
			}
			out = append(out, seg[i+2:i+2+n]...)
			i += 2 + n
		case 1: // linear, from the previous value to y1 in n steps
			if i+2 >= len(seg) || len(out) == 0 {
				return nil, fmt.Errorf("%w: bad linear palette segment", ErrMalformed)
			}
			y0, y1 := float64(out[len(out)-1]), float64(seg[i+2])
			for j := 1; j <= n && len(out) <= entries; j++ {
				out = append(out, uint16(y0+(y1-y0)*float64(j)/float64(n)+0.5))
			}
			i += 3
		case 2: // indirect: copy n segments starting at a word offset
			if i+3 >= len(seg) {
				return nil, fmt.Errorf("%w: truncated indirect palette segment", ErrMalformed)
			}
			off := int(seg[i+2]) | int(seg[i+3])<<16
			if off >= i {
				return nil, fmt.Errorf("%w: forward indirect palette segment", ErrMalformed)
			}
			sub := seg[off:i]
			vals, err := expandFirstSegments(sub, n, entries, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, vals...)
			i += 4
		default:
			return nil, fmt.Errorf("%w: palette segment opcode %d", ErrMalformed, op)
		}
		if len(out) > entries {
			return nil, fmt.Errorf("%w: palette segments exceed %d entries", ErrMalformed, entries)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: empty segmented palette", ErrMalformed)
	}
	return out, nil
}

// expandFirstSegments expands the first n segments of seg.
func expandFirstSegments(seg []uint16, n, entries, depth int) ([]uint16, error) {
	end := 0
	for k := 0; k < n; k++ {
		if end+1 >= len(seg) {
			return nil, fmt.Errorf("%w: indirect palette segment out of range", ErrMalformed)
		}
		switch seg[end] {
		case 0:
			end += 2 + int(seg[end+1])
		case 1:
			end += 3
		default:
			return nil, fmt.Errorf("%w: unsupported indirect palette segment", ErrMalformed)
		}
	}
	if end > len(seg) {
		return nil, fmt.Errorf("%w: indirect palette segment out of range", ErrMalformed)
	}
	return expandSegments(seg[:end], entries, depth)
}

// apply maps palette indices to RGB triplets.
func (p *palette) apply(idx []int32) []uint8 {
	out := make([]uint8, 3*len(idx))
	for i, v := range idx {
		k := int64(v) - int64(p.first)
		out[3*i] = lutAt(p.r, k)
		out[3*i+1] = lutAt(p.g, k)
		out[3*i+2] = lutAt(p.b, k)
	}
	return out
}

func lutAt(l []uint8, k int64) uint8 {
	switch {
	case k < 0:
		return l[0]
	case k >= int64(len(l)):
		return l[len(l)-1]
	}
	return l[k]
}
