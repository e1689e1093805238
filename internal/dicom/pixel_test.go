package dicom

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// synthetic builds an explicit VR little endian image file. Elements written by
// extra come first, so they win over the defaults (lookups take the first).
func synthetic(photometric string, rows, cols, spp, bits int, signed bool, pixels []byte, extra func(*dsWriter)) []byte {
	w := &dsWriter{}
	if extra != nil {
		extra(w)
	}
	w.us(tagSamplesPerPixel, uint16(spp))
	pi := []byte(photometric)
	if len(pi)%2 == 1 {
		pi = append(pi, ' ')
	}
	w.elem(tagPhotometric, "CS", pi)
	w.us(tagRows, uint16(rows)).us(tagColumns, uint16(cols))
	w.us(tagBitsAllocated, uint16(bits)).us(tagBitsStored, uint16(bits)).us(tagHighBit, uint16(bits-1))
	rep := uint16(0)
	if signed {
		rep = 1
	}
	w.us(tagPixelRepresentation, rep)
	if len(pixels)%2 == 1 {
		pixels = append(pixels, 0)
	}
	w.elem(tagPixelData, "OB", pixels)
	return file(uidExplicitLE, w)
}

func frame0(t *testing.T, data []byte) *Frame {
	t.Helper()
	f, err := Parse(data, Limits{})
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	fr, err := f.Frame(0)
	if err != nil {
		t.Fatalf("Frame(0) = %v", err)
	}
	return fr
}

func TestNativeYBR422(t *testing.T) {
	// Two pixel pairs: Y1 Y2 Cb Cr. Grey (Cb = Cr = 128) and pure red-ish.
	px := []byte{10, 200, 128, 128, 76, 76, 85, 255}
	fr := frame0(t, synthetic("YBR_FULL_422", 1, 4, 3, 8, false, px, func(w *dsWriter) { w.us(tagPlanarConfiguration, 0) }))
	want := []uint8{10, 10, 10, 200, 200, 200, 255, 0, 0, 255, 0, 0}
	if d, _ := maxDiff(fr.RGB, want); d > 1 {
		t.Errorf("RGB = %v, want %v", fr.RGB, want)
	}
}

func TestOneBitPixels(t *testing.T) {
	// Two 4×2 frames packed LSB first: 0b10110001, then 0b01001110.
	data := synthetic("MONOCHROME2", 2, 4, 1, 1, false, []byte{0b10110001, 0b01001110}, func(w *dsWriter) {
		w.elem(tagNumberOfFrames, "IS", []byte("2 "))
	})
	f, err := Parse(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]int32{{1, 0, 0, 0, 1, 1, 0, 1}, {0, 1, 1, 1, 0, 0, 1, 0}} {
		fr, err := f.Frame(i)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(fr.Gray, want) {
			t.Errorf("frame %d = %v, want %v", i, fr.Gray, want)
		}
	}
}

func TestPlanarRGBAndSigned(t *testing.T) {
	fr := frame0(t, synthetic("RGB", 1, 2, 3, 8, false, []byte{1, 2, 3, 4, 5, 6}, func(w *dsWriter) { w.us(tagPlanarConfiguration, 1) }))
	if want := []uint8{1, 3, 5, 2, 4, 6}; !cmp.Equal(fr.RGB, want) {
		t.Errorf("planar RGB = %v, want %v", fr.RGB, want)
	}
	// 12 bits stored at bits 4..15 (HighBit 15), signed.
	px := make([]byte, 4)
	binary.LittleEndian.PutUint16(px, 0xFFF0)     // −1
	binary.LittleEndian.PutUint16(px[2:], 0x7FF0) // 2047
	fr = frame0(t, synthetic("MONOCHROME2", 1, 2, 1, 16, true, px, func(w *dsWriter) {
		w.us(tagBitsStored, 12).us(tagHighBit, 15)
	}))
	if want := []int32{-1, 2047}; !cmp.Equal(fr.Gray, want) {
		t.Errorf("signed 12-bit at high bit 15 = %v, want %v", fr.Gray, want)
	}
}

func TestSegmentedPalette(t *testing.T) {
	// Discrete 0, 0x1000; linear to 0x4000 in 3 steps; indirect copy of the
	// first (discrete) segment.
	seg := []uint16{0, 2, 0x0000, 0x1000, 1, 3, 0x4000, 2, 1, 0, 0}
	got, err := segmentedLUT(seg, 7, 16)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint8{0x00, 0x10, 0x20, 0x30, 0x40, 0x00, 0x10}; !cmp.Equal(got, want) {
		t.Errorf("segmentedLUT = %x, want %x", got, want)
	}
	for _, bad := range [][]uint16{{1, 3, 5}, {0, 9, 1}, {2, 1, 5, 0}, {7, 1, 1}} {
		if _, err := segmentedLUT(bad, 16, 16); err == nil {
			t.Errorf("segmentedLUT(%v) succeeded", bad)
		}
	}
}

func TestModalityLUT(t *testing.T) {
	// A Modality LUT Sequence mapping 0..3 to 100, 200, 300, 400.
	item := &dsWriter{}
	item.elem(tagLUTDescriptor, "US", []byte{4, 0, 0, 0, 16, 0})
	item.elem(tagLUTData, "OW", []byte{100, 0, 200, 0, 44, 1, 144, 1})
	fr := frame0(t, synthetic("MONOCHROME2", 1, 4, 1, 8, false, []byte{0, 1, 2, 3}, func(w *dsWriter) {
		w.raw(tagModalityLUTSeq, "SQ", uint32(8+item.Len())).raw(tagItem, "", uint32(item.Len()))
		w.Write(item.Bytes())
	}))
	if want := []int32{100, 200, 300, 400}; !cmp.Equal(fr.Gray, want) || fr.Slope != 1 || fr.Intercept != 0 {
		t.Errorf("Modality LUT: Gray = %v, slope %v, intercept %v", fr.Gray, fr.Slope, fr.Intercept)
	}
}

func TestVOIFunctions(t *testing.T) {
	tests := []struct {
		fn   string
		x    float64
		want float64
	}{
		{"LINEAR", 40, 127.5}, // the centre
		{"LINEAR", -200, 0},   // below
		{"LINEAR", 300, 255},  // above
		{"LINEAR_EXACT", 40, 127.5},
		{"LINEAR_EXACT", 240, 255},
		{"SIGMOID", 40, 127.5},
		{"SIGMOID", 240, 255 / (1 + math.Exp(-2))},
	}
	for _, tt := range tests {
		v := voi{c: 40, w: 400, fn: tt.fn, lo: 0, hi: 255}
		if got := v.level(tt.x); math.Abs(got-tt.want) > 0.7 {
			t.Errorf("%s(%v) = %v, want %v", tt.fn, tt.x, got, tt.want)
		}
	}
}
