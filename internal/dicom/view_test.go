package dicom

import (
	"image"
	"math"
	"slices"
	"testing"
)

// areaAverage scales a w×h single-channel image to dw×dh the slow way: each
// output pixel is the mean of the source area it covers, each source pixel
// weighted by its overlap, computed on the real line.
func areaAverage(src []float64, w, h, dw, dh int) []float64 {
	sx, sy := float64(w)/float64(dw), float64(h)/float64(dh)
	overlap := func(a0, a1, b0, b1 float64) float64 { return math.Max(0, math.Min(a1, b1)-math.Max(a0, b0)) }
	out := make([]float64, dw*dh)
	for Y := range dh {
		for X := range dw {
			var sum, wsum float64
			for y := int(float64(Y) * sy); y < min(h, int(math.Ceil(float64(Y+1)*sy))); y++ {
				wy := overlap(float64(y), float64(y+1), float64(Y)*sy, float64(Y+1)*sy)
				for x := int(float64(X) * sx); x < min(w, int(math.Ceil(float64(X+1)*sx))); x++ {
					wgt := wy * overlap(float64(x), float64(x+1), float64(X)*sx, float64(X+1)*sx)
					sum += wgt * src[y*w+x]
					wsum += wgt
				}
			}
			out[Y*dw+X] = sum / wsum
		}
	}
	return out
}

// TestViewScaled checks that a frame scaled as its rows are read equals the
// area average of the whole frame, grey and colour, and keeps the window of
// the whole frame.
func TestViewScaled(t *testing.T) {
	for _, tt := range []struct {
		file    string
		maxSide int
	}{
		{"cr_chest_mono1_implicit", 700}, // 1760×2140, MONOCHROME1
		{"us_rgb_j2k_lossless", 256},     // 640×480 RGB
		{"mr_10frame_rle", 48},           // 64×64, streamed from RLE
		{"deflated_mr12_10frame", 40},    // streamed from deflate
	} {
		t.Run(tt.file, func(t *testing.T) {
			f := parseFile(t, findFile(t, tt.file), Limits{})
			full, err := f.Frame(0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.view(0, viewOptions{maxSide: tt.maxSide})
			if err != nil {
				t.Fatal(err)
			}
			w, h := scaledSize(full.Width, full.Height, tt.maxSide)
			if got.Width != w || got.Height != h || max(w, h) != tt.maxSide {
				t.Fatalf("scaled to %d×%d, want %d×%d", got.Width, got.Height, w, h)
			}
			if got.SourceWidth != full.Width || got.Region != image.Rect(0, 0, full.Width, full.Height) {
				t.Errorf("source %d×%d, region %v", got.SourceWidth, got.SourceHeight, got.Region)
			}
			c := 1
			if full.RGB != nil {
				c = 3
			}
			for ch := range c {
				src := make([]float64, full.Width*full.Height)
				for i := range src {
					if c == 3 {
						src[i] = float64(full.RGB[3*i+ch])
					} else {
						src[i] = float64(full.Gray[i])
					}
				}
				want := areaAverage(src, full.Width, full.Height, w, h)
				for i, v := range want {
					var g float64
					if c == 3 {
						g = float64(got.RGB[3*i+ch])
					} else {
						g = float64(got.Gray[i])
					}
					if math.Abs(g-v) > 0.5+1e-6 {
						t.Fatalf("channel %d pixel %d: %v, area average %v", ch, i, g, v)
					}
				}
			}
			if got.Window != full.Window || got.Slope != full.Slope || got.Intercept != full.Intercept {
				t.Errorf("window %+v rescale %v %v, full frame %+v %v %v", got.Window, got.Slope, got.Intercept, full.Window, full.Slope, full.Intercept)
			}
		})
	}
}

// TestViewRegion checks that a region at full resolution is the same pixels as
// the whole frame's, and that its default window spans the region's values.
func TestViewRegion(t *testing.T) {
	f := parseFile(t, findFile(t, "cr_chest_mono1_implicit"), Limits{})
	full, err := f.Frame(0)
	if err != nil {
		t.Fatal(err)
	}
	r := image.Rect(300, 500, 1000, 900)
	got, err := f.view(0, viewOptions{region: r})
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != r.Dx() || got.Height != r.Dy() || got.Region != r {
		t.Fatalf("%d×%d region %v, want %v", got.Width, got.Height, got.Region, r)
	}
	for y := range r.Dy() {
		want := full.Gray[(r.Min.Y+y)*full.Width+r.Min.X : (r.Min.Y+y)*full.Width+r.Max.X]
		if !slices.Equal(got.Gray[y*r.Dx():(y+1)*r.Dx()], want) {
			t.Fatalf("row %d differs from the whole frame's", y)
		}
	}
	if _, err := f.view(0, viewOptions{region: image.Rect(5000, 5000, 5100, 5100)}); err == nil {
		t.Error("a region outside the frame was accepted")
	}
	v := got.Viewer()
	if v.Region != [4]int{300, 500, 700, 400} || v.SourceWidth != full.Width {
		t.Errorf("viewer frame: region %v, source %d×%d", v.Region, v.SourceWidth, v.SourceHeight)
	}
}
