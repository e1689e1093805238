package j2k

// Code-block style flags (T.800 table A.19).
const (
	styleBypass  = 0x01
	styleReset   = 0x02
	styleTermAll = 0x04
	styleVCausal = 0x08
	stylePTerm   = 0x10
	styleSegSym  = 0x20
)

// Band orientations.
const (
	bandLL = iota
	bandHL
	bandLH
	bandHH
)

// Per-sample state bits of the block decoder.
const (
	fSig     = 1 << iota // significant
	fNeg                 // negative
	fVisited             // coded by this bit-plane's significance pass
	fRefined             // refined at least once
)

// segment is a run of coding passes terminated together, and its bytes.
type segment struct {
	data   []byte
	passes int
}

// blockDecoder decodes the coding passes of one code-block (T.800 annex D).
type blockDecoder struct {
	w, h, stride int
	orient       int
	style        int
	flags        []uint8  // (w+2)×(h+2), with a border of insignificant samples
	mag          []uint32 // magnitudes with one fractional bit
	ctx          [nCtx]context
	mq           mqDecoder
	raw          rawDecoder
	useRaw       bool
}

func (b *blockDecoder) reset(w, h, orient, style int) {
	b.w, b.h, b.stride, b.orient, b.style = w, h, w+2, orient, style
	n := (w + 2) * (h + 2)
	if cap(b.flags) < n {
		b.flags, b.mag = make([]uint8, n), make([]uint32, n)
	}
	b.flags, b.mag = b.flags[:n], b.mag[:n]
	clear(b.flags)
	clear(b.mag)
	resetContexts(&b.ctx)
}

// decode runs the passes of segs on a block whose most significant coded
// bit-plane is numbps−1, and writes the coefficients (with one fractional bit,
// signed) to out, row-major with the given stride.
func (b *blockDecoder) decode(segs []segment, numbps int, out []int32, outStride int) error {
	pass := 0
	for _, s := range segs {
		if s.passes == 0 {
			continue
		}
		data := append(append(make([]byte, 0, len(s.data)+2), s.data...), 0xFF, 0xFF)
		b.useRaw = b.style&styleBypass != 0 && pass >= 10 && (pass-1)%3 != 2
		if b.useRaw {
			b.raw.init(data)
		} else {
			b.mq.init(data)
		}
		for range s.passes {
			plane := numbps - 1
			kind := 2 // cleanup
			if pass > 0 {
				plane = numbps - 2 - (pass-1)/3
				kind = (pass - 1) % 3
			}
			if plane < 0 {
				break // more passes than bit-planes: ignored, as OpenJPEG does
			}
			switch kind {
			case 0:
				b.significancePass(plane)
			case 1:
				b.refinementPass(plane)
			default:
				b.cleanupPass(plane)
			}
			if b.style&styleReset != 0 {
				resetContexts(&b.ctx)
			}
			pass++
		}
	}
	for y := range b.h {
		for x := range b.w {
			i := (y+1)*b.stride + x + 1
			v := int32(b.mag[i])
			if b.flags[i]&fNeg != 0 {
				v = -v
			}
			out[y*outStride+x] = v
		}
	}
	return nil
}

func (b *blockDecoder) bit(cx int) uint8 {
	if b.useRaw {
		return b.raw.decode()
	}
	return b.mq.decode(&b.ctx[cx])
}

// neighbours counts significant horizontal, vertical and diagonal neighbours of
// sample i in row y; in vertically causal mode the row below the stripe is not
// looked at.
func (b *blockDecoder) neighbours(i, y int) (h, v, d int) {
	f, s := b.flags, b.stride
	h = int(f[i-1]&fSig + f[i+1]&fSig)
	v = int(f[i-s] & fSig)
	d = int(f[i-s-1]&fSig + f[i-s+1]&fSig)
	if b.style&styleVCausal == 0 || y%4 != 3 {
		v += int(f[i+s] & fSig)
		d += int(f[i+s-1]&fSig + f[i+s+1]&fSig)
	}
	return h, v, d
}

// zeroContext is the significance context (T.800 table D.1).
func (b *blockDecoder) zeroContext(i, y int) int {
	h, v, d := b.neighbours(i, y)
	switch b.orient {
	case bandHH:
		hv := h + v
		switch {
		case d >= 3:
			return 8
		case d == 2:
			return 6 + min(hv, 1)
		case d == 1:
			return 3 + min(hv, 2)
		}
		return min(hv, 2)
	case bandHL:
		h, v = v, h
	}
	switch {
	case h == 2:
		return 8
	case h == 1 && v >= 1:
		return 7
	case h == 1 && d >= 1:
		return 6
	case h == 1:
		return 5
	case v == 2:
		return 4
	case v == 1:
		return 3
	}
	return min(d, 2)
}

// contribution is +1, −1 or 0 for a significant positive, negative or
// insignificant neighbour.
func contribution(f uint8) int {
	if f&fSig == 0 {
		return 0
	}
	if f&fNeg != 0 {
		return -1
	}
	return 1
}

// decodeSign decodes the sign of sample i in row y (T.800 tables D.2, D.3).
func (b *blockDecoder) decodeSign(i, y int) {
	if b.useRaw { // bypass: the sign is an uncoded bit
		if b.raw.decode() != 0 {
			b.flags[i] |= fNeg
		}
		return
	}
	f, s := b.flags, b.stride
	hc := max(-1, min(1, contribution(f[i-1])+contribution(f[i+1])))
	down := 0
	if b.style&styleVCausal == 0 || y%4 != 3 {
		down = contribution(f[i+s])
	}
	vc := max(-1, min(1, contribution(f[i-s])+down))
	cx, flip := 9, uint8(0)
	switch {
	case hc == 0 && vc == 0:
		cx = 9
	case hc == 0:
		cx = 10
		if vc < 0 {
			flip = 1
		}
	default:
		cx = 12 + hc*vc
		if hc < 0 {
			flip = 1
		}
	}
	if b.bit(cx)^flip != 0 {
		b.flags[i] |= fNeg
	}
}

func (b *blockDecoder) becomeSignificant(i, y, plane int) {
	b.decodeSign(i, y)
	b.flags[i] |= fSig
	b.mag[i] = 3 << plane
}

func (b *blockDecoder) significancePass(plane int) {
	for y0 := 0; y0 < b.h; y0 += 4 {
		for x := range b.w {
			for y := y0; y < min(y0+4, b.h); y++ {
				i := (y+1)*b.stride + x + 1
				if b.flags[i]&fSig != 0 {
					continue
				}
				cx := b.zeroContext(i, y)
				if cx == 0 {
					continue
				}
				b.flags[i] |= fVisited
				if b.bit(cx) != 0 {
					b.becomeSignificant(i, y, plane)
				}
			}
		}
	}
}

func (b *blockDecoder) refinementPass(plane int) {
	for y0 := 0; y0 < b.h; y0 += 4 {
		for x := range b.w {
			for y := y0; y < min(y0+4, b.h); y++ {
				i := (y+1)*b.stride + x + 1
				if b.flags[i]&(fSig|fVisited) != fSig {
					continue
				}
				cx := 16
				if b.flags[i]&fRefined == 0 {
					h, v, d := b.neighbours(i, y)
					cx = 14 + min(h+v+d, 1)
				}
				if b.bit(cx) != 0 {
					b.mag[i] += 1 << plane
				} else {
					b.mag[i] -= 1 << plane
				}
				b.flags[i] |= fRefined
			}
		}
	}
}

func (b *blockDecoder) cleanupPass(plane int) {
	for y0 := 0; y0 < b.h; y0 += 4 {
		for x := range b.w {
			y := y0
			if y0+4 <= b.h && b.runEligible(x, y0) {
				if b.bit(ctxRun) == 0 {
					continue
				}
				k := int(b.bit(ctxUniform))<<1 | int(b.bit(ctxUniform))
				y = y0 + k
				b.becomeSignificant((y+1)*b.stride+x+1, y, plane)
				y++
			}
			for ; y < min(y0+4, b.h); y++ {
				i := (y+1)*b.stride + x + 1
				if b.flags[i]&(fSig|fVisited) != 0 {
					continue
				}
				if b.bit(b.zeroContext(i, y)) != 0 {
					b.becomeSignificant(i, y, plane)
				}
			}
		}
	}
	for i := range b.flags {
		b.flags[i] &^= fVisited
	}
	if b.style&styleSegSym != 0 {
		for range 4 {
			b.bit(ctxUniform)
		}
	}
}

// runEligible reports whether the four samples of a stripe column can be coded
// in run-length mode: none significant or visited, and none with a significant
// neighbour.
func (b *blockDecoder) runEligible(x, y0 int) bool {
	for y := y0; y < y0+4; y++ {
		i := (y+1)*b.stride + x + 1
		if b.flags[i]&(fSig|fVisited) != 0 {
			return false
		}
		if h, v, d := b.neighbours(i, y); h+v+d != 0 {
			return false
		}
	}
	return true
}
