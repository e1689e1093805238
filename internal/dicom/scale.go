package dicom

import "math"

// scaler shrinks an image given a row at a time by area averaging: each
// output pixel is the mean of the source area it covers, weighted by how much
// of each source pixel falls in it. It holds two output rows, never the
// source.
type scaler struct {
	sw, sh, dw, dh, c int
	sx, sy            float64   // source pixels per output pixel, each ≥ 1
	xo                []int32   // for each source column, its (first) output column
	xw                []float64 // and the share of it that goes there
	hrow              []float64
	acc               [2][]float64 // weighted sums of output rows y and y+1
	wsum              [2]float64
	y                 int // the output row acc[0] holds
	sy0               int // source rows seen
	emit              func(y int, row []float64)
}

func newScaler(sw, sh, dw, dh, c int, emit func(y int, row []float64)) *scaler {
	s := &scaler{sw: sw, sh: sh, dw: dw, dh: dh, c: c,
		sx: float64(sw) / float64(dw), sy: float64(sh) / float64(dh),
		xo: make([]int32, sw), xw: make([]float64, sw),
		hrow: make([]float64, dw*c), acc: [2][]float64{make([]float64, dw*c), make([]float64, dw*c)}, emit: emit}
	for x := range sw {
		o, w := split(x, s.sx)
		s.xo[x], s.xw[x] = int32(min(o, dw-1)), w
		if o >= dw {
			s.xw[x] = 0
		}
	}
	return s
}

// split returns how source pixel i (covering [i, i+1)) shares itself between
// the output pixels at scale s: all to o, or w to o and 1−w to o+1.
func split(i int, s float64) (o int, w float64) {
	o = int(float64(i) / s)
	end := float64(o+1) * s
	if float64(i+1) <= end {
		return o, 1
	}
	return o, end - float64(i)
}

// add takes the next source row (sw·c values).
func (s *scaler) add(row []float64) {
	clear(s.hrow)
	if s.c == 1 {
		h, last := s.hrow, s.dw-1
		for x, v := range row[:s.sw] {
			o, w := s.xo[x], s.xw[x]
			h[o] += w * v
			if w < 1 && int(o) < last {
				h[o+1] += (1 - w) * v
			}
		}
	} else {
		for x := range s.sw {
			o, w := int(s.xo[x]), s.xw[x]
			for k := range s.c {
				v := row[x*s.c+k]
				s.hrow[o*s.c+k] += w * v
				if w < 1 && o+1 < s.dw {
					s.hrow[(o+1)*s.c+k] += (1 - w) * v
				}
			}
		}
	}
	o, w := split(s.sy0, s.sy)
	s.sy0++
	for o > s.y { // this source row starts in a later output row
		s.flush()
	}
	for k, v := range s.hrow {
		s.acc[0][k] += w * v
		if w < 1 {
			s.acc[1][k] += (1 - w) * v
		}
	}
	s.wsum[0] += w
	if w < 1 {
		s.wsum[1] += 1 - w
	}
	if s.sy0 == s.sh {
		for s.y < s.dh {
			s.flush()
		}
	}
}

// flush emits output row s.y and moves on to the next.
func (s *scaler) flush() {
	if s.y < s.dh {
		hw := s.sx // the area of a whole output pixel, per output row weight unit
		if s.wsum[0] > 0 {
			for k := range s.acc[0] {
				s.acc[0][k] /= s.wsum[0] * hw
			}
		}
		s.emit(s.y, s.acc[0])
	}
	s.acc[0], s.acc[1] = s.acc[1], s.acc[0]
	clear(s.acc[1])
	s.wsum[0], s.wsum[1] = s.wsum[1], 0
	s.y++
}

// scaledSize returns the size of a w×h image scaled down so that its longer
// side is at most maxSide (unchanged if it fits, or if maxSide is 0).
func scaledSize(w, h, maxSide int) (int, int) {
	if maxSide <= 0 || w <= maxSide && h <= maxSide {
		return w, h
	}
	if w >= h {
		return maxSide, max(1, int(math.Round(float64(h)*float64(maxSide)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(maxSide)/float64(h)))), maxSide
}

// scaled returns the frame scaled down so that its longer side is at most
// maxSide, or the frame itself if it fits.
func (fr *Frame) scaled(maxSide int) *Frame {
	w, h := scaledSize(fr.Width, fr.Height, maxSide)
	if w == fr.Width && h == fr.Height {
		return fr
	}
	out := *fr
	out.Width, out.Height, out.Gray, out.RGB = w, h, nil, nil
	c, row := 1, make([]float64, fr.Width)
	if fr.RGB != nil {
		c, row = 3, make([]float64, 3*fr.Width)
		out.RGB = make([]uint8, 3*w*h)
	} else {
		out.Gray = make([]int32, w*h)
	}
	sc := newScaler(fr.Width, fr.Height, w, h, c, func(y int, v []float64) {
		for k, x := range v {
			if out.RGB != nil {
				out.RGB[y*w*3+k] = uint8(math.Min(math.Max(math.Round(x), 0), 255))
			} else {
				out.Gray[y*w+k] = int32(math.Round(x))
			}
		}
	})
	for y := range fr.Height {
		for k := range row {
			if fr.RGB != nil {
				row[k] = float64(fr.RGB[y*fr.Width*3+k])
			} else {
				row[k] = float64(fr.Gray[y*fr.Width+k])
			}
		}
		sc.add(row)
	}
	if out.Gray != nil {
		out.Min, out.Max = minMax(out.Gray)
	}
	return &out
}
