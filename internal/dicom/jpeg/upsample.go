package jpeg

// Upsample expands a subsampled component plane (sw×sh samples, row stride
// stride) by hf horizontally and vf vertically to dw×dh samples. For 2×1 and 2×2
// it uses the triangle filters of IJG libjpeg's "fancy upsampling" (jdsample.c),
// which DICOM viewers built on libjpeg, GDCM and DCMTK among them, show; other
// factors replicate samples.
func Upsample(src []int32, sw, sh, stride, hf, vf, dw, dh int) []int32 {
	out := make([]int32, dw*dh)
	at := func(x, y int) int32 {
		return src[min(max(y, 0), sh-1)*stride+min(max(x, 0), sw-1)]
	}
	switch {
	case hf == 2 && vf == 1 && sw >= 2:
		for y := range dh {
			sy := min(y, sh-1)
			for x := range dw {
				i := x / 2
				v := at(i, sy) * 3
				switch {
				case x%2 == 0 && i == 0:
					out[y*dw+x] = at(i, sy)
				case x%2 == 0:
					out[y*dw+x] = (v + at(i-1, sy) + 1) >> 2
				case i == sw-1:
					out[y*dw+x] = at(i, sy)
				default:
					out[y*dw+x] = (v + at(i+1, sy) + 2) >> 2
				}
			}
		}
	case hf == 2 && vf == 2 && sw >= 2:
		for y := range dh {
			r := y / 2
			far := r - 1 // the other input row: above for even output rows
			if y%2 == 1 {
				far = r + 1
			}
			col := func(i int) int32 { return at(i, r)*3 + at(i, far) }
			for x := range dw {
				i := x / 2
				this := col(i)
				switch {
				case x%2 == 0 && i == 0:
					out[y*dw+x] = (this*4 + 8) >> 4
				case x%2 == 0:
					out[y*dw+x] = (this*3 + col(i-1) + 8) >> 4
				case i == sw-1:
					out[y*dw+x] = (this*4 + 7) >> 4
				default:
					out[y*dw+x] = (this*3 + col(i+1) + 7) >> 4
				}
			}
		}
	default:
		for y := range dh {
			for x := range dw {
				out[y*dw+x] = at(x/hf, y/vf)
			}
		}
	}
	return out
}
