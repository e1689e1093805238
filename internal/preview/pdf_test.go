package preview

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// TestSplitJPEGs cuts what pdftoppm writes for several pages — JPEGs one after
// another — back into pages, whatever bytes their scans hold.
func TestSplitJPEGs(t *testing.T) {
	var all bytes.Buffer
	sizes := []image.Point{{40, 30}, {17, 90}, {300, 200}}
	for i, sz := range sizes {
		img := image.NewGray(image.Rect(0, 0, sz.X, sz.Y))
		for p := range img.Pix {
			img.Pix[p] = byte(p*7 + i*31) // busy, so the scan holds 0xFF bytes
		}
		if err := jpeg.Encode(&all, img, &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
	}
	pages, err := splitJPEGs(all.Bytes())
	if err != nil || len(pages) != len(sizes) {
		t.Fatalf("splitJPEGs = %d pages, %v; want %d", len(pages), err, len(sizes))
	}
	for i, p := range pages {
		if w, h, err := jpegSize(p); err != nil || w != sizes[i].X || h != sizes[i].Y {
			t.Errorf("page %d: %dx%d, %v; want %v", i+1, w, h, err, sizes[i])
		}
	}
	if _, err := splitJPEGs(all.Bytes()[:all.Len()-100]); err == nil {
		t.Error("a cut-off JPEG was split without error")
	}
	if _, err := splitJPEGs([]byte("%PDF-1.4")); err == nil {
		t.Error("bytes that are no JPEG were split without error")
	}
}
