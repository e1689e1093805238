package dicom

import (
	"bufio"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rawTolerance is the largest difference allowed between our decoded samples and
// GDCM's for lossy files; every other file must match exactly. The difference
// comes from the IDCT: image/jpeg and our 12-bit decoder versus libjpeg's
// integer IDCT (see golden/README.md).
var rawTolerance = map[string]int64{
	"ot_jpeg_baseline_gray":    1,
	"sc_rgb_jpeg_baseline_ybr": 1,
	"rgb_jpeg_baseline_rgb":    1,
	"us_jpeg_baseline_ybr422":  1,
	"mr_jpeg_extended_12bit":   1,
	"mr_j2k_lossy":             1, // 9/7 in floating point: our rounding vs OpenJPEG's
	"j2k_ct_97_tiles":          1,
}

// TestRawMatchesGDCM compares every frame we decode with our own decoders against
// the output of `gdcmconv --raw` (golden/raw, made by golden/make.sh).
func TestRawMatchesGDCM(t *testing.T) {
	refs, err := filepath.Glob(filepath.Join(testdata, "golden", "raw", "*.dcm.gz"))
	if err != nil || len(refs) == 0 {
		t.Fatalf("no references: %v", err)
	}
	for _, ref := range refs {
		n := strings.TrimSuffix(filepath.Base(ref), ".dcm.gz")
		t.Run(n, func(t *testing.T) {
			f := parseFile(t, findFile(t, n), Limits{})
			g := parseFile(t, ref, Limits{})
			if f.NumFrames() != g.NumFrames() {
				t.Fatalf("NumFrames() = %d, GDCM %d", f.NumFrames(), g.NumFrames())
			}
			for i := range f.NumFrames() {
				got, gotPI := samples(t, f, i)
				want, wantPI := samples(t, g, i)
				if gotPI != wantPI && !(gotPI == "YBR_FULL" && wantPI == "YBR_FULL_422") {
					t.Errorf("frame %d: photometric %s, GDCM %s", i, gotPI, wantPI)
				}
				if len(got) != len(want) {
					t.Fatalf("frame %d: %d samples, GDCM %d", i, len(got), len(want))
				}
				if d, k := maxDiff(got, want); d > rawTolerance[n] {
					t.Errorf("frame %d: %d of %d samples differ, by up to %d (tolerance %d)", i, k, len(got), d, rawTolerance[n])
				}
			}
		})
	}
}

// renderWindows reads golden/windows.txt.
func renderWindows(t *testing.T) map[string]Window {
	t.Helper()
	fh, err := os.Open(filepath.Join(testdata, "golden", "windows.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	out := map[string]Window{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		c, err1 := strconv.ParseFloat(f[1], 64)
		w, err2 := strconv.ParseFloat(f[2], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("windows.txt: bad line %q", sc.Text())
		}
		out[f[0]] = Window{Center: c, Width: w}
	}
	return out
}

// renderTolerance is the largest grey-level (or colour channel) difference
// allowed between our render and DCMTK's; every other file must match exactly.
var renderTolerance = map[string]int64{
	// DCMTK truncates non-integer modality values before windowing; we do not.
	"mr_prostate":        1,
	"pet_signed_rescale": 1,
	"mr_j2k_lossy":       1,
	// Lossy 9/7: the raw samples already differ by 1.
	"j2k_ct_97_tiles": 1,
	// DCMTK's own YCbCr to RGB arithmetic (centred on 127.5, truncated).
	"sc_rgb_jpeg_baseline_ybr": 2,
	"us_jpeg_baseline_ybr422":  2,
}

// TestRenderMatchesDCMTK compares Render of frame 0 with dcm2pnm's rendering
// (golden/render, made by golden/make.sh).
func TestRenderMatchesDCMTK(t *testing.T) {
	wins := renderWindows(t)
	refs, err := filepath.Glob(filepath.Join(testdata, "golden", "render", "*.png"))
	if err != nil || len(refs) == 0 {
		t.Fatalf("no references: %v", err)
	}
	for _, ref := range refs {
		n := strings.TrimSuffix(filepath.Base(ref), ".png")
		t.Run(n, func(t *testing.T) {
			got := cachedFrame(t, findFile(t, n), 0).Render(wins[n])
			want := readPNG(t, ref)
			gp, wp := pixels(got), pixels(want)
			if len(gp) != len(wp) || got.Bounds() != want.Bounds() {
				t.Fatalf("render is %v with %d channels, DCMTK %v with %d", got.Bounds(), len(gp), want.Bounds(), len(wp))
			}
			tol := renderTolerance[n]
			if d, k := maxDiff(gp, wp); d > tol {
				t.Errorf("%d of %d values differ, by up to %d (tolerance %d)", k, len(gp), d, tol)
			}
		})
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pixels returns grey levels for grey images and R, G, B for colour ones.
func pixels(img image.Image) []uint8 {
	b := img.Bounds()
	var out []uint8
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			switch m := img.(type) {
			case *image.Gray:
				out = append(out, m.GrayAt(x, y).Y)
			default:
				r, g, bb, _ := img.At(x, y).RGBA()
				out = append(out, uint8(r>>8), uint8(g>>8), uint8(bb>>8))
			}
		}
	}
	return out
}
