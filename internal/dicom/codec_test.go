package dicom

import (
	"bytes"
	"image"
	stdjpeg "image/jpeg"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/dicom/jpeg"
)

// TestOwnDCTMatchesStdlib decodes the 8-bit baseline files with our DCT decoder
// and compares it with image/jpeg, sample by sample: the two IDCTs round
// differently, by at most 1.
func TestOwnDCTMatchesStdlib(t *testing.T) {
	for _, n := range []string{"ot_jpeg_baseline_gray", "sc_rgb_jpeg_baseline_ybr", "rgb_jpeg_baseline_rgb", "us_jpeg_baseline_ybr422"} {
		t.Run(n, func(t *testing.T) {
			f := parseFile(t, findFile(t, n), Limits{})
			frame, err := f.encoded(0)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := jpeg.Decode(frame.data, 1<<30)
			if err != nil {
				t.Fatalf("jpeg.Decode() = %v", err)
			}
			std, err := stdjpeg.Decode(bytes.NewReader(frame.data))
			if err != nil {
				t.Fatal(err)
			}
			var want []int32
			switch m := std.(type) {
			case *image.Gray:
				for y := range m.Rect.Dy() {
					for x := range m.Rect.Dx() {
						want = append(want, int32(m.Pix[y*m.Stride+x]))
					}
				}
			case *image.YCbCr:
				cb, cr := chroma(m)
				for i := range cb {
					x, y := i%m.Rect.Dx(), i/m.Rect.Dx()
					want = append(want, int32(m.Y[m.YOffset(x, y)]), cb[i], cr[i])
				}
			case *image.RGBA:
				for i := 0; i < len(m.Pix); i += 4 {
					want = append(want, int32(m.Pix[i]), int32(m.Pix[i+1]), int32(m.Pix[i+2]))
				}
			}
			got := make([]int32, len(ours.Pix))
			for i, v := range ours.Pix {
				got[i] = int32(v)
			}
			if len(got) != len(want) {
				t.Fatalf("%d samples, image/jpeg %d", len(got), len(want))
			}
			if d, k := maxDiff(got, want); d > 1 {
				t.Errorf("%d samples differ from image/jpeg, by up to %d", k, d)
			}
		})
	}
}

// TestGDCMFallback decodes a file of each codec through gdcmconv (memfd in and
// out) and checks it against our own decoders.
func TestGDCMFallback(t *testing.T) {
	lim := withGDCM(t)
	for _, n := range []string{"mr_10frame_rle", "mr_10frame_jpegls_lossless", "mr_10frame_j2k_lossless",
		"nm_jpeg_lossless_sv1", "ot_jpeg_baseline_gray", "sc_rgb_jpeg_baseline_ybr", "ct_j2k_signed", "mr_jpeg_extended_12bit"} {
		p := findFile(t, n)
		f0 := parseFile(t, p, Limits{})
		t.Run(n, func(t *testing.T) {
			f := parseFile(t, p, lim)
			forceGDCM = true
			defer func() { forceGDCM = false }()
			for i := range f.NumFrames() {
				got, _ := samples(t, f, i)
				forceGDCM = false
				want, _ := samples(t, f0, i)
				forceGDCM = true
				if d, k := maxDiff(got, want); d > rawTolerance[name(p)] {
					t.Errorf("frame %d: %d samples differ, by up to %d", i, k, d)
				}
			}
		})
	}
}

// TestGDCMFailure checks that a failing, starved or slow gdcmconv gives an error.
func TestGDCMFailure(t *testing.T) {
	for _, g := range []GDCM{
		{Path: "/bin/false"},
		{MemoryLimit: 8 << 20},     // below what gdcmconv needs to start
		{Timeout: time.Nanosecond}, // killed at once
	} {
		lim := withGDCM(t)
		if g.Path != "" {
			lim.GDCM.Path = g.Path
		}
		lim.GDCM.MemoryLimit, lim.GDCM.Timeout = g.MemoryLimit, g.Timeout
		f := parseFile(t, findFile(t, "mr_10frame_j2k_lossless"), lim)
		forceGDCM = true
		_, err := f.Frame(0)
		forceGDCM = false
		t.Logf("gdcmconv %+v: %v", g, err)
		if err == nil || !strings.Contains(err.Error(), "gdcm") {
			t.Errorf("Frame(0) with gdcmconv %+v = %v, want a gdcm error", g, err)
		}
	}
}

// chroma returns the Cb and Cr planes of m at full resolution, upsampled the way
// libjpeg does (image/jpeg only replicates).
func chroma(m *image.YCbCr) (cb, cr []int32) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	hf, vf := 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hf = 2
	case image.YCbCrSubsampleRatio420:
		hf, vf = 2, 2
	case image.YCbCrSubsampleRatio440:
		vf = 2
	case image.YCbCrSubsampleRatio411:
		hf = 4
	case image.YCbCrSubsampleRatio410:
		hf, vf = 4, 2
	}
	sw, sh := (w+hf-1)/hf, (h+vf-1)/vf
	plane := func(p []uint8) []int32 {
		src := make([]int32, sw*sh)
		for y := range sh {
			for x := range sw {
				src[y*sw+x] = int32(p[y*m.CStride+x])
			}
		}
		return jpeg.Upsample(src, sw, sh, sw, hf, vf, w, h)
	}
	return plane(m.Cb), plane(m.Cr)
}
