package j2k

import (
	"fmt"
	"math"
	"math/bits"
)

// High-Throughput JPEG 2000 (ITU-T T.814 | ISO/IEC 15444-15) keeps the
// codestream, packets and wavelet of part 1 and replaces the block coder: a
// code-block has a cleanup pass that codes every magnitude bit down to one
// bit-plane, and optionally a significance propagation and a magnitude
// refinement pass for the plane below it. The cleanup segment holds three
// bitstreams: MagSgn growing forward from its start, MEL growing forward from
// the start of its last Scup bytes, and VLC growing backward from its end.

// Code-block style flags of part 15.
const (
	styleHT      = 0x40 // every code-block is HT coded
	styleHTMixed = 0x80 // code-blocks may be either: not decoded here
)

// vlcEntry is a decoded VLC codeword: length, u_off, rho, e_1 and e_k, packed
// as in htTables.
type vlcEntry uint16

func (e vlcEntry) length() uint { return uint(e & 7) }
func (e vlcEntry) uoff() bool   { return e&8 != 0 }
func (e vlcEntry) rho() uint32  { return uint32(e>>4) & 15 }
func (e vlcEntry) e1() uint32   { return uint32(e>>8) & 15 }
func (e vlcEntry) ek() uint32   { return uint32(e>>12) & 15 }
func (e vlcEntry) valid() bool  { return e&7 != 0 }
func packVLC(c vlcCode) vlcEntry {
	return vlcEntry(c.length) | vlcEntry(c.uoff)<<3 | vlcEntry(c.rho)<<4 | vlcEntry(c.e1)<<8 | vlcEntry(c.ek)<<12
}

// htTables maps context·128 + the next seven VLC bits to a codeword, for the
// first row of quads and for the others.
var htTables = func() (t [2][8 << 7]vlcEntry) {
	for k, codes := range [][]vlcCode{vlcInitial, vlcLater} {
		for _, c := range codes {
			for rest := 0; rest < 1<<(7-c.length); rest++ {
				t[k][int(c.cq)<<7|rest<<c.length|int(c.cwd)] = packVLC(c)
			}
		}
	}
	return t
}()

// melExp is the MEL coder's exponent for each of its 13 states.
var melExp = [13]int{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5}

// melDecoder reads the MEL bitstream (most significant bit first; after a 0xFF
// byte the next byte has only 7 bits) and decodes its run-length events.
type melDecoder struct {
	data    []byte
	pos     int
	cur     uint32 // bits of the current byte not yet read
	n       int    // how many
	afterFF bool
	k       int
	zeros   int  // zero events still to give
	one     bool // a one event follows them
}

func (m *melDecoder) bit() uint32 {
	if m.n == 0 {
		b := byte(0xFF) // past its end the MEL stream reads as ones
		if m.pos < len(m.data) {
			b = m.data[m.pos]
			if m.pos == len(m.data)-1 {
				b |= 0x0F // the last byte is shared with the VLC stream
			}
			m.pos++
		}
		m.n = 8
		if m.afterFF {
			m.n = 7
		}
		m.cur, m.afterFF = uint32(b)&(1<<m.n-1), b == 0xFF
	}
	m.n--
	return m.cur >> m.n & 1
}

// event returns the next MEL event, 0 or 1.
func (m *melDecoder) event() uint32 {
	for {
		switch {
		case m.zeros > 0:
			m.zeros--
			return 0
		case m.one:
			m.one = false
			return 1
		}
		e := melExp[m.k]
		if m.bit() == 1 {
			m.zeros = 1 << e
			m.k = min(m.k+1, 12)
			continue
		}
		r := 0
		for range e {
			r = r<<1 | int(m.bit())
		}
		m.zeros, m.one = r, true
		m.k = max(m.k-1, 0)
	}
}

// bitReader32 accumulates bits least significant first for the VLC, MagSgn,
// SigProp and MagRef streams.
type bitReader32 struct {
	acc  uint64
	n    uint
	fill func() (b byte, bits uint) // the next byte and how many of its bits count
}

func (r *bitReader32) need(n uint) {
	for r.n < n {
		b, k := r.fill()
		r.acc |= uint64(b) & (1<<k - 1) << r.n
		r.n += k
	}
}

func (r *bitReader32) peek(n uint) uint32 {
	r.need(n)
	return uint32(r.acc & (1<<n - 1))
}

func (r *bitReader32) skip(n uint) {
	r.need(n)
	r.acc >>= n
	r.n -= n
}

func (r *bitReader32) read(n uint) uint32 {
	v := r.peek(n)
	r.skip(n)
	return v
}

// forwardReader reads a stream forward; after 0xFF a byte has 7 bits. Past
// the end it reads pad bytes.
func forwardReader(data []byte, pad byte) *bitReader32 {
	pos, afterFF := 0, false
	return &bitReader32{fill: func() (byte, uint) {
		b := pad
		if pos < len(data) {
			b = data[pos]
			pos++
		}
		k := uint(8)
		if afterFF {
			k = 7
		}
		afterFF = b == 0xFF
		return b, k
	}}
}

// reverseReader reads a stream backward from its last byte; a byte after one
// above 0x8F loses its top bit if it is 0x7F or 0xFF. Past the start it
// reads zeros.
func reverseReader(data []byte, unstuff bool) *bitReader32 {
	pos := len(data) - 1
	return &bitReader32{fill: func() (byte, uint) {
		var b byte
		if pos >= 0 {
			b = data[pos]
			pos--
		}
		k := uint(8)
		if unstuff && b&0x7F == 0x7F {
			k = 7
		}
		unstuff = b > 0x8F
		return b, k
	}}
}

// vlcReader reads the VLC stream backward from the end of seg, the MEL and VLC
// part of the cleanup segment. Its last byte and the low nibble of the one
// before hold Scup; the stream starts with that byte's high nibble.
func vlcReader(seg []byte) *bitReader32 {
	first := seg[len(seg)-2]
	r := reverseReader(seg[:len(seg)-2], first|0x0F > 0x8F)
	nibble := first >> 4
	k := uint(4)
	if nibble&7 == 7 {
		k = 3
	}
	r.acc, r.n = uint64(nibble)&(1<<k-1), k
	return r
}

// uvlcPrefix decodes a u prefix (T.814 table 3).
func uvlcPrefix(r *bitReader32) uint32 {
	b := r.peek(3)
	switch {
	case b&1 != 0:
		r.skip(1)
		return 1
	case b&2 != 0:
		r.skip(2)
		return 2
	case b&4 != 0:
		r.skip(3)
		return 3
	}
	r.skip(3)
	return 5
}

// uvlcSuffix decodes the suffix that follows prefix p.
func uvlcSuffix(r *bitReader32, p uint32) uint32 {
	switch p {
	case 3:
		return r.read(1)
	case 5:
		return r.read(5)
	}
	return 0
}

// quad is what the VLC and UVLC streams say about a 2×2 quad.
type quad struct {
	rho, e1, ek uint32
	uoff        bool
	u           uint32
}

// htBlock decodes one HT code-block.
type htBlock struct {
	w, h   int
	causal bool
	mag    []int32 // signed coefficients, half units, row-major w×h
	sig    []bool  // significant after the cleanup pass
}

// decodeHT decodes an HT code-block of w×h samples whose cleanup pass codes
// down to bit-plane numbps−1 of a band with kmax magnitude bit-planes, and
// writes its coefficients (signed, one fractional bit) to out.
func decodeHT(segs []segment, numbps, kmax, w, h int, causal bool, out []int32, outStride int) error {
	if len(segs) == 0 || segs[0].passes == 0 {
		return nil
	}
	passes := segs[0].passes
	var ref []byte
	if len(segs) > 1 {
		passes += segs[1].passes
		ref = segs[1].data
	}
	if passes > 3 || len(segs) > 2 {
		return fmt.Errorf("%w: HT code-block with %d coding passes", ErrUnsupported, passes)
	}
	p := numbps - 1 // the cleanup pass's bit-plane
	if p < 0 {
		return fmt.Errorf("%w: HT code-block with %d bit-planes", ErrInvalid, numbps)
	}
	b := &htBlock{w: w, h: h, causal: causal, mag: make([]int32, w*h), sig: make([]bool, w*h)}
	if err := b.cleanup(segs[0].data, p, kmax-p+1); err != nil {
		return err
	}
	if passes > 1 && p > 0 {
		b.sigProp(ref, p-1)
		if passes > 2 {
			b.magRef(ref, p-1)
		}
	}
	for y := range h {
		copy(out[y*outStride:y*outStride+w], b.mag[y*w:(y+1)*w])
	}
	return nil
}

// cleanup decodes the cleanup pass at bit-plane p. maxU bounds the number of
// magnitude bits a quad may announce.
func (b *htBlock) cleanup(seg []byte, p, maxU int) error {
	if len(seg) < 2 {
		return fmt.Errorf("%w: HT cleanup segment of %d bytes", ErrInvalid, len(seg))
	}
	lcup := len(seg)
	scup := int(seg[lcup-1])<<4 | int(seg[lcup-2]&15)
	if scup < 2 || scup > lcup || scup > 4079 {
		return fmt.Errorf("%w: HT MEL and VLC length %d of %d", ErrInvalid, scup, lcup)
	}
	mel := &melDecoder{data: seg[lcup-scup : lcup-1]}
	vlc := vlcReader(seg[lcup-scup:])
	ms := forwardReader(seg[:lcup-scup], 0xFF)
	qw, qh := (b.w+1)/2, (b.h+1)/2
	row, above := make([]quad, qw), make([]quad, qw)
	vAbove, vBelow := make([]uint32, b.w), make([]uint32, b.w)
	for qy := range qh {
		initial := qy == 0
		if err := b.vlcRow(row, above, initial, mel, vlc); err != nil {
			return err
		}
		clear(vBelow)
		for qx := range qw {
			q := &row[qx]
			kappa := uint32(1)
			if !initial && bits.OnesCount32(q.rho) > 1 {
				var vmax uint32
				for x := 2*qx - 1; x <= 2*qx+2; x++ {
					if x >= 0 && x < b.w {
						vmax |= vAbove[x]
					}
				}
				kappa = uint32(bits.Len32(vmax|2) - 1)
			}
			u := q.u + kappa
			if int(u) > maxU || u > 30 {
				return fmt.Errorf("%w: HT quad with %d magnitude bits", ErrInvalid, u)
			}
			for i := range 4 {
				if q.rho>>i&1 == 0 {
					continue
				}
				x, y := 2*qx+i/2, 2*qy+i%2
				if x >= b.w {
					continue // no sample: nothing was coded for it
				}
				m := u - q.ek>>i&1
				if m == 0 {
					return fmt.Errorf("%w: HT sample without MagSgn bits", ErrInvalid)
				}
				v := ms.read(uint(m))
				neg := v&1 != 0
				v |= (q.e1>>i&1)<<m | 1
				mag := uint64(v+2) << p
				if mag > math.MaxInt32 {
					return fmt.Errorf("%w: HT magnitude beyond 31 bits", ErrInvalid)
				}
				if y >= b.h {
					continue
				}
				k := y*b.w + x
				b.mag[k], b.sig[k] = int32(mag), true
				if neg {
					b.mag[k] = -b.mag[k]
				}
				if i%2 == 1 {
					vBelow[x] = v
				}
			}
		}
		row, above = above, row
		vAbove, vBelow = vBelow, vAbove
	}
	return nil
}

// vlcRow decodes the significance patterns, EMB patterns and u values of one
// row of quads, a pair at a time.
func (b *htBlock) vlcRow(row, above []quad, initial bool, mel *melDecoder, vlc *bitReader32) error {
	table := &htTables[1]
	if initial {
		table = &htTables[0]
	}
	rhoAt := func(qs []quad, i int) uint32 {
		if i < 0 || i >= len(qs) {
			return 0
		}
		return qs[i].rho
	}
	for qx := 0; qx < len(row); qx += 2 {
		for q := qx; q < min(qx+2, len(row)); q++ {
			var c uint32
			left := rhoAt(row, q-1)
			if initial {
				c = (left|left>>1)&1 | left>>2&1<<1 | left>>3&1<<2
			} else {
				c = (rhoAt(above, q-1)>>3|rhoAt(above, q)>>1)&1 |
					(left>>2|left>>3)&1<<1 |
					(rhoAt(above, q)>>3|rhoAt(above, q+1)>>1)&1<<2
			}
			row[q] = quad{}
			if c == 0 && mel.event() == 0 {
				continue // an insignificant quad, coded by the MEL alone
			}
			e := table[c<<7|vlc.peek(7)]
			if !e.valid() {
				return fmt.Errorf("%w: HT VLC codeword", ErrInvalid)
			}
			vlc.skip(e.length())
			row[q] = quad{rho: e.rho(), e1: e.e1(), ek: e.ek(), uoff: e.uoff()}
		}
		q0 := &row[qx]
		q1 := &quad{}
		if qx+1 < len(row) {
			q1 = &row[qx+1]
		}
		b.uvlc(q0, q1, initial, mel, vlc)
	}
	return nil
}

// uvlc decodes the u values of a pair of quads (T.814 7.3.6).
func (b *htBlock) uvlc(q0, q1 *quad, initial bool, mel *melDecoder, vlc *bitReader32) {
	switch {
	case q0.uoff && q1.uoff:
		if initial && mel.event() == 1 {
			p0, p1 := uvlcPrefix(vlc), uvlcPrefix(vlc)
			q0.u = 2 + p0 + uvlcSuffix(vlc, p0)
			q1.u = 2 + p1 + uvlcSuffix(vlc, p1)
			return
		}
		p0 := uvlcPrefix(vlc)
		if initial && p0 > 2 {
			q1.u = 1 + vlc.read(1)
			q0.u = p0 + uvlcSuffix(vlc, p0)
			return
		}
		p1 := uvlcPrefix(vlc)
		q0.u = p0 + uvlcSuffix(vlc, p0)
		q1.u = p1 + uvlcSuffix(vlc, p1)
	case q0.uoff:
		p0 := uvlcPrefix(vlc)
		q0.u = p0 + uvlcSuffix(vlc, p0)
	case q1.uoff:
		p1 := uvlcPrefix(vlc)
		q1.u = p1 + uvlcSuffix(vlc, p1)
	}
}

// significant reports whether sample (x, y) is significant, outside the block
// being insignificant.
func (b *htBlock) significant(x, y int, newSig []bool) bool {
	if x < 0 || y < 0 || x >= b.w || y >= b.h {
		return false
	}
	k := y*b.w + x
	return b.sig[k] || newSig[k]
}

// sigProp decodes the significance propagation pass at bit-plane q. Within a
// stripe of four rows, each group of four columns codes first whether each
// candidate becomes significant, then the signs of those that did.
func (b *htBlock) sigProp(ref []byte, q int) {
	r := forwardReader(ref, 0)
	newSig := make([]bool, b.w*b.h)
	var found []int
	for y0 := 0; y0 < b.h; y0 += 4 {
		y1 := min(y0+4, b.h)
		for x0 := 0; x0 < b.w; x0 += 4 {
			found = found[:0]
			for x := x0; x < min(x0+4, b.w); x++ {
				for y := y0; y < y1; y++ {
					k := y*b.w + x
					if b.sig[k] || !b.hasSignificantNeighbour(x, y, y0, newSig) {
						continue
					}
					if r.read(1) == 1 {
						newSig[k] = true
						found = append(found, k)
					}
				}
			}
			for _, k := range found {
				b.mag[k] = 3 << q
				if r.read(1) == 1 {
					b.mag[k] = -b.mag[k]
				}
			}
		}
	}
}

// hasSignificantNeighbour looks at the eight neighbours of (x, y) in the stripe
// starting at row y0; in vertically causal mode the row below the stripe does
// not count.
func (b *htBlock) hasSignificantNeighbour(x, y, y0 int, newSig []bool) bool {
	for dy := -1; dy <= 1; dy++ {
		if dy == 1 && b.causal && y+1 == y0+4 {
			continue
		}
		for dx := -1; dx <= 1; dx++ {
			if (dx != 0 || dy != 0) && b.significant(x+dx, y+dy, newSig) {
				return true
			}
		}
	}
	return false
}

// magRef decodes the magnitude refinement pass at bit-plane q: one bit for each
// sample the cleanup pass made significant, read backward from the end of the
// refinement segment.
func (b *htBlock) magRef(ref []byte, q int) {
	r := reverseReader(ref, true)
	for y0 := 0; y0 < b.h; y0 += 4 {
		for x := range b.w {
			for y := y0; y < min(y0+4, b.h); y++ {
				k := y*b.w + x
				if !b.sig[k] {
					continue
				}
				d := int32(-1) << q // the bit is 0: the lower half
				if r.read(1) == 1 {
					d = 1 << q
				}
				if b.mag[k] < 0 {
					d = -d
				}
				b.mag[k] += d
			}
		}
	}
}
