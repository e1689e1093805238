package jpegls

import (
	"errors"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom/internal/dicomtest"
)

const syntaxJPEGLS = "1.2.840.10008.1.2.4.8"

func TestDefaultThresholds(t *testing.T) {
	tests := []struct {
		maxval, near int32
		t1, t2, t3   int32
	}{
		{255, 0, 3, 7, 21},      // T.87 table C.3, 8 bits
		{4095, 0, 18, 67, 276},  // 12 bits
		{65535, 0, 18, 67, 276}, // clamped to 4095
		{255, 2, 9, 17, 35},
		{15, 0, 2, 3, 4},
	}
	for _, tt := range tests {
		t1, t2, t3 := defaultThresholds(tt.maxval, tt.near)
		if t1 != tt.t1 || t2 != tt.t2 || t3 != tt.t3 {
			t.Errorf("defaultThresholds(%d, %d) = %d, %d, %d; want %d, %d, %d", tt.maxval, tt.near, t1, t2, t3, tt.t1, tt.t2, tt.t3)
		}
	}
}

// TestDecodeTestFiles decodes every JPEG-LS frame of the test files; the dicom
// package compares the pixels with GDCM's.
func TestDecodeTestFiles(t *testing.T) {
	frames := dicomtest.Frames(t, 1<<30, syntaxJPEGLS)
	if len(frames) < 10 {
		t.Fatalf("found only %d JPEG-LS frames", len(frames))
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
		// Every truncation fails cleanly or still decodes (zero bits at the end).
		for _, n := range []int{2, 10, 30, len(fr) / 2} {
			if _, err := Decode(fr[:n], 1<<24); err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Errorf("frame %d cut at %d: %v", i, n, err)
			}
		}
		if _, err := Decode(fr, 10); !errors.Is(err, ErrInvalid) {
			t.Errorf("frame %d: Decode with a 10-sample limit = %v", i, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, fr := range dicomtest.Frames(f, 16<<10, syntaxJPEGLS) {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		img, err := Decode(src, 1<<20)
		if err == nil && len(img.Pix) != img.Width*img.Height*img.Components {
			t.Fatalf("%d samples for %d×%d×%d", len(img.Pix), img.Width, img.Height, img.Components)
		}
	})
}
