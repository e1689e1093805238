package jpeg

import "fmt"

// zigzag maps the coded order of coefficients to their natural order.
var zigzag = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// dctScan decodes a sequential Huffman DCT scan (T.81 F.2).
func (d *decoder) dctScan(br *bitReader, sc []*component) error {
	for _, c := range sc {
		if d.dc[c.td] == nil || d.ac[c.ta] == nil {
			return fmt.Errorf("%w: missing Huffman table", ErrInvalid)
		}
		c.dcPred = 0
	}
	var blk [64]int32
	decodeBlock := func(c *component, bx, by int) error {
		clear(blk[:])
		s, err := br.decode(d.dc[c.td])
		if err != nil {
			return err
		}
		if s > 16 {
			return fmt.Errorf("%w: DC category %d", ErrInvalid, s)
		}
		c.dcPred += br.receiveExtend(int(s))
		blk[0] = c.dcPred
		for k := 1; k < 64; {
			rs, err := br.decode(d.ac[c.ta])
			if err != nil {
				return err
			}
			r, s := int(rs>>4), int(rs&15)
			if s == 0 {
				if r != 15 {
					break // end of block
				}
				k += 16
				continue
			}
			k += r
			if k > 63 {
				return fmt.Errorf("%w: coefficient index past 63", ErrInvalid)
			}
			blk[zigzag[k]] = br.receiveExtend(s)
			k++
		}
		d.idct(&blk, c, bx, by)
		return nil
	}
	mcus := 0
	restart := func() error {
		if d.restart > 0 && mcus == d.restart {
			if err := br.restart(); err != nil {
				return err
			}
			mcus = 0
			for _, c := range sc {
				c.dcPred = 0
			}
		}
		mcus++
		return nil
	}
	if len(sc) == 1 {
		c := sc[0]
		// A non-interleaved scan covers only the blocks inside the component.
		cw := (d.img.Width*c.h + d.hmax - 1) / d.hmax
		ch := (d.img.Height*c.v + d.vmax - 1) / d.vmax
		for by := range (ch + 7) / 8 {
			for bx := range (cw + 7) / 8 {
				if err := restart(); err != nil {
					return err
				}
				if err := decodeBlock(c, bx, by); err != nil {
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
						if err := decodeBlock(c, mx*c.h+h, my*c.v+v); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// finish assembles Pix from the component planes, upsampling subsampled ones.
func (d *decoder) finish() {
	w, h, nc := d.img.Width, d.img.Height, len(d.comps)
	d.img.Pix = make([]uint16, w*h*nc)
	for i := range d.comps {
		c := &d.comps[i]
		plane, stride := c.plane, c.bw // lossless planes are w×h
		hf, vf := 1, 1                 // remaining subsampling to undo by replication
		if !d.img.Lossless {
			stride = c.bw * 8
			hf, vf = d.hmax/c.h, d.vmax/c.v
			if hf*c.h != d.hmax || vf*c.v != d.vmax {
				hf, vf = 0, 0 // non-integer ratio
			} else if hf > 1 || vf > 1 {
				sw := (w*c.h + d.hmax - 1) / d.hmax
				sh := (h*c.v + d.vmax - 1) / d.vmax
				plane, stride = Upsample(plane, sw, sh, stride, hf, vf, w, h), w
				hf, vf = 1, 1
			}
		}
		for y := range h {
			o := y * w * nc
			for x := range w {
				sx, sy := x, y
				if hf != 1 || vf != 1 {
					sx, sy = x*c.h/d.hmax, y*c.v/d.vmax
				}
				d.img.Pix[o+x*nc+i] = uint16(plane[sy*stride+sx])
			}
		}
		c.plane = nil
	}
}
