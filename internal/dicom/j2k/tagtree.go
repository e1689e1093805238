package j2k

import "fmt"

// tagTree is a T.800 B.10.2 tag tree over w×h leaves.
type tagTree struct {
	nodes  []tagNode
	leaves int
}

type tagNode struct {
	parent int // −1 at the root
	value  int
	low    int
}

func newTagTree(w, h int) *tagTree {
	t := &tagTree{leaves: w * h}
	type level struct{ w, h, start int }
	var levels []level
	for start := 0; ; {
		levels = append(levels, level{w, h, start})
		start += w * h
		if w*h == 1 {
			break
		}
		w, h = (w+1)/2, (h+1)/2
	}
	last := levels[len(levels)-1]
	t.nodes = make([]tagNode, last.start+1)
	for li, l := range levels {
		for y := range l.h {
			for x := range l.w {
				n := &t.nodes[l.start+y*l.w+x]
				n.value, n.parent = 1<<30, -1
				if li+1 < len(levels) {
					p := levels[li+1]
					n.parent = p.start + (y/2)*p.w + x/2
				}
			}
		}
	}
	return t
}

// decode reports whether leaf's value is below threshold, reading bits as
// needed (OpenJPEG's opj_tgt_decode).
func (t *tagTree) decode(br *bitReader, leaf, threshold int) (bool, error) {
	var stack [32]int
	sp := 0
	n := leaf
	for t.nodes[n].parent >= 0 {
		if sp == len(stack) {
			return false, fmt.Errorf("%w: tag tree too deep", ErrInvalid)
		}
		stack[sp] = n
		sp++
		n = t.nodes[n].parent
	}
	low := 0
	for {
		node := &t.nodes[n]
		if low > node.low {
			node.low = low
		} else {
			low = node.low
		}
		for low < threshold && low < node.value {
			bit, err := br.bit()
			if err != nil {
				return false, err
			}
			if bit != 0 {
				node.value = low
			} else {
				low++
			}
		}
		node.low = low
		if sp == 0 {
			break
		}
		sp--
		n = stack[sp]
	}
	return t.nodes[n].value < threshold, nil
}

// bitReader reads packet headers: after a 0xFF byte, the next byte holds only
// seven bits (T.800 B.10.1).
type bitReader struct {
	data []byte
	pos  int
	buf  uint32
	ct   int
}

func (b *bitReader) bit() (uint32, error) {
	if b.ct == 0 {
		if b.pos >= len(b.data) {
			return 0, fmt.Errorf("%w: packet header past the end of the tile", ErrInvalid)
		}
		if b.buf == 0xFF {
			b.ct = 7
		} else {
			b.ct = 8
		}
		b.buf = uint32(b.data[b.pos])
		b.pos++
	}
	b.ct--
	return b.buf >> b.ct & 1, nil
}

func (b *bitReader) bits(n int) (int, error) {
	v := 0
	for range n {
		bit, err := b.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | int(bit)
	}
	return v, nil
}

// align ends a packet header: skip to the next byte, and past the stuffed
// byte that follows a 0xFF.
func (b *bitReader) align() {
	b.ct = 0
	if b.buf == 0xFF && b.pos < len(b.data) {
		b.pos++
	}
	b.buf = 0
}
