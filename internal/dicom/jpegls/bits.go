package jpegls

// bitReader reads JPEG-LS coded bits: after a 0xFF byte the next byte carries only
// seven bits (T.87 A.1). A 0xFF followed by a byte with its high bit set is a
// marker; there, and at the end of data, the reader supplies zero bits.
type bitReader struct {
	src    []byte
	pos    int
	acc    uint64
	n      uint
	prevFF bool
	stop   bool
}

func (b *bitReader) fill() {
	for b.n <= 56 {
		if b.stop || b.pos >= len(b.src) {
			b.stop = true
			b.acc <<= 8
			b.n += 8
			continue
		}
		c := b.src[b.pos]
		if c == 0xFF && (b.pos+1 >= len(b.src) || b.src[b.pos+1]&0x80 != 0) {
			b.stop = true
			continue
		}
		b.pos++
		if b.prevFF {
			b.acc = b.acc<<7 | uint64(c&0x7F)
			b.n += 7
		} else {
			b.acc = b.acc<<8 | uint64(c)
			b.n += 8
		}
		b.prevFF = c == 0xFF
	}
}

func (b *bitReader) bit() uint32 {
	if b.n == 0 {
		b.fill()
	}
	b.n--
	return uint32(b.acc>>b.n) & 1
}

func (b *bitReader) bits(n int) uint32 {
	if n == 0 {
		return 0
	}
	if b.n < uint(n) {
		b.fill()
	}
	b.n -= uint(n)
	return uint32(b.acc>>b.n) & (1<<n - 1)
}

// skipToMarker moves past any padding to the marker that ends the scan.
func (b *bitReader) skipToMarker() {
	for b.pos+1 < len(b.src) && !(b.src[b.pos] == 0xFF && b.src[b.pos+1]&0x80 != 0) {
		b.pos++
	}
}
