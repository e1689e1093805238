package preview

import (
	"image"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom"
)

// TestRenderFrameMatchesDICOM: drawing a viewer frame (what the server's
// fallback and viewer.js do, from the 16-bit form) gives the grey levels the
// dicom package renders from the decoded file, to within one level, for signed,
// rescaled, MONOCHROME1 and 32-bit data, in the file's window and in others.
func TestPreviewRenderFrameMatchesDICOM(t *testing.T) {
	files := []string{"ct_small.dcm", "mr_small_implicit.dcm", "pet_signed_rescale.dcm", "cr_chest_mono1_implicit.dcm",
		"rtdose_15frame_32bit.dcm", "mr_10frame_native.dcm"}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			f, err := dicom.Parse(testdata(t, name), dicom.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			fr, err := f.Frame(0)
			if err != nil {
				t.Fatal(err)
			}
			v := fr.Viewer()
			for _, w := range []dicom.Window{{Center: fr.Window.Center, Width: fr.Window.Width}, {Center: 40, Width: 400}, {Center: -600, Width: 1500}, {Center: 1000, Width: 1}} {
				want, ok := fr.Render(w).(*image.Gray)
				if !ok {
					t.Fatalf("dicom rendered %T", fr.Render(w))
				}
				got := renderFrame(&v, w).(*image.Gray)
				worst, at := 0, 0
				for i := range want.Pix {
					if d := int(got.Pix[i]) - int(want.Pix[i]); abs(d) > worst {
						worst, at = abs(d), i
					}
				}
				if worst > 1 {
					t.Errorf("window %+v: pixel %d is %d, dicom renders %d", w, at, got.Pix[at], want.Pix[at])
				}
			}
		})
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
