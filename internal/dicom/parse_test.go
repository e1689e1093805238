package dicom

import (
	"encoding/json"
	"errors"
	"flag"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files made from our own output (testdata/dicom/golden/summary)")

// studyFiles returns the files a DICOMDIR of dicomdir_study may reference.
func studyFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(testdata, "dicomdir_study"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), "DICOMDIR") && !strings.HasPrefix(d.Name(), "README") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryFile parses every test file, decodes and renders every frame, and
// checks that files without an image say so cleanly.
func TestEveryFile(t *testing.T) {
	lim := Limits{} // our own decoders only: no GDCM
	noImage := map[string]bool{}
	for _, p := range append(testFiles(t), studyFiles(t)...) {
		f, err := Parse(readFile(t, p), lim)
		if err != nil {
			t.Errorf("Parse(%s) = %v", p, err)
			continue
		}
		if !f.HasImage() {
			if !errors.Is(f.ImageError(), ErrNoPixels) {
				t.Errorf("%s: ImageError() = %v, want ErrNoPixels", p, f.ImageError())
			}
			if _, err := f.Frame(0); !errors.Is(err, ErrNoPixels) {
				t.Errorf("%s: Frame(0) = %v, want ErrNoPixels", p, err)
			}
			noImage[strings.TrimPrefix(p, testdata+"/")] = true
			continue
		}
		for i := range f.NumFrames() {
			fr := cachedFrame(t, p, i)
			img := fr.Render(Window{})
			if img.Bounds().Dx() != fr.Width || img.Bounds().Dy() != fr.Height {
				t.Errorf("%s: Render(%d) is %v", p, i, img.Bounds())
			}
		}
	}
	// Only the pydicom "tiny" file-set's instances lack pixel data, and a file
	// cut short in its header.
	for p := range noImage {
		if !strings.HasPrefix(p, "dicomdir_study/TINY_ALPHA/PT000000/ST000000/SE000000/") && p != "synthetic/truncated_ct_in_header.dcm" {
			t.Errorf("%s has no image", p)
		}
	}
	for _, p := range []string{"DICOMDIR", "DICOMDIR-empty.dcm"} {
		f := parseFile(t, filepath.Join(testdata, "dicomdir_study", p), Limits{})
		if f.HasImage() || !errors.Is(f.ImageError(), ErrNoPixels) || f.NumFrames() != 0 {
			t.Errorf("%s: HasImage() = %v, ImageError() = %v", p, f.HasImage(), f.ImageError())
		}
	}
}

// TestTwins checks that differently encoded copies of one image decode to the
// same pixels.
func TestTwins(t *testing.T) {
	twins := [][]string{
		{"mr_10frame_native", "mr_10frame_rle", "mr_10frame_jpegls_lossless", "mr_10frame_j2k_lossless"},
		{"mr_small_implicit", "mr_small_bigendian"},
		{"ct_small", "ct_rle_signed", "ct_jpegls_signed", "ct_j2k_signed", "ct_jpeg_lossless_sv1",
			"ct_jpeg_lossless_sv2", "ct_jpeg_lossless_sv3", "ct_jpeg_lossless_sv4",
			"ct_jpeg_lossless_sv5", "ct_jpeg_lossless_sv6", "ct_jpeg_lossless_sv7",
			"j2k_ct_rpcl_precincts_sop_eph", "j2k_ct_pcrl_tiles_offsets", "j2k_ct_cprl_layers",
			"j2k_ct_rlcp_bypass_layers", "j2k_ct_styles_reset_termall_vsc_pterm_segsym", "j2k_ct_styles_all"},
		{"rgb_rle", "rgb_jpeg_lossless", "rgb_jpegls_ilv0", "rgb_jpegls_ilv1", "rgb_jpegls_ilv2",
			"j2k_rgb_rct_cprl", "j2k_rgb_no_mct"},
	}
	lim := Limits{}
	for _, set := range twins {
		ref := parseFile(t, findFile(t, set[0]), lim)
		for _, n := range set[1:] {
			f := parseFile(t, findFile(t, n), lim)
			if f.NumFrames() != ref.NumFrames() {
				t.Errorf("%s: %d frames, %s has %d", n, f.NumFrames(), set[0], ref.NumFrames())
				continue
			}
			for i := range f.NumFrames() {
				a, b := cachedFrame(t, findFile(t, set[0]), i), cachedFrame(t, findFile(t, n), i)
				if diff := cmp.Diff(a.Gray, b.Gray); diff != "" {
					t.Errorf("%s frame %d: grey values differ from %s", n, i, set[0])
				}
				if diff := cmp.Diff(a.RGB, b.RGB); diff != "" {
					t.Errorf("%s frame %d: colours differ from %s", n, i, set[0])
				}
			}
		}
	}
}

func TestJapanesePatientName(t *testing.T) {
	f := parseFile(t, findFile(t, "charset_japanese_ir87"), Limits{})
	s := f.Summary()
	const want = "Yamada^Tarou=山田^太郎=やまだ^たろう"
	if s.PatientName != want {
		t.Errorf("PatientName = %q, want %q", s.PatientName, want)
	}
	if got := s.PatientName.Display(); got != "山田 太郎" {
		t.Errorf("Display() = %q, want %q", got, "山田 太郎")
	}
	if got := s.PatientName.Phonetic(); got != "やまだ^たろう" {
		t.Errorf("Phonetic() = %q", got)
	}
}

// TestSummaryGolden compares each file's Summary with golden/summary/NAME.json.
func TestSummaryGolden(t *testing.T) {
	dir := filepath.Join(testdata, "golden", "summary")
	for _, p := range testFiles(t) {
		t.Run(name(p), func(t *testing.T) {
			got, err := json.MarshalIndent(parseFile(t, p, Limits{}).Summary(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join(dir, name(p)+".json")
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Summary() differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestDefaultWindow(t *testing.T) {
	tests := []struct {
		file string
		want Window
	}{
		{"cr_chest_mono1_implicit", Window{511, 1023}},                     // from the file
		{"ct_perfusion_2frame", Window{49, 102}},                           // enhanced CT: functional groups
		{"ct_small", Window{(128+2191)/2.0 - 1024 + 0.5, 2191 - 128 + 1}},  // min/max, rescaled to HU
		{"pet_signed_rescale", Window{30157, 54282}},                       // from the file
		{"us_rgb_j2k_lossless", Window{}},                                  // colour
		{"rtdose_15frame_32bit", Window{(795000+1254000)/2 + 0.5, 459001}}, // 32-bit
	}
	lim := Limits{}
	for _, tt := range tests {
		if got := parseFile(t, findFile(t, tt.file), lim).DefaultWindow(0); got != tt.want {
			t.Errorf("%s: DefaultWindow(0) = %+v, want %+v", tt.file, got, tt.want)
		}
	}
	if p := Presets(); len(p) != 5 || !p[0].Auto || p[1].Name != "ct-lung" {
		t.Errorf("Presets() = %+v", p)
	}
}

func TestMonochrome1Inverts(t *testing.T) {
	fr, err := parseFile(t, findFile(t, "cr_chest_mono1_implicit"), Limits{}).Frame(0)
	if err != nil {
		t.Fatal(err)
	}
	w := Window{Center: 500, Width: 100}
	img := fr.Render(w)
	lo, hi := 0, 0 // a pixel with the smallest and one with the largest value
	for i, v := range fr.Gray {
		if v < fr.Gray[lo] {
			lo = i
		}
		if v > fr.Gray[hi] {
			hi = i
		}
	}
	g := img.(*image.Gray)
	if g.Pix[lo] != 255 || g.Pix[hi] != 0 {
		t.Errorf("MONOCHROME1: smallest value renders %d, largest %d; want 255 and 0", g.Pix[lo], g.Pix[hi])
	}
}
