package j2k

// qe is the MQ coder's probability state table (ITU-T T.800 table C.2): Qe,
// next state after an MPS, next state after an LPS, and whether an LPS switches
// the sense of the MPS.
var qe = [47]struct {
	p          uint32
	nmps, nlps uint8
	sw         bool
}{
	{0x5601, 1, 1, true}, {0x3401, 2, 6, false}, {0x1801, 3, 9, false}, {0x0AC1, 4, 12, false},
	{0x0521, 5, 29, false}, {0x0221, 38, 33, false}, {0x5601, 7, 6, true}, {0x5401, 8, 14, false},
	{0x4801, 9, 14, false}, {0x3801, 10, 14, false}, {0x3001, 11, 17, false}, {0x2401, 12, 18, false},
	{0x1C01, 13, 20, false}, {0x1601, 29, 21, false}, {0x5601, 15, 14, true}, {0x5401, 16, 14, false},
	{0x5101, 17, 15, false}, {0x4801, 18, 16, false}, {0x3801, 19, 17, false}, {0x3401, 20, 18, false},
	{0x3001, 21, 19, false}, {0x2801, 22, 19, false}, {0x2401, 23, 20, false}, {0x2201, 24, 21, false},
	{0x1C01, 25, 22, false}, {0x1801, 26, 23, false}, {0x1601, 27, 24, false}, {0x1401, 28, 25, false},
	{0x1201, 29, 26, false}, {0x1101, 30, 27, false}, {0x0AC1, 31, 28, false}, {0x09C1, 32, 29, false},
	{0x08A1, 33, 30, false}, {0x0521, 34, 31, false}, {0x0441, 35, 32, false}, {0x02A1, 36, 33, false},
	{0x0221, 37, 34, false}, {0x0141, 38, 35, false}, {0x0111, 39, 36, false}, {0x0085, 40, 37, false},
	{0x0049, 41, 38, false}, {0x0025, 42, 39, false}, {0x0015, 43, 40, false}, {0x0009, 44, 41, false},
	{0x0005, 45, 42, false}, {0x0001, 45, 43, false}, {0x5601, 46, 46, false},
}

// Contexts of the block coder (T.800 D.3): 0–8 significance, 9–13 sign,
// 14–16 magnitude refinement, 17 run length, 18 uniform.
const (
	ctxRun     = 17
	ctxUniform = 18
	nCtx       = 19
)

// context is the adaptive state of one MQ context.
type context struct {
	state uint8
	mps   uint8
}

func resetContexts(c *[nCtx]context) {
	*c = [nCtx]context{}
	c[0].state = 4
	c[ctxRun].state = 3
	c[ctxUniform].state = 46
}

// mqDecoder is the MQ arithmetic decoder (T.800 C.3), reading data that the
// caller has terminated with 0xFF 0xFF.
type mqDecoder struct {
	data []byte
	bp   int
	a, c uint32
	ct   int
}

func (m *mqDecoder) init(data []byte) {
	m.data, m.bp = data, 0
	m.c = uint32(data[0]) << 16
	m.byteIn()
	m.c <<= 7
	m.ct -= 7
	m.a = 0x8000
}

func (m *mqDecoder) byteIn() {
	if m.data[m.bp] == 0xFF {
		if m.bp+1 >= len(m.data) || m.data[m.bp+1] > 0x8F {
			m.c += 0xFF00 // a marker: feed ones
			m.ct = 8
			return
		}
		m.bp++
		m.c += uint32(m.data[m.bp]) << 9
		m.ct = 7
		return
	}
	if m.bp+1 < len(m.data) {
		m.bp++
	}
	m.c += uint32(m.data[m.bp]) << 8
	m.ct = 8
}

func (m *mqDecoder) decode(cx *context) uint8 {
	s := &qe[cx.state]
	m.a -= s.p
	var d uint8
	if m.c>>16 < s.p {
		// LPS exchange
		if m.a < s.p {
			m.a = s.p
			d = cx.mps
			cx.state = s.nmps
		} else {
			m.a = s.p
			d = 1 - cx.mps
			if s.sw {
				cx.mps = 1 - cx.mps
			}
			cx.state = s.nlps
		}
		m.renorm()
		return d
	}
	m.c -= s.p << 16
	if m.a&0x8000 != 0 {
		return cx.mps
	}
	// MPS exchange
	if m.a < s.p {
		d = 1 - cx.mps
		if s.sw {
			cx.mps = 1 - cx.mps
		}
		cx.state = s.nlps
	} else {
		d = cx.mps
		cx.state = s.nmps
	}
	m.renorm()
	return d
}

func (m *mqDecoder) renorm() {
	for {
		if m.ct == 0 {
			m.byteIn()
		}
		m.a <<= 1
		m.c <<= 1
		m.ct--
		if m.a&0x8000 != 0 {
			return
		}
	}
}

// rawDecoder reads the uncoded bits of bypass passes (T.800 D.6).
type rawDecoder struct {
	data []byte
	bp   int
	c    uint32
	ct   int
}

func (r *rawDecoder) init(data []byte) { *r = rawDecoder{data: data} }

func (r *rawDecoder) decode() uint8 {
	if r.ct == 0 {
		next := byte(0xFF)
		if r.bp < len(r.data) {
			next = r.data[r.bp]
		}
		switch {
		case r.c == 0xFF && next > 0x8F:
			r.c, r.ct = 0xFF, 8
		case r.c == 0xFF:
			r.c, r.ct = uint32(next), 7
			r.bp++
		default:
			r.c, r.ct = uint32(next), 8
			r.bp++
		}
	}
	r.ct--
	return uint8(r.c>>r.ct) & 1
}
