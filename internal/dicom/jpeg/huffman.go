package jpeg

import "fmt"

const lookBits = 9

// huffman is a decoding table built from a DHT segment.
type huffman struct {
	look    [1 << lookBits]uint16 // code length << 8 | value, 0 when longer than lookBits
	maxcode [18]int32             // largest code of each length, -1 if none
	valptr  [17]int32             // index in vals of the first code of each length
	mincode [17]int32
	vals    []byte
}

// newHuffman builds a table from the 16 code-length counts and the values. It
// returns the number of value bytes used.
func newHuffman(counts, rest []byte) (*huffman, int, error) {
	h := &huffman{}
	total := 0
	for _, c := range counts {
		total += int(c)
	}
	if total == 0 || total > 256 || total > len(rest) {
		return nil, 0, fmt.Errorf("%w: Huffman table with %d codes", ErrInvalid, total)
	}
	h.vals = rest[:total:total]
	code, k := int32(0), 0
	for l := 1; l <= 16; l++ {
		n := int(counts[l-1])
		h.valptr[l] = int32(k)
		h.mincode[l] = code
		for range n {
			if code >= 1<<l {
				return nil, 0, fmt.Errorf("%w: over-subscribed Huffman table", ErrInvalid)
			}
			if l <= lookBits {
				shift := lookBits - l
				for j := range 1 << shift {
					h.look[int(code)<<shift|j] = uint16(l)<<8 | uint16(h.vals[k])
				}
			}
			code++
			k++
		}
		if n > 0 {
			h.maxcode[l] = code - 1
		} else {
			h.maxcode[l] = -1
		}
		code <<= 1
	}
	h.maxcode[17] = 0x7FFFFFFF
	return h, total, nil
}

// bitReader reads entropy-coded bits, removing stuffed zero bytes. At a marker or
// at the end of data it supplies zero bits, as libjpeg does, and never advances
// past the marker.
type bitReader struct {
	src  []byte
	pos  int
	acc  uint64
	n    uint
	stop bool // reached a marker or the end
}

func (b *bitReader) fill() {
	for b.n <= 56 {
		if b.stop || b.pos >= len(b.src) {
			b.stop = true
			b.n += 8 // zero byte
			b.acc <<= 8
			continue
		}
		c := b.src[b.pos]
		if c == 0xFF {
			if b.pos+1 < len(b.src) && b.src[b.pos+1] == 0 {
				b.pos += 2
			} else {
				b.stop = true
				continue
			}
		} else {
			b.pos++
		}
		b.acc = b.acc<<8 | uint64(c)
		b.n += 8
	}
}

func (b *bitReader) peek(n uint) uint32 {
	if b.n < n {
		b.fill()
	}
	return uint32(b.acc>>(b.n-n)) & (1<<n - 1)
}

func (b *bitReader) skip(n uint) { b.n -= n }

func (b *bitReader) bits(n uint) uint32 {
	if n == 0 {
		return 0
	}
	v := b.peek(n)
	b.n -= n
	return v
}

// decode reads one Huffman-coded value.
func (b *bitReader) decode(h *huffman) (byte, error) {
	if h == nil {
		return 0, fmt.Errorf("%w: missing Huffman table", ErrInvalid)
	}
	if e := h.look[b.peek(lookBits)]; e != 0 {
		b.skip(uint(e >> 8))
		return byte(e), nil
	}
	code := int32(b.peek(lookBits + 1))
	for l := lookBits + 1; l <= 16; l++ {
		if code <= h.maxcode[l] && h.maxcode[l] >= 0 && code >= h.mincode[l] {
			b.skip(uint(l))
			i := h.valptr[l] + code - h.mincode[l]
			if int(i) >= len(h.vals) {
				break
			}
			return h.vals[i], nil
		}
		if l < 16 {
			code = int32(b.peek(uint(l + 1)))
		}
	}
	return 0, fmt.Errorf("%w: bad Huffman code", ErrInvalid)
}

// receiveExtend reads s bits and sign-extends them as a JPEG difference (F.2.2.1).
func (b *bitReader) receiveExtend(s int) int32 {
	if s == 0 {
		return 0
	}
	v := int32(b.bits(uint(s)))
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

// restart consumes an RSTn marker at the end of a restart interval and resets
// the bit buffer.
func (b *bitReader) restart() error {
	b.acc, b.n, b.stop = 0, 0, false
	for b.pos+1 < len(b.src) {
		if b.src[b.pos] != 0xFF {
			b.pos++ // resynchronise on damaged data
			continue
		}
		m := b.src[b.pos+1]
		switch {
		case m >= 0xD0 && m <= 0xD7:
			b.pos += 2
			return nil
		case m == 0xFF:
			b.pos++
		case m == 0:
			b.pos += 2
		default:
			return fmt.Errorf("%w: expected RST marker, found %02X", ErrInvalid, m)
		}
	}
	return fmt.Errorf("%w: missing RST marker", ErrInvalid)
}
