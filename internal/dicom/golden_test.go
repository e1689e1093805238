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
// GDCM's for lossy files; every other file must match exactly. Lossy DCT JPEG
// is exact too (our IDCT is libjpeg's integer one, as GDCM's); the 9/7 wavelet
// of JPEG 2000 is computed in floating point, rounded differently from OpenJPEG.
var rawTolerance = map[string]int64{
	"mr_j2k_lossy":    1,
	"j2k_ct_97_tiles": 1,
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

// notLikeDCMTK lists the bit-depth files whose DCMTK rendering we do not
// follow, and why; their samples are still checked by TestCorpus.
var notLikeDCMTK = map[string]string{
	// DCMTK (and GDCM) read 32-bit big endian OW pixel data as 16-bit words,
	// which swaps the halves of each value; we read each value as a big
	// endian 32-bit number, as pydicom does, which gives the same values as
	// the little endian twins.
	"bits_gray_u24_be": "word order", "bits_gray_s24_be": "word order",
	"bits_gray_u32_be": "word order", "bits_gray_s32_be": "word order",
	"bits_rgb_u24_be": "word order", "bits_rgb_u32_be": "word order",
}

// TestBitDepthsMatchDCMTK renders every file of synthetic/bitdepth (bits
// stored 1–32, signed and unsigned, grey and RGB, little and big endian,
// native and RLE) and compares it with dcm2pnm's rendering: grey with the
// min-max window, colour as stored. Signed colour beyond 16 bits is compared
// with the offset binary mapping DCMTK uses up to 16 bits; DCMTK itself
// inverts it.
func TestBitDepthsMatchDCMTK(t *testing.T) {
	refs, err := filepath.Glob(filepath.Join(testdata, "golden", "render", "bitdepth", "*.png"))
	if err != nil || len(refs) < 128 {
		t.Fatalf("%d references: %v", len(refs), err)
	}
	for _, ref := range refs {
		n := strings.TrimSuffix(filepath.Base(ref), ".png")
		t.Run(n, func(t *testing.T) {
			path := filepath.Join(testdata, "synthetic", "bitdepth", n+".dcm")
			fr := cachedFrame(t, path, 0)
			got := pixels(fr.Render(Window{}))
			if bits, _ := strconv.Atoi(n[10:12]); strings.HasPrefix(n, "bits_rgb_s") && bits > 16 {
				rf, _, err := parseFile(t, path, Limits{}).raw(0)
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range rawSamples(rf) {
					if want := (v + 1<<(bits-1)) >> (bits - 8); int64(got[k]) != want {
						t.Fatalf("value %d: %d for sample %d, want %d", k, got[k], v, want)
					}
				}
				return
			}
			if why, ok := notLikeDCMTK[n]; ok {
				t.Logf("not compared with DCMTK: %s", why)
				return
			}
			want := pixels(readPNG(t, ref))
			if len(got) != len(want) {
				t.Fatalf("%d values, DCMTK %d", len(got), len(want))
			}
			if d, k := maxDiff(got, want); d > 0 {
				t.Errorf("%d of %d values differ from DCMTK's, by up to %d", k, len(got), d)
			}
		})
	}
}
