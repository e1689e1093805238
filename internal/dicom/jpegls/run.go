package jpegls

import "fmt"

// runLength decodes the length of a run starting at position i of a line of
// s.w samples, using and adapting run index ri (T.87 A.7.1).
func (s *scan) runLength(ri *int, i int) (int, error) {
	remaining := s.w - i + 1
	n := 0
	for s.br.bit() == 1 {
		step := 1 << j[*ri]
		cnt := min(step, remaining-n)
		n += cnt
		if cnt == step && *ri < 31 {
			*ri++
		}
		if n == remaining {
			return n, nil
		}
	}
	n += int(s.br.bits(j[*ri]))
	if n > remaining {
		return 0, fmt.Errorf("%w: run past the end of the line", ErrInvalid)
	}
	return n, nil
}

// runMode decodes a run and its interruption sample for component c from
// position i and returns the number of samples decoded.
func (s *scan) runMode(c, i int) (int, error) {
	p, cur := s.prev[c], s.cur[c]
	ra := cur[i-1]
	n, err := s.runLength(&s.runIndex[c], i)
	if err != nil {
		return 0, err
	}
	for k := range n {
		cur[i+k] = ra
	}
	end := i + n
	if end > s.w {
		return n, nil
	}
	rb := p[end]
	if abs(ra-rb) <= s.near {
		e, err := s.interruption(1, s.runIndex[c])
		if err != nil {
			return 0, err
		}
		cur[end] = s.reconstruct(ra, e)
	} else {
		e, err := s.interruption(0, s.runIndex[c])
		if err != nil {
			return 0, err
		}
		cur[end] = s.reconstruct(rb, e*sign(rb-ra))
	}
	if s.runIndex[c] > 0 {
		s.runIndex[c]--
	}
	return n + 1, nil
}

func sign(v int32) int32 {
	if v < 0 {
		return -1
	}
	return 1
}

// interruption decodes the error of a run-interruption sample of type rit with
// run index ri (T.87 A.7.2) and adapts its context.
func (s *scan) interruption(rit int32, ri int) (int32, error) {
	q := nContexts + rit
	temp := s.a[q]
	if rit == 1 {
		temp += s.n[q] >> 1
	}
	k := 0
	for s.n[q]<<k < temp {
		k++
		if k > 24 {
			return 0, fmt.Errorf("%w: Golomb parameter overflow", ErrInvalid)
		}
	}
	m, err := s.golomb(k, s.limit-j[ri]-1)
	if err != nil {
		return 0, err
	}
	t := m + rit
	mapped := t & 1
	e := (t + mapped) / 2
	if (k != 0 || 2*s.nn[rit] >= s.n[q]) == (mapped == 1) {
		e = -e
	}
	if e < 0 {
		s.nn[rit]++
	}
	s.a[q] += (m + 1 - rit) >> 1
	if s.n[q] == s.reset {
		s.a[q] >>= 1
		s.n[q] >>= 1
		s.nn[rit] >>= 1
	}
	s.n[q]++
	return e, nil
}

// tripletLine decodes one line of three sample-interleaved components.
func (s *scan) tripletLine() error {
	for i := 1; i <= s.w; {
		var q [3]int32
		for c := range 3 {
			p, cur := s.prev[c], s.cur[c]
			q[c] = s.context(cur[i-1], p[i], p[i-1], p[i+1])
		}
		if q == [3]int32{} {
			n, err := s.tripletRun(i)
			if err != nil {
				return err
			}
			i += n
			continue
		}
		for c := range 3 {
			p, cur := s.prev[c], s.cur[c]
			v, err := s.regular(q[c], cur[i-1], p[i], p[i-1])
			if err != nil {
				return err
			}
			cur[i] = v
		}
		i++
	}
	return nil
}

// tripletRun is runMode for sample-interleaved triplets: one run index, and
// interruption samples always of type 0 (as CharLS and the reference encoder do).
func (s *scan) tripletRun(i int) (int, error) {
	n, err := s.runLength(&s.runIndex[0], i)
	if err != nil {
		return 0, err
	}
	for c := range 3 {
		ra := s.cur[c][i-1]
		for k := range n {
			s.cur[c][i+k] = ra
		}
	}
	end := i + n
	if end > s.w {
		return n, nil
	}
	for c := range 3 {
		ra, rb := s.cur[c][end-1], s.prev[c][end]
		e, err := s.interruption(0, s.runIndex[0])
		if err != nil {
			return 0, err
		}
		s.cur[c][end] = s.reconstruct(rb, e*sign(rb-ra))
	}
	if s.runIndex[0] > 0 {
		s.runIndex[0]--
	}
	return n + 1, nil
}
