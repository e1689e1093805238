package jpeg

import "fmt"

// losslessScan decodes a process 14 scan (ITU T.81 annex H) with predictor psv
// and point transform pt into the planes of the scan's components.
func (d *decoder) losslessScan(br *bitReader, sc []*component, psv, pt int) error {
	if psv < 1 || psv > 7 {
		return fmt.Errorf("%w: lossless predictor %d", ErrInvalid, psv)
	}
	p := d.img.Precision
	if pt >= p {
		return fmt.Errorf("%w: point transform %d at precision %d", ErrInvalid, pt, p)
	}
	for _, c := range sc {
		if d.dc[c.td] == nil {
			return fmt.Errorf("%w: missing DC table %d", ErrInvalid, c.td)
		}
	}
	w, h := d.img.Width, d.img.Height
	initial := int32(1) << (p - pt - 1)
	// A restart interval (or the image) starts at startX, startY: its first
	// sample is predicted from nothing and the rest of its first row from the left.
	startX, startY := 0, 0
	mcus := 0
	for y := range h {
		for x := range w {
			if d.restart > 0 && mcus == d.restart {
				if err := br.restart(); err != nil {
					return err
				}
				mcus = 0
				startX, startY = x, y
			}
			mcus++
			for _, c := range sc {
				s, err := br.decode(d.dc[c.td])
				if err != nil {
					return err
				}
				var diff int32
				switch {
				case s == 16:
					diff = 32768
				case s > 16:
					return fmt.Errorf("%w: difference category %d", ErrInvalid, s)
				default:
					diff = br.receiveExtend(int(s))
				}
				row := c.plane[y*w : (y+1)*w]
				var pred int32
				switch {
				case y == startY && x == startX:
					pred = initial
				case y == startY:
					pred = row[x-1]
				case x == 0:
					pred = c.plane[(y-1)*w+x]
				default:
					ra, rb, rc := row[x-1], c.plane[(y-1)*w+x], c.plane[(y-1)*w+x-1]
					pred = predict(psv, ra, rb, rc)
				}
				row[x] = (pred + diff) & 0xFFFF
			}
		}
	}
	if pt > 0 {
		for _, c := range sc {
			for i, v := range c.plane {
				c.plane[i] = v << pt & 0xFFFF
			}
		}
	}
	return nil
}

func predict(psv int, ra, rb, rc int32) int32 {
	switch psv {
	case 1:
		return ra
	case 2:
		return rb
	case 3:
		return rc
	case 4:
		return ra + rb - rc
	case 5:
		return ra + (rb-rc)>>1
	case 6:
		return rb + (ra-rc)>>1
	default:
		return (ra + rb) >> 1
	}
}
