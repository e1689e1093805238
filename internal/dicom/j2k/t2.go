package j2k

import "fmt"

// readPackets parses every packet of the tile and attaches the coded data to
// the code-blocks (T.800 B.9–B.10).
func readPackets(h *header, tr rect, tcs []*tileComp, data []byte) error {
	pos := 0
	var err error
	progression(h, tr, tcs, func(id packetID) bool {
		if pos >= len(data) {
			return false // truncated codestream: decode what arrived
		}
		var n int
		if n, err = readPacket(h, tcs[id.comp], id, data[pos:]); err != nil {
			return false
		}
		pos += n
		return true
	})
	return err
}

// readPacket reads one packet from data and returns its length.
func readPacket(h *header, tc *tileComp, id packetID, data []byte) (int, error) {
	pos := 0
	if h.sop && len(data) >= 6 && data[0] == 0xFF && data[1] == 0x91 {
		pos = 6
	}
	br := &bitReader{data: data, pos: pos}
	present, err := br.bit()
	if err != nil {
		return 0, err
	}
	res := tc.res[id.res]
	type contribution struct {
		cb  *codeblock
		len []int // one length per new segment part
	}
	var contrib []contribution
	if present != 0 {
		for _, b := range res.bands {
			p := &b.precinct[id.prec]
			for i := range p.blocks {
				cb := &p.blocks[i]
				var inc uint32
				if !cb.included {
					ok, err := p.incl.decode(br, i, id.layer+1)
					if err != nil {
						return 0, err
					}
					if ok {
						inc = 1
					}
				} else if inc, err = br.bit(); err != nil {
					return 0, err
				}
				if inc == 0 {
					continue
				}
				if !cb.included {
					zb := 0
					for {
						ok, err := p.zbp.decode(br, i, zb)
						if err != nil {
							return 0, err
						}
						if ok {
							break
						}
						zb++
						if zb > 64 {
							return 0, fmt.Errorf("%w: zero bit-planes", ErrInvalid)
						}
					}
					cb.numbps = b.numbps - (zb - 1)
					if cb.numbps < 0 || cb.numbps > 31 {
						return 0, fmt.Errorf("%w: %d bit-planes in a code-block", ErrInvalid, cb.numbps)
					}
					cb.included, cb.lblock = true, 3
				}
				np, err := numPasses(br)
				if err != nil {
					return 0, err
				}
				for {
					bit, err := br.bit()
					if err != nil {
						return 0, err
					}
					if bit == 0 {
						break
					}
					cb.lblock++
					if cb.lblock > 32 {
						return 0, fmt.Errorf("%w: Lblock", ErrInvalid)
					}
				}
				c := contribution{cb: cb}
				for np > 0 {
					if len(cb.segs) == 0 || cb.segs[len(cb.segs)-1].passes == cb.maxPass {
						cb.segs = append(cb.segs, segment{})
						cb.maxPass = segmentPasses(tc.cs.style, len(cb.segs)-1)
					}
					s := &cb.segs[len(cb.segs)-1]
					take := min(np, cb.maxPass-s.passes)
					n, err := br.bits(cb.lblock + floorLog2(take))
					if err != nil {
						return 0, err
					}
					s.passes += take
					cb.passes += take
					np -= take
					c.len = append(c.len, n)
				}
				if cb.passes > 3*cb.numbps {
					return 0, fmt.Errorf("%w: too many coding passes", ErrInvalid)
				}
				contrib = append(contrib, c)
			}
		}
	}
	br.align()
	pos = br.pos
	if h.eph && pos+1 < len(data) && data[pos] == 0xFF && data[pos+1] == 0x92 {
		pos += 2
	}
	for _, c := range contrib {
		// The new bytes go to the segments that received passes, in order.
		first := len(c.cb.segs) - len(c.len)
		for k, n := range c.len {
			if n > len(data)-pos {
				n = len(data) - pos // truncated: keep what there is
			}
			s := &c.cb.segs[first+k]
			s.data = append(s.data, data[pos:pos+n]...)
			pos += n
		}
	}
	return pos, nil
}

// numPasses decodes the number of new coding passes (T.800 table B.4).
func numPasses(br *bitReader) (int, error) {
	if v, err := br.bits(1); err != nil || v == 0 {
		return 1, err
	}
	if v, err := br.bits(1); err != nil || v == 0 {
		return 2, err
	}
	v, err := br.bits(2)
	if err != nil || v != 3 {
		return 3 + v, err
	}
	if v, err = br.bits(5); err != nil || v != 31 {
		return 6 + v, err
	}
	v, err = br.bits(7)
	return 37 + v, err
}

// segmentPasses is how many passes segment k of a code-block may hold.
func segmentPasses(style, k int) int {
	switch {
	case style&styleHT != 0:
		if k == 0 {
			return 1 // the cleanup pass
		}
		return 2 // significance propagation and magnitude refinement
	case style&styleTermAll != 0:
		return 1
	case style&styleBypass != 0:
		if k == 0 {
			return 10
		}
		if k%2 == 1 {
			return 2 // raw significance and refinement passes
		}
		return 1 // an MQ-coded cleanup pass
	}
	return 1 << 20
}

func floorLog2(v int) int {
	n := 0
	for v > 1 {
		v >>= 1
		n++
	}
	return n
}
