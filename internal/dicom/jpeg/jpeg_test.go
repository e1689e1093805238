package jpeg

import (
	"errors"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom/internal/dicomtest"
)

// JPEG transfer syntaxes: baseline, extended, lossless.
var syntaxes = []string{"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"}

// TestDecodeTestFiles decodes every JPEG frame of the test files; the dicom
// package compares the pixels with GDCM's and image/jpeg's.
func TestDecodeTestFiles(t *testing.T) {
	frames := dicomtest.Frames(t, 1<<30, syntaxes...)
	if len(frames) < 20 {
		t.Fatalf("found only %d JPEG frames", len(frames))
	}
	for i, fr := range frames {
		img, err := Decode(fr, 1<<24)
		if err != nil {
			t.Errorf("frame %d: Decode() = %v", i, err)
			continue
		}
		if len(img.Pix) != img.Width*img.Height*img.Components {
			t.Errorf("frame %d: %d samples for %d×%d×%d", i, len(img.Pix), img.Width, img.Height, img.Components)
		}
		for _, n := range []int{2, 10, 100, len(fr) / 2} {
			if _, err := Decode(fr[:min(n, len(fr))], 1<<24); err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Errorf("frame %d cut at %d: %v", i, n, err)
			}
		}
		if _, err := Decode(fr, 10); !errors.Is(err, ErrInvalid) {
			t.Errorf("frame %d: Decode with a 10-sample limit = %v", i, err)
		}
	}
}

func TestUpsample(t *testing.T) {
	// libjpeg h2v1: 3/4 nearer + 1/4 further, edges copied.
	got := Upsample([]int32{0, 100, 200}, 3, 1, 3, 2, 1, 6, 1)
	want := []int32{0, 25, 75, 125, 175, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Upsample h2v1 = %v, want %v", got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, fr := range dicomtest.Frames(f, 16<<10, syntaxes...) {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		img, err := Decode(src, 1<<20)
		if err == nil && len(img.Pix) != img.Width*img.Height*img.Components {
			t.Fatalf("%d samples for %d×%d×%d", len(img.Pix), img.Width, img.Height, img.Components)
		}
	})
}

// FuzzDecodeProgressive fuzzes progressive and spectral-selection DCT JPEG
// (progressive.go): scans of DC and AC bands, first and refinement passes. At
// most 2^20 samples may cost at most 64 MiB of allocations.
func FuzzDecodeProgressive(f *testing.F) {
	frames := dicomtest.Frames(f, 24<<10, "1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55")
	if len(frames) < 10 {
		f.Fatalf("found only %d progressive frames", len(frames))
	}
	for _, fr := range frames {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		defer dicomtest.AllocCap(t, 64<<20)()
		img, err := Decode(src, 1<<20)
		if err == nil && len(img.Pix) != img.Width*img.Height*img.Components {
			t.Fatalf("%d samples for %d×%d×%d", len(img.Pix), img.Width, img.Height, img.Components)
		}
	})
}
