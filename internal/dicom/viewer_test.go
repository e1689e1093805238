package dicom

import (
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestViewerFrame checks that the viewer form keeps every modality value and
// survives encoding, for unsigned, signed, 32-bit, colour and palette files.
func TestViewerFrame(t *testing.T) {
	for _, n := range []string{"mr_10frame_native", "ct_small", "pet_signed_rescale", "rtdose_15frame_32bit", "cr_chest_mono1_implicit", "us_palette_color", "sc_rgb_jpeg_baseline_ybr"} {
		t.Run(n, func(t *testing.T) {
			fr, err := parseFile(t, findFile(t, n), Limits{}).Frame(0)
			if err != nil {
				t.Fatal(err)
			}
			v := fr.Viewer()
			b, err := v.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary() = %v", err)
			}
			n := int(b[4]) | int(b[5])<<8 | int(b[6])<<16 | int(b[7])<<24
			if string(b[:4]) != "MBVF" || (8+n)%8 != 0 {
				t.Errorf("header: magic %q, JSON length %d not padded to 8", b[:4], n)
			}
			var got ViewerFrame
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary() = %v", err)
			}
			if !slices.Equal(v.Pixels, got.Pixels) || !slices.Equal(v.RGB, got.RGB) {
				t.Error("round trip changed the pixels")
			}
			hv, hg := v, got
			hv.Pixels, hv.RGB, hg.Pixels, hg.RGB = nil, nil, nil, nil
			if diff := cmp.Diff(hv, hg); diff != "" {
				t.Errorf("round trip differs (-want +got):\n%s", diff)
			}
			if fr.RGB != nil {
				if !got.Color || !slices.Equal(got.RGB, fr.RGB) {
					t.Error("colour frame lost its RGB")
				}
				return
			}
			// Requantization is exact unless the values span more than 16 bits.
			tol := 1e-9
			if int64(fr.Max)-int64(fr.Min) > math.MaxUint16 {
				tol = v.Slope / 2
			}
			for i, s := range fr.Gray {
				want := float64(s)*fr.Slope + fr.Intercept
				if d := math.Abs(float64(got.Pixels[i])*got.Slope + got.Intercept - want); d > tol*math.Max(1, math.Abs(want)) {
					t.Fatalf("pixel %d: modality %v, want %v", i, float64(got.Pixels[i])*got.Slope+got.Intercept, want)
				}
			}
			if got.Invert != (fr.Photometric == "MONOCHROME1") || got.WindowWidth != fr.Window.Width {
				t.Errorf("invert %v, window %v/%v", got.Invert, got.WindowCenter, got.WindowWidth)
			}
		})
	}
}

func TestViewerUnmarshalRejects(t *testing.T) {
	good, err := ViewerFrame{Width: 2, Height: 1, Pixels: []uint16{1, 2}}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{nil, []byte("MBVF"), good[:len(good)-1], append([]byte("XXXX"), good[4:]...), {'M', 'B', 'V', 'F', 0xFF, 0xFF, 0xFF, 0x7F}} {
		var v ViewerFrame
		if err := v.UnmarshalBinary(b); err == nil {
			t.Errorf("UnmarshalBinary(%q) succeeded", b)
		}
	}
}
