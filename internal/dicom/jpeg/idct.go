package jpeg

// The inverse DCT is IJG libjpeg 6b's accurate integer method (jidctint.c,
// JDCT_ISLOW, the library's default), which GDCM and DCMTK decode with: the
// same arithmetic gives the same samples, so lossy JPEG frames match theirs
// exactly rather than within a rounding error.
const (
	constBits = 13

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// idct1D is one 8-point inverse DCT of libjpeg's islow method on in[0],
// in[s], …, in[7s], returning the eight outputs before the final descale.
func idct1D(in0, in1, in2, in3, in4, in5, in6, in7 int64) (out [8]int64) {
	// Even part.
	z1 := (in2 + in6) * fix0_541196100
	tmp2 := z1 - in6*fix1_847759065
	tmp3 := z1 + in2*fix0_765366865
	tmp0 := (in0 + in4) << constBits
	tmp1 := (in0 - in4) << constBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
	// Odd part.
	t0, t1, t2, t3 := in7, in5, in3, in1
	z1 = t0 + t3
	z2 := t1 + t2
	z3 := t0 + t2
	z4 := t1 + t3
	z5 := (z3 + z4) * fix1_175875602
	t0 *= fix0_298631336
	t1 *= fix2_053119869
	t2 *= fix3_072711026
	t3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*-fix1_961570560 + z5
	z4 = z4*-fix0_390180644 + z5
	t0 += z1 + z3
	t1 += z2 + z4
	t2 += z2 + z3
	t3 += z1 + z4
	return [8]int64{tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0, tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3}
}

// rangeLimit maps an IDCT output x (before the level shift) to a sample as
// libjpeg's range-limit table does: clamped for values within four times the
// sample range, wrapped beyond (only corrupt data gets there).
func rangeLimit(x int64, prec int) int32 {
	full := int64(1) << prec
	center := full / 2
	j := x & (4*full - 1)
	switch {
	case j < center:
		return int32(center + j)
	case j < 2*full:
		return int32(full - 1)
	case j < 4*full-center:
		return 0
	}
	return int32(j - (4*full - center))
}

// idct dequantizes coefficient block blk (natural order) with the component's
// quantization table, inverse-transforms it, and writes it into the
// component plane at block (bx, by).
func (d *decoder) idct(blk *[64]int32, c *component, bx, by int) {
	q := &d.quant[c.tq]
	pass1 := uint(2)
	if d.img.Precision > 8 {
		pass1 = 1
	}
	var ws [64]int64
	for x := range 8 {
		in := func(y int) int64 { return int64(blk[y*8+x]) * int64(q[y*8+x]) }
		col := idct1D(in(0), in(1), in(2), in(3), in(4), in(5), in(6), in(7))
		for y := range 8 {
			ws[y*8+x] = descale(col[y], constBits-pass1)
		}
	}
	stride := c.bw * 8
	base := by*8*stride + bx*8
	for y := range 8 {
		r := ws[y*8 : y*8+8]
		row := idct1D(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
		for x := range 8 {
			c.plane[base+y*stride+x] = rangeLimit(descale(row[x], constBits+pass1+3), d.img.Precision)
		}
	}
}
