package j2k

// packetID names a packet: layer, resolution, component and precinct.
type packetID struct{ layer, res, comp, prec int }

// progression calls visit for each packet of a tile in progression order, until
// visit returns false. Packets are generated one at a time: a header may
// announce millions that the data does not contain.
func progression(h *header, tr rect, tcs []*tileComp, visit func(packetID) bool) {
	maxRes := 0
	for _, tc := range tcs {
		maxRes = max(maxRes, len(tc.res))
	}
	stop := false
	add := func(l, r, c, p int) {
		if !stop && r < len(tcs[c].res) && p < tcs[c].res[r].pw*tcs[c].res[r].ph {
			stop = !visit(packetID{l, r, c, p})
		}
	}
	precincts := func(c, r int) int {
		if r >= len(tcs[c].res) {
			return 0
		}
		return tcs[c].res[r].pw * tcs[c].res[r].ph
	}
	switch h.order {
	case 0: // LRCP
		for l := 0; l < h.layers && !stop; l++ {
			for r := range maxRes {
				for c := range tcs {
					for p := range precincts(c, r) {
						add(l, r, c, p)
					}
				}
			}
		}
	case 1: // RLCP
		for r := range maxRes {
			for l := 0; l < h.layers && !stop; l++ {
				for c := range tcs {
					for p := range precincts(c, r) {
						add(l, r, c, p)
					}
				}
			}
		}
	default: // RPCL, PCRL, CPRL: precincts in spatial order
		spatial(h, tr, tcs, maxRes, visit)
	}
}

// spatial implements the position-driven progressions (T.800 B.12.1.3–5).
func spatial(h *header, tr rect, tcs []*tileComp, maxRes int, visit func(packetID) bool) {
	stop := false
	dx, dy := 1<<30, 1<<30
	for _, tc := range tcs {
		nl := len(tc.res) - 1
		for r, res := range tc.res {
			dx = min(dx, 1<<(res.ppx+nl-r))
			dy = min(dy, 1<<(res.ppy+nl-r))
		}
	}
	// at returns the precinct of component c, resolution r that starts at
	// (x, y) on the tile's reference grid, or −1.
	at := func(c, r, x, y int) int {
		tc := tcs[c]
		if r >= len(tc.res) {
			return -1
		}
		res := tc.res[r]
		lvl := len(tc.res) - 1 - r
		if res.pw == 0 || res.ph == 0 || res.r.w() == 0 || res.r.h() == 0 {
			return -1
		}
		rpx, rpy := res.ppx+lvl, res.ppy+lvl
		if !(y%(1<<rpy) == 0 || y == tr.y0 && (res.r.y0<<lvl)%(1<<rpy) != 0) {
			return -1
		}
		if !(x%(1<<rpx) == 0 || x == tr.x0 && (res.r.x0<<lvl)%(1<<rpx) != 0) {
			return -1
		}
		i := floorDiv(ceilDiv(x, 1<<lvl), 1<<res.ppx) - floorDiv(res.r.x0, 1<<res.ppx)
		j := floorDiv(ceilDiv(y, 1<<lvl), 1<<res.ppy) - floorDiv(res.r.y0, 1<<res.ppy)
		if i < 0 || j < 0 || i >= res.pw || j >= res.ph {
			return -1
		}
		return j*res.pw + i
	}
	positions := func(at func(x, y int)) {
		for y := tr.y0; y < tr.y1 && !stop; y += dy - y%dy {
			for x := tr.x0; x < tr.x1 && !stop; x += dx - x%dx {
				at(x, y)
			}
		}
	}
	layers := func(r, c, p int) {
		for l := 0; l < h.layers && !stop; l++ {
			stop = !visit(packetID{l, r, c, p})
		}
	}
	switch h.order {
	case 2: // RPCL
		for r := range maxRes {
			positions(func(x, y int) {
				for c := range tcs {
					if p := at(c, r, x, y); p >= 0 {
						layers(r, c, p)
					}
				}
			})
		}
	case 3: // PCRL
		positions(func(x, y int) {
			for c := range tcs {
				for r := range maxRes {
					if p := at(c, r, x, y); p >= 0 {
						layers(r, c, p)
					}
				}
			}
		})
	default: // CPRL
		for c := range tcs {
			positions(func(x, y int) {
				for r := range maxRes {
					if p := at(c, r, x, y); p >= 0 {
						layers(r, c, p)
					}
				}
			})
		}
	}
}
