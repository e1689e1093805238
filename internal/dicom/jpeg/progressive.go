package jpeg

import "fmt"

// progressiveScan decodes one scan of a progressive DCT frame (T.81 G.1.2)
// into the components' coefficient buffers: the DC or a band Ss..Se of AC
// coefficients, a first scan (Ah = 0) or a refinement of bit Al (Ah = Al + 1).
// Like libjpeg, it follows jdphuff.c step by step.
func (d *decoder) progressiveScan(br *bitReader, sc []*component, ss, se, ah, al int) error {
	switch {
	case ss == 0 && se != 0, ss > se, se > 63, al > 13, ah > 13:
		return fmt.Errorf("%w: progressive scan Ss=%d Se=%d Ah=%d Al=%d", ErrInvalid, ss, se, ah, al)
	case ss > 0 && len(sc) != 1:
		return fmt.Errorf("%w: progressive AC scan of %d components", ErrInvalid, len(sc))
	}
	for _, c := range sc {
		switch {
		case ss == 0 && ah == 0 && d.dc[c.td] == nil, ss > 0 && d.ac[c.ta] == nil:
			return fmt.Errorf("%w: missing Huffman table", ErrInvalid)
		}
		c.dcPred = 0
	}
	d.eobrun = 0
	var block func(c *component, blk []int16) error
	switch {
	case ss == 0 && ah == 0:
		block = func(c *component, blk []int16) error {
			s, err := br.decode(d.dc[c.td])
			if err != nil {
				return err
			}
			if s > 16 {
				return fmt.Errorf("%w: DC category %d", ErrInvalid, s)
			}
			c.dcPred += br.receiveExtend(int(s))
			blk[0] = int16(c.dcPred << al)
			return nil
		}
	case ss == 0:
		block = func(c *component, blk []int16) error {
			if br.bits(1) != 0 {
				blk[0] |= 1 << al
			}
			return nil
		}
	case ah == 0:
		block = func(c *component, blk []int16) error { return d.acFirst(br, c, blk, ss, se, al) }
	default:
		block = func(c *component, blk []int16) error { return d.acRefine(br, c, blk, ss, se, al) }
	}
	mcus := 0
	restart := func() error {
		if d.restart > 0 && mcus == d.restart {
			if err := br.restart(); err != nil {
				return err
			}
			mcus, d.eobrun = 0, 0
			for _, c := range sc {
				c.dcPred = 0
			}
		}
		mcus++
		return nil
	}
	at := func(c *component, bx, by int) []int16 {
		o := (by*c.bw + bx) * 64
		return c.coef[o : o+64]
	}
	if len(sc) == 1 {
		c := sc[0]
		cw := (d.img.Width*c.h + d.hmax - 1) / d.hmax
		ch := (d.img.Height*c.v + d.vmax - 1) / d.vmax
		for by := range (ch + 7) / 8 {
			for bx := range (cw + 7) / 8 {
				if err := restart(); err != nil {
					return err
				}
				if err := block(c, at(c, bx, by)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for my := range d.mcuy {
		for mx := range d.mcux {
			if err := restart(); err != nil {
				return err
			}
			for _, c := range sc {
				for v := range c.v {
					for h := range c.h {
						if err := block(c, at(c, mx*c.h+h, my*c.v+v)); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// acFirst decodes the first scan of AC band ss..se of one block.
func (d *decoder) acFirst(br *bitReader, c *component, blk []int16, ss, se, al int) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	for k := ss; k <= se; k++ {
		rs, err := br.decode(d.ac[c.ta])
		if err != nil {
			return err
		}
		r, s := int(rs>>4), int(rs&15)
		if s == 0 {
			if r < 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += int(br.bits(uint(r)))
				}
				return nil
			}
			k += 15
			continue
		}
		k += r
		if k > 63 {
			return fmt.Errorf("%w: coefficient index past 63", ErrInvalid)
		}
		blk[zigzag[k]] = int16(br.receiveExtend(s) << al)
	}
	return nil
}

// acRefine decodes a refinement scan of AC band ss..se of one block: a
// correction bit for every coefficient already nonzero, and new coefficients
// of magnitude 1 << al.
func (d *decoder) acRefine(br *bitReader, c *component, blk []int16, ss, se, al int) error {
	p1, m1 := int16(1)<<al, int16(-1)<<al
	refine := func(k int) {
		v := &blk[zigzag[k]]
		if *v != 0 && br.bits(1) != 0 && *v&p1 == 0 {
			if *v >= 0 {
				*v += p1
			} else {
				*v += m1
			}
		}
	}
	k := ss
	if d.eobrun == 0 {
		for ; k <= se; k++ {
			rs, err := br.decode(d.ac[c.ta])
			if err != nil {
				return err
			}
			r, s := int(rs>>4), int(rs&15)
			var val int16
			if s != 0 {
				if s != 1 {
					return fmt.Errorf("%w: refinement coefficient of size %d", ErrInvalid, s)
				}
				val = m1
				if br.bits(1) != 0 {
					val = p1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += int(br.bits(uint(r)))
				}
				break // the rest of the block is an end-of-band
			}
			// Skip r coefficients still zero, refining the nonzero ones on the way.
			for ; k <= se; k++ {
				if blk[zigzag[k]] != 0 {
					refine(k)
				} else {
					if r == 0 {
						break
					}
					r--
				}
			}
			if s != 0 {
				if k > 63 {
					return fmt.Errorf("%w: coefficient index past 63", ErrInvalid)
				}
				blk[zigzag[k]] = val
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= se; k++ {
			refine(k)
		}
		d.eobrun--
	}
	return nil
}

// transformAll inverse-transforms every block of a progressive frame once its
// scans are read.
func (d *decoder) transformAll() {
	var blk [64]int32
	for i := range d.comps {
		c := &d.comps[i]
		for by := range c.bh {
			for bx := range c.bw {
				o := (by*c.bw + bx) * 64
				for k, v := range c.coef[o : o+64] {
					blk[k] = int32(v)
				}
				d.idct(&blk, c, bx, by)
			}
		}
		c.coef = nil
	}
}
