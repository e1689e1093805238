package j2k

import (
	"errors"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom/internal/dicomtest"
)

const (
	syntaxJ2K   = "1.2.840.10008.1.2.4.9"
	syntaxHTJ2K = "1.2.840.10008.1.2.4.20" // .201, .202, .203
)

// TestDecodeTestFiles decodes every JPEG 2000 frame of the test files; the
// dicom package compares the pixels with GDCM's (OpenJPEG's).
func TestDecodeTestFiles(t *testing.T) {
	frames := dicomtest.Frames(t, 1<<30, syntaxJ2K)
	if len(frames) < 15 {
		t.Fatalf("found only %d JPEG 2000 frames", len(frames))
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
		if len(fr) > 64<<10 {
			continue // truncating the large frames adds time, not coverage
		}
		for _, n := range []int{2, 40, 200, len(fr) / 2, len(fr) - 1} {
			if _, err := Decode(fr[:max(0, min(n, len(fr)))], 1<<24); err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Errorf("frame %d cut at %d: %v", i, n, err)
			}
		}
		if _, err := Decode(fr, 10); !errors.Is(err, ErrInvalid) {
			t.Errorf("frame %d: Decode with a 10-sample limit = %v", i, err)
		}
	}
}

func TestTagTree(t *testing.T) {
	// A 3×1 tree with leaves 1, 0, 2 (parents 0 and 2, root 0), each leaf
	// read with rising thresholds: leaf 0 costs 1101, leaf 1 costs 1, leaf 2
	// costs 0, 0, 11.
	bits := []byte{0b1101_1001, 0b1000_0000}
	br := &bitReader{data: bits}
	tt := newTagTree(3, 1)
	want := []int{1, 0, 2}
	for leaf, w := range want {
		v := 0
		for {
			ok, err := tt.decode(br, leaf, v+1)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				break
			}
			v++
		}
		if v != w {
			t.Errorf("leaf %d = %d, want %d", leaf, v, w)
		}
	}
}

func TestLift53Inverts(t *testing.T) {
	// Forward 5/3 on a signal starting at an odd coordinate, then inverse.
	for _, i0 := range []int{0, 1, 6, 7} {
		x := []int32{5, -3, 12, 7, 7, 0, -20, 33, 4}
		y := append([]int32(nil), x...)
		n := len(y)
		at := func(k int) int32 { return y[reflect(k, n)] }
		for k := 1 - i0&1; k < n; k += 2 { // predict odd
			y[k] -= (at(k-1) + at(k+1)) >> 1
		}
		for k := i0 & 1; k < n; k += 2 { // update even
			y[k] += (at(k-1) + at(k+1) + 2) >> 2
		}
		lift53(y, i0)
		for k := range x {
			if x[k] != y[k] {
				t.Fatalf("i0=%d: inverse(forward(x)) = %v, want %v", i0, y, x)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, fr := range dicomtest.Frames(f, 16<<10, syntaxJ2K) {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		img, err := Decode(src, 1<<18)
		if err == nil && len(img.Pix) != img.Width*img.Height*img.Components {
			t.Fatalf("%d samples for %d×%d×%d", len(img.Pix), img.Width, img.Height, img.Components)
		}
	})
}

// FuzzDecodeHT fuzzes High-Throughput JPEG 2000 codestreams, whose block coder
// (ht.go) is separate from part 1's. At most 2^18 samples may cost at most
// 64 MiB of allocations, whatever the codestream declares.
func FuzzDecodeHT(f *testing.F) {
	frames := dicomtest.Frames(f, 24<<10, syntaxHTJ2K)
	if len(frames) < 10 {
		f.Fatalf("found only %d HTJ2K frames", len(frames))
	}
	for _, fr := range frames {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		defer dicomtest.AllocCap(t, 64<<20)()
		img, err := Decode(src, 1<<18)
		if err == nil && len(img.Pix) != img.Width*img.Height*img.Components {
			t.Fatalf("%d samples for %d×%d×%d", len(img.Pix), img.Width, img.Height, img.Components)
		}
	})
}
