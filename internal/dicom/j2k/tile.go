package j2k

import "fmt"

// rect is a half-open rectangle [x0,x1)×[y0,y1).
type rect struct{ x0, y0, x1, y1 int }

func (r rect) w() int { return r.x1 - r.x0 }
func (r rect) h() int { return r.y1 - r.y0 }

func ceilDiv(a, b int) int { return -floorDiv(-a, b) }
func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// codeblock is one code-block and what the packets said about it.
type codeblock struct {
	r        rect
	included bool
	numbps   int // coded bit-planes
	lblock   int
	segs     []segment
	maxPass  int // passes a segment may hold, for the current segment
	passes   int // total passes so far
}

// precinct holds the code-blocks of one band inside one precinct.
type precinct struct {
	cbw, cbh int
	blocks   []codeblock
	incl     *tagTree
	zbp      *tagTree
}

type band struct {
	orient   int
	r        rect
	numbps   int     // Mb: magnitude bit-planes (T.800 E-2)
	step     float64 // quantization step (irreversible only)
	coef     []int32 // decoded coefficients with one fractional bit
	precinct []precinct
}

type resolution struct {
	r      rect
	pw, ph int // precincts across and down
	ppx    int
	ppy    int
	bands  []*band
}

type tileComp struct {
	r   rect
	cs  codingStyle
	res []*resolution
}

// decodeTile decodes tile t from its packet data.
func (d *decoder) decodeTile(t, ntx int, h *header, data []byte) error {
	p, q := t%ntx, t/ntx
	tr := rect{
		max(h.tx0+p*h.tw, h.x0), max(h.ty0+q*h.th, h.y0),
		min(h.tx0+(p+1)*h.tw, h.x1), min(h.ty0+(q+1)*h.th, h.y1),
	}
	if tr.w() <= 0 || tr.h() <= 0 {
		return fmt.Errorf("%w: empty tile", ErrInvalid)
	}
	tcs := make([]*tileComp, len(h.comps))
	for c := range h.comps {
		tc, err := newTileComp(tr, h.cod[c], h.qcd[c], h.comps[c])
		if err != nil {
			return err
		}
		tcs[c] = tc
	}
	if err := readPackets(h, tr, tcs, data); err != nil {
		return err
	}
	planes := make([][]float64, len(tcs))
	ints := make([][]int32, len(tcs))
	for c, tc := range tcs {
		if err := tc.decodeBlocks(); err != nil {
			return err
		}
		if tc.cs.reversible {
			ints[c] = tc.inverse53()
		} else {
			planes[c] = tc.inverse97()
		}
		tc.res = nil // its coefficients are in the planes now
	}
	d.store(h, tr, tcs, ints, planes)
	return nil
}

// maxBlocks caps the code-blocks of one tile-component. Real images have a few
// thousand; a hostile header with tiny precincts could otherwise ask for one
// per sample before any data is read.
const maxBlocks = 1 << 21

// newTileComp lays out resolutions, bands, precincts and code-blocks (T.800 B).
func newTileComp(tr rect, cs codingStyle, qs quantization, ci compInfo) (*tileComp, error) {
	tc := &tileComp{r: tr, cs: cs}
	blocks := 0
	nl := cs.levels
	nb := 1 + 3*nl
	if qs.style != 1 && len(qs.exps) < nb {
		return nil, fmt.Errorf("%w: %d quantization values for %d bands", ErrInvalid, len(qs.exps), nb)
	}
	bandIndex := 0
	for r := 0; r <= nl; r++ {
		scale := 1 << (nl - r)
		res := &resolution{r: rect{ceilDiv(tr.x0, scale), ceilDiv(tr.y0, scale), ceilDiv(tr.x1, scale), ceilDiv(tr.y1, scale)}}
		res.ppx, res.ppy = cs.ppx[r], cs.ppy[r]
		if res.r.w() > 0 {
			res.pw = ceilDiv(res.r.x1, 1<<res.ppx) - floorDiv(res.r.x0, 1<<res.ppx)
		}
		if res.r.h() > 0 {
			res.ph = ceilDiv(res.r.y1, 1<<res.ppy) - floorDiv(res.r.y0, 1<<res.ppy)
		}
		// Precincts count against the same budget as code-blocks.
		if blocks += res.pw * res.ph * 3; res.pw > maxBlocks || res.ph > maxBlocks || blocks > maxBlocks {
			return nil, fmt.Errorf("%w: more than %d precincts in a tile-component", ErrUnsupported, maxBlocks)
		}
		orients := []int{bandLL}
		if r > 0 {
			orients = []int{bandHL, bandLH, bandHH}
		}
		for _, o := range orients {
			b := &band{orient: o}
			lvl := nl - r + 1 // decomposition level of the band
			if r == 0 {
				lvl = nl
			}
			xo, yo := 0, 0
			if o == bandHL || o == bandHH {
				xo = 1
			}
			if o == bandLH || o == bandHH {
				yo = 1
			}
			if r == 0 {
				b.r = res.r
			} else {
				s := 1 << lvl
				h := s / 2
				b.r = rect{ceilDiv(tr.x0-h*xo, s), ceilDiv(tr.y0-h*yo, s), ceilDiv(tr.x1-h*xo, s), ceilDiv(tr.y1-h*yo, s)}
			}
			exp, mant := 0, 0
			switch {
			case qs.style == 1: // derived from the LL values
				exp, mant = qs.exps[0]-nl+lvl, qs.mants[0]
				if r == 0 {
					exp = qs.exps[0]
				}
			default:
				exp, mant = qs.exps[bandIndex], qs.mants[bandIndex]
			}
			bandIndex++
			gain := map[int]int{bandLL: 0, bandHL: 1, bandLH: 1, bandHH: 2}[o]
			b.numbps = qs.guard + exp - 1
			if b.numbps > 30 {
				return nil, fmt.Errorf("%w: %d bit-planes", ErrUnsupported, b.numbps)
			}
			rb := ci.precision + gain
			b.step = (1 + float64(mant)/2048) * pow2(rb-exp)
			// b.coef is allocated when its blocks are decoded, one component
			// at a time, and dropped once the component is transformed.
			if err := b.layout(res, r, cs, &blocks); err != nil {
				return nil, err
			}
			res.bands = append(res.bands, b)
		}
		tc.res = append(tc.res, res)
	}
	return tc, nil
}

func pow2(e int) float64 {
	v := 1.0
	for ; e > 0; e-- {
		v *= 2
	}
	for ; e < 0; e++ {
		v /= 2
	}
	return v
}

// layout creates the band's precincts and their code-blocks, counting them in
// *blocks.
func (b *band) layout(res *resolution, r int, cs codingStyle, blocks *int) error {
	ppx, ppy := res.ppx, res.ppy
	if r > 0 {
		ppx, ppy = ppx-1, ppy-1
	}
	xcb, ycb := min(cs.xcb, ppx), min(cs.ycb, ppy)
	// Precinct origins on the band grid.
	px0 := floorDiv(res.r.x0, 1<<res.ppx) << ppx
	py0 := floorDiv(res.r.y0, 1<<res.ppy) << ppy
	b.precinct = make([]precinct, res.pw*res.ph)
	for j := range res.ph {
		for i := range res.pw {
			pr := rect{
				max(px0+i<<ppx, b.r.x0), max(py0+j<<ppy, b.r.y0),
				min(px0+(i+1)<<ppx, b.r.x1), min(py0+(j+1)<<ppy, b.r.y1),
			}
			p := &b.precinct[j*res.pw+i]
			if pr.w() <= 0 || pr.h() <= 0 {
				continue
			}
			p.cbw = ceilDiv(pr.x1, 1<<xcb) - floorDiv(pr.x0, 1<<xcb)
			p.cbh = ceilDiv(pr.y1, 1<<ycb) - floorDiv(pr.y0, 1<<ycb)
			if *blocks += p.cbw * p.cbh; *blocks > maxBlocks {
				return fmt.Errorf("%w: more than %d code-blocks in a tile-component", ErrUnsupported, maxBlocks)
			}
			cx0, cy0 := floorDiv(pr.x0, 1<<xcb)<<xcb, floorDiv(pr.y0, 1<<ycb)<<ycb
			p.blocks = make([]codeblock, p.cbw*p.cbh)
			for y := range p.cbh {
				for x := range p.cbw {
					p.blocks[y*p.cbw+x].r = rect{
						max(cx0+x<<xcb, pr.x0), max(cy0+y<<ycb, pr.y0),
						min(cx0+(x+1)<<xcb, pr.x1), min(cy0+(y+1)<<ycb, pr.y1),
					}
				}
			}
			p.incl, p.zbp = newTagTree(p.cbw, p.cbh), newTagTree(p.cbw, p.cbh)
		}
	}
	return nil
}

// decodeBlocks runs the block decoder on every code-block of the component.
func (tc *tileComp) decodeBlocks() error {
	var bd blockDecoder
	for _, res := range tc.res {
		for _, b := range res.bands {
			b.coef = make([]int32, max(b.r.w(), 0)*max(b.r.h(), 0))
			for pi := range b.precinct {
				for ci := range b.precinct[pi].blocks {
					cb := &b.precinct[pi].blocks[ci]
					if cb.passes == 0 {
						continue
					}
					off := (cb.r.y0-b.r.y0)*b.r.w() + cb.r.x0 - b.r.x0
					if tc.cs.style&styleHT != 0 {
						if err := decodeHT(cb.segs, cb.numbps, b.numbps, cb.r.w(), cb.r.h(), tc.cs.style&styleVCausal != 0, b.coef[off:], b.r.w()); err != nil {
							return err
						}
						continue
					}
					bd.reset(cb.r.w(), cb.r.h(), b.orient, tc.cs.style)
					if err := bd.decode(cb.segs, cb.numbps, b.coef[off:], b.r.w()); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
