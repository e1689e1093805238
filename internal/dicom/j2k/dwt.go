package j2k

import "math"

// Irreversible 9/7 lifting constants (T.800 table F.4).
const (
	alpha = -1.586134342059924
	beta  = -0.052980118572961
	gamma = 0.882911075530934
	delta = 0.443506852043971
	kappa = 1.230174104914001
)

// inverse53 reconstructs the tile-component from its bands with the reversible
// 5/3 wavelet (T.800 F.3).
func (tc *tileComp) inverse53() []int32 {
	ll := tc.res[0].bands[0]
	cur := make([]int32, len(ll.coef))
	for i, v := range ll.coef {
		cur[i] = v / 2 // drop the fractional bit, rounding towards zero
	}
	prev := tc.res[0].r
	for _, res := range tc.res[1:] {
		r := res.r
		w, h := r.w(), r.h()
		a := make([]int32, w*h)
		var bands [4]*band
		for _, b := range res.bands {
			bands[b.orient] = b
		}
		tc.interleave(res, prev, func(i, o, k int) {
			if o < 0 {
				a[i] = cur[k]
			} else {
				a[i] = bands[o].coef[k] / 2
			}
		})
		for y := range h {
			lift53(a[y*w:(y+1)*w], r.x0)
		}
		liftRows53(a, w, h, r.y0)
		cur, prev = a, r
	}
	return cur
}

// inverse97 reconstructs the tile-component with the irreversible 9/7 wavelet.
func (tc *tileComp) inverse97() []float64 {
	ll := tc.res[0].bands[0]
	cur := make([]float64, len(ll.coef))
	for i, v := range ll.coef {
		cur[i] = float64(v) / 2 * ll.step
	}
	prev := tc.res[0].r
	for _, res := range tc.res[1:] {
		r := res.r
		w, h := r.w(), r.h()
		a := make([]float64, w*h)
		var bands [4]*band
		for _, b := range res.bands {
			bands[b.orient] = b
		}
		tc.interleave(res, prev, func(i, o, k int) {
			if o < 0 {
				a[i] = cur[k]
			} else {
				a[i] = float64(bands[o].coef[k]) / 2 * bands[o].step
			}
		})
		for y := range h {
			lift97(a[y*w:(y+1)*w], r.x0)
		}
		liftRows97(a, w, h, r.y0)
		cur, prev = a, r
	}
	return cur
}

// interleave visits res's grid and says where each sample comes from: orient
// −1 means the lower resolution (even column and row), else the band of that
// orientation; k is the index in that array (T.800 F.3.3).
func (tc *tileComp) interleave(res *resolution, prev rect, put func(i, orient, k int)) {
	r := res.r
	w := r.w()
	var bands [4]*band
	for _, b := range res.bands {
		bands[b.orient] = b
	}
	at := func(o, bx, by int) int { b := bands[o]; return (by-b.r.y0)*b.r.w() + bx - b.r.x0 }
	for y := r.y0; y < r.y1; y++ {
		for x := r.x0; x < r.x1; x++ {
			i := (y-r.y0)*w + x - r.x0
			switch {
			case x%2 == 0 && y%2 == 0:
				put(i, -1, (y/2-prev.y0)*prev.w()+x/2-prev.x0)
			case y%2 == 0:
				put(i, bandHL, at(bandHL, (x-1)/2, y/2))
			case x%2 == 0:
				put(i, bandLH, at(bandLH, x/2, (y-1)/2))
			default:
				put(i, bandHH, at(bandHH, (x-1)/2, (y-1)/2))
			}
		}
	}
}

// reflect maps index k (relative to the start) into 0..n−1 by whole-sample
// symmetric extension.
func reflect(k, n int) int {
	for k < 0 || k >= n {
		if k < 0 {
			k = -k
		}
		if k >= n {
			k = 2*(n-1) - k
		}
	}
	return k
}

// lift53 inverts the 5/3 transform of s, whose first sample has absolute
// coordinate i0 (even coordinates are low-pass).
func lift53(s []int32, i0 int) {
	n := len(s)
	if n == 1 {
		if i0%2 != 0 {
			s[0] /= 2
		}
		return
	}
	at := func(k int) int32 { return s[reflect(k, n)] }
	for k := (i0 & 1); k < n; k += 2 { // even absolute coordinates
		s[k] -= (at(k-1) + at(k+1) + 2) >> 2
	}
	for k := 1 - (i0 & 1); k < n; k += 2 { // odd absolute coordinates
		s[k] += (at(k-1) + at(k+1)) >> 1
	}
}

// lift97 inverts the 9/7 transform of s, whose first sample has absolute
// coordinate i0.
func lift97(s []float64, i0 int) {
	n := len(s)
	if n == 1 {
		if i0%2 != 0 {
			s[0] /= 2
		}
		return
	}
	even, odd := i0&1, 1-(i0&1)
	at := func(k int) float64 { return s[reflect(k, n)] }
	for k := even; k < n; k += 2 {
		s[k] *= kappa
	}
	for k := odd; k < n; k += 2 {
		s[k] /= kappa
	}
	for k := even; k < n; k += 2 {
		s[k] -= delta * (at(k-1) + at(k+1))
	}
	for k := odd; k < n; k += 2 {
		s[k] -= gamma * (at(k-1) + at(k+1))
	}
	for k := even; k < n; k += 2 {
		s[k] -= beta * (at(k-1) + at(k+1))
	}
	for k := odd; k < n; k += 2 {
		s[k] -= alpha * (at(k-1) + at(k+1))
	}
}

// liftRows53 is lift53 down the columns of the w×h array a, a row at a time so
// that memory is read in order.
func liftRows53(a []int32, w, h, y0 int) {
	row := func(k int) []int32 { k = reflect(k, h); return a[k*w : (k+1)*w] }
	if h == 1 {
		if y0%2 != 0 {
			for x := range w {
				a[x] /= 2
			}
		}
		return
	}
	for k := y0 & 1; k < h; k += 2 {
		up, dst, down := row(k-1), row(k), row(k+1)
		for x := range dst {
			dst[x] -= (up[x] + down[x] + 2) >> 2
		}
	}
	for k := 1 - y0&1; k < h; k += 2 {
		up, dst, down := row(k-1), row(k), row(k+1)
		for x := range dst {
			dst[x] += (up[x] + down[x]) >> 1
		}
	}
}

// liftRows97 is lift97 down the columns of the w×h array a.
func liftRows97(a []float64, w, h, y0 int) {
	row := func(k int) []float64 { k = reflect(k, h); return a[k*w : (k+1)*w] }
	if h == 1 {
		if y0%2 != 0 {
			for x := range w {
				a[x] /= 2
			}
		}
		return
	}
	even, odd := y0&1, 1-y0&1
	scale := func(start int, f float64) {
		for k := start; k < h; k += 2 {
			for x, r := 0, row(k); x < w; x++ {
				r[x] *= f
			}
		}
	}
	step := func(start int, c float64) {
		for k := start; k < h; k += 2 {
			up, dst, down := row(k-1), row(k), row(k+1)
			for x := range dst {
				dst[x] -= c * (up[x] + down[x])
			}
		}
	}
	scale(even, kappa)
	scale(odd, 1/kappa)
	step(even, delta)
	step(odd, gamma)
	step(even, beta)
	step(odd, alpha)
}

// store applies the inverse colour transform and DC level shift, clamps, and
// copies the tile's components into the image.
func (d *decoder) store(h *header, tr rect, tcs []*tileComp, ints [][]int32, floats [][]float64) {
	nc := len(h.comps)
	lo, hi, shift := make([]float64, nc), make([]float64, nc), make([]float64, nc)
	for c, ci := range h.comps {
		lo[c], hi[c], shift[c] = 0, float64(int(1)<<ci.precision-1), float64(int(1)<<(ci.precision-1))
		if ci.signed {
			lo[c], hi[c], shift[c] = -shift[c], shift[c]-1, 0
		}
	}
	mct := h.mct && nc >= 3
	if mct {
		d.img.MCT = true
	}
	reversible := tcs[0].cs.reversible
	at := func(c, i int) float64 {
		if ints[c] != nil {
			return float64(ints[c][i])
		}
		return floats[c][i]
	}
	var v [4]float64
	w := h.x1 - h.x0
	for y := tr.y0; y < tr.y1; y++ {
		for x := tr.x0; x < tr.x1; x++ {
			i := (y-tr.y0)*tr.w() + x - tr.x0
			for c := range nc {
				v[c] = at(c, i)
			}
			if mct {
				if reversible {
					g := v[0] - math.Floor((v[1]+v[2])/4)
					v[0], v[1], v[2] = v[2]+g, g, v[1]+g
				} else {
					yy, u, vv := v[0], v[1], v[2]
					v[0], v[1], v[2] = yy+1.402*vv, yy-0.344136*u-0.714136*vv, yy+1.772*u
				}
			}
			o := ((y-h.y0)*w + x - h.x0) * nc
			for c := range nc {
				s := math.RoundToEven(v[c]) + shift[c]
				d.img.Pix[o+c] = int32(math.Min(math.Max(s, lo[c]), hi[c]))
			}
		}
	}
}
