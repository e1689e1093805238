package jpegls

import "fmt"

// j is the run-length order table J of T.87 A.2.1.
var j = [32]int{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15}

const (
	nContexts = 365 // regular contexts; 365 and 366 are the two run-interruption contexts
	minC      = -128
	maxC      = 127
)

// scan is the state of one scan being decoded.
type scan struct {
	d                 *decoder
	comps             []int
	ilv               int
	br                bitReader
	maxval, near, rng int32
	qbpp, limit       int
	t1, t2, t3, reset int32
	a, b, c, n        [nContexts + 2]int32
	nn                [2]int32
	runIndex          [4]int
	w                 int
	prev, cur         [][]int32 // per component, with one sample of padding each side
}

func newScan(d *decoder, comps []int, near int32, ilv int) (*scan, error) {
	s := &scan{d: d, comps: comps, ilv: ilv, near: near, w: d.img.Width}
	s.br = bitReader{src: d.src, pos: d.pos}
	s.maxval = d.preset.maxval
	if s.maxval == 0 {
		s.maxval = int32(1)<<d.img.Precision - 1
	}
	if near < 0 || near > min(255, s.maxval/2) {
		return nil, fmt.Errorf("%w: NEAR %d", ErrInvalid, near)
	}
	s.rng = (s.maxval+2*near)/(2*near+1) + 1
	for s.qbpp = 0; int32(1)<<s.qbpp < s.rng; s.qbpp++ {
	}
	bpp := 2
	for int32(1)<<bpp < s.maxval+1 {
		bpp++
	}
	s.limit = 2 * (bpp + max(8, bpp))
	s.t1, s.t2, s.t3 = defaultThresholds(s.maxval, near)
	if p := d.preset; p.t1 != 0 {
		s.t1 = p.t1
	}
	if p := d.preset; p.t2 != 0 {
		s.t2 = p.t2
	}
	if p := d.preset; p.t3 != 0 {
		s.t3 = p.t3
	}
	s.reset = 64
	if d.preset.reset != 0 {
		s.reset = d.preset.reset
	}
	if s.t1 < near+1 || s.t2 < s.t1 || s.t3 < s.t2 || s.reset < 3 {
		return nil, fmt.Errorf("%w: coding parameters T1=%d T2=%d T3=%d RESET=%d", ErrInvalid, s.t1, s.t2, s.t3, s.reset)
	}
	ainit := max(2, (s.rng+32)/64)
	for i := range s.a {
		s.a[i], s.n[i] = ainit, 1
	}
	nc := len(comps)
	s.prev, s.cur = make([][]int32, nc), make([][]int32, nc)
	for i := range nc {
		s.prev[i] = make([]int32, s.w+2)
		s.cur[i] = make([]int32, s.w+2)
	}
	return s, nil
}

// defaultThresholds implements T.87 C.2.4.1.1.1.
func defaultThresholds(maxval, near int32) (int32, int32, int32) {
	clampT := func(i, lo int32) int32 {
		if i > maxval || i < lo {
			return lo
		}
		return i
	}
	if maxval >= 128 {
		f := (min(maxval, 4095) + 128) / 256
		t1 := clampT(f*(3-2)+2+3*near, near+1)
		t2 := clampT(f*(7-3)+3+5*near, t1)
		t3 := clampT(f*(21-4)+4+7*near, t2)
		return t1, t2, t3
	}
	f := 256 / (maxval + 1)
	t1 := clampT(max(2, 3/f+3*near), near+1)
	t2 := clampT(max(3, 7/f+5*near), t1)
	t3 := clampT(max(4, 21/f+7*near), t2)
	return t1, t2, t3
}

func (s *scan) decode() error {
	h := s.d.img.Height
	for y := range h {
		if s.ilv == 2 {
			s.startLine(0)
			s.startLine(1)
			s.startLine(2)
			if err := s.tripletLine(); err != nil {
				return fmt.Errorf("line %d: %w", y, err)
			}
			for c := range 3 {
				s.store(c, y)
			}
			continue
		}
		for c := range s.comps {
			s.startLine(c)
			if err := s.line(c); err != nil {
				return fmt.Errorf("line %d: %w", y, err)
			}
			s.store(c, y)
		}
	}
	s.br.skipToMarker()
	return nil
}

// startLine swaps the line buffers of component c and sets the edge samples
// (T.87 A.2.1: Ra at the start of a line is Rb, Rd at its end is Rb).
func (s *scan) startLine(c int) {
	s.prev[c], s.cur[c] = s.cur[c], s.prev[c]
	p := s.prev[c]
	p[s.w+1] = p[s.w]
	s.cur[c][0] = p[1]
}

// store copies the just-decoded line of component c into the image.
func (s *scan) store(c, y int) {
	img := &s.d.img
	nc, ci := img.Components, s.comps[c]
	row := img.Pix[y*s.w*nc:]
	for x, v := range s.cur[c][1 : s.w+1] {
		row[x*nc+ci] = uint16(v)
	}
}

func (s *scan) quantize(g int32) int32 {
	switch {
	case g <= -s.t3:
		return -4
	case g <= -s.t2:
		return -3
	case g <= -s.t1:
		return -2
	case g < -s.near:
		return -1
	case g <= s.near:
		return 0
	case g < s.t1:
		return 1
	case g < s.t2:
		return 2
	case g < s.t3:
		return 3
	}
	return 4
}

// context returns the signed context number of the neighbourhood.
func (s *scan) context(ra, rb, rc, rd int32) int32 {
	return 81*s.quantize(rd-rb) + 9*s.quantize(rb-rc) + s.quantize(rc-ra)
}

// line decodes one line of component c (no or line interleaving).
func (s *scan) line(c int) error {
	p, cur := s.prev[c], s.cur[c]
	for i := 1; i <= s.w; {
		ra, rb, rc, rd := cur[i-1], p[i], p[i-1], p[i+1]
		q := s.context(ra, rb, rc, rd)
		if q == 0 {
			n, err := s.runMode(c, i)
			if err != nil {
				return err
			}
			i += n
			continue
		}
		v, err := s.regular(q, ra, rb, rc)
		if err != nil {
			return err
		}
		cur[i] = v
		i++
	}
	return nil
}

// regular decodes one sample in regular mode (T.87 A.3–A.6).
func (s *scan) regular(q, ra, rb, rc int32) (int32, error) {
	sign := int32(1)
	if q < 0 {
		sign, q = -1, -q
	}
	px := med(ra, rb, rc) + sign*s.c[q]
	px = min(max(px, 0), s.maxval)
	k := 0
	for s.n[q]<<k < s.a[q] {
		k++
		if k > 24 {
			return 0, fmt.Errorf("%w: Golomb parameter overflow", ErrInvalid)
		}
	}
	m, err := s.golomb(k, s.limit)
	if err != nil {
		return 0, err
	}
	e := m >> 1
	if m&1 != 0 {
		e = -(m + 1) >> 1
	}
	if k == 0 && s.near == 0 && 2*s.b[q] <= -s.n[q] {
		e = -e - 1
	}
	s.update(q, e)
	return s.reconstruct(px, sign*e), nil
}

func med(ra, rb, rc int32) int32 {
	switch {
	case rc >= max(ra, rb):
		return min(ra, rb)
	case rc <= min(ra, rb):
		return max(ra, rb)
	}
	return ra + rb - rc
}

// update adapts the regular context q after error e (T.87 A.6).
func (s *scan) update(q, e int32) {
	s.b[q] += e * (2*s.near + 1)
	s.a[q] += abs(e)
	if s.n[q] == s.reset {
		s.a[q] >>= 1
		s.b[q] >>= 1
		s.n[q] >>= 1
	}
	s.n[q]++
	switch {
	case s.b[q]+s.n[q] <= 0:
		s.b[q] += s.n[q]
		if s.b[q] <= -s.n[q] {
			s.b[q] = -s.n[q] + 1
		}
		if s.c[q] > minC {
			s.c[q]--
		}
	case s.b[q] > 0:
		s.b[q] -= s.n[q]
		if s.b[q] > 0 {
			s.b[q] = 0
		}
		if s.c[q] < maxC {
			s.c[q]++
		}
	}
}

// reconstruct adds the dequantized error to the prediction, undoes the modulo
// reduction and clamps (T.87 A.4.4).
func (s *scan) reconstruct(px, e int32) int32 {
	v := px + e*(2*s.near+1)
	switch {
	case v < -s.near:
		v += s.rng * (2*s.near + 1)
	case v > s.maxval+s.near:
		v -= s.rng * (2*s.near + 1)
	}
	return min(max(v, 0), s.maxval)
}

func abs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// golomb decodes a limited-length Golomb code with parameter k (T.87 A.5.3).
func (s *scan) golomb(k, limit int) (int32, error) {
	esc := limit - s.qbpp - 1
	zeros := 0
	for s.br.bit() == 0 {
		zeros++
		if zeros > esc {
			return 0, fmt.Errorf("%w: Golomb code too long", ErrInvalid)
		}
	}
	if zeros == esc {
		return int32(s.br.bits(s.qbpp)) + 1, nil
	}
	return int32(zeros)<<k | int32(s.br.bits(k)), nil
}
