package preview

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// exifTIFF is a TIFF structure whose first IFD holds a Make and an
// Orientation, so that the search has to pass an entry that is not it.
func exifTIFF(bo binary.AppendByteOrder, o uint16) []byte {
	b := []byte("MM")
	if bo == binary.AppendByteOrder(binary.LittleEndian) {
		b = []byte("II")
	}
	b = bo.AppendUint16(b, 42)
	b = bo.AppendUint32(b, 8) // the first IFD follows the header
	b = bo.AppendUint16(b, 2) // two entries
	b = bo.AppendUint16(b, 0x010F)
	b = bo.AppendUint16(b, 2) // ASCII
	b = bo.AppendUint32(b, 3)
	b = append(b, 'G', 'o', 0, 0)
	b = bo.AppendUint16(b, 0x0112)
	b = bo.AppendUint16(b, 3) // SHORT
	b = bo.AppendUint32(b, 1)
	b = bo.AppendUint16(b, o)
	b = append(b, 0, 0)
	return bo.AppendUint32(b, 0) // no next IFD
}

func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func withAPP1(jpg, tiff []byte) []byte {
	seg := append([]byte("Exif\x00\x00"), tiff...)
	hdr := append([]byte{0xFF, 0xE1}, binary.BigEndian.AppendUint16(nil, uint16(len(seg)+2))...)
	// An APP0 first, as cameras write, so the search has to walk segments.
	app0 := []byte{0xFF, 0xE0, 0x00, 0x04, 'x', 'x'}
	return append(append(append(append([]byte{}, jpg[:2]...), app0...), append(hdr, seg...)...), jpg[2:]...)
}

func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(append(b, typ...), data...)
	return append(b, 0, 0, 0, 0) // the CRC is not checked here
}

func TestPreviewOrientation(t *testing.T) {
	jpg := testJPEG(t, 8, 4)
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 4, 4)))
	p := pngBuf.Bytes()
	ihdrEnd := 8 + 12 + 13
	pngWith := append(append(append([]byte{}, p[:ihdrEnd]...), pngChunk("eXIf", exifTIFF(binary.BigEndian, 8))...), p[ihdrEnd:]...)
	webp := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	x := exifTIFF(binary.LittleEndian, 5)
	webp = append(append(append(webp, "EXIF"...), binary.LittleEndian.AppendUint32(nil, uint32(len(x)))...), x...)
	tests := []struct {
		name   string
		format string
		data   []byte
		want   int
	}{
		{"jpeg little endian", "jpeg", withAPP1(jpg, exifTIFF(binary.LittleEndian, 6)), 6},
		{"jpeg big endian", "jpeg", withAPP1(jpg, exifTIFF(binary.BigEndian, 3)), 3},
		{"jpeg without exif", "jpeg", jpg, 1},
		{"jpeg with a bad value", "jpeg", withAPP1(jpg, exifTIFF(binary.LittleEndian, 9)), 1},
		{"jpeg with a cut segment", "jpeg", withAPP1(jpg, exifTIFF(binary.LittleEndian, 6))[:20], 1},
		{"tiff", "tiff", exifTIFF(binary.BigEndian, 7), 7},
		{"png eXIf", "png", pngWith, 8},
		{"png without", "png", p, 1},
		{"webp EXIF", "webp", webp, 5},
		{"garbage", "jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := orientation(tt.format, bytes.NewReader(tt.data), int64(len(tt.data))); got != tt.want {
				t.Errorf("orientation = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestOrient checks every orientation against where the camera's corners end
// up (EXIF 2.3, table of Orientation values: where row 0 and column 0 are).
func TestPreviewOrient(t *testing.T) {
	// A 3×2 image whose pixels are numbered 1..6 row by row:
	//   1 2 3
	//   4 5 6
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Set(i%3, i/3, color.RGBA{uint8(i + 1), 0, 0, 255})
	}
	want := map[int][]string{
		1: {"123", "456"},
		2: {"321", "654"},
		3: {"654", "321"},
		4: {"456", "123"},
		5: {"14", "25", "36"},
		6: {"41", "52", "63"},
		7: {"63", "52", "41"},
		8: {"36", "25", "14"},
	}
	for o := 1; o <= 8; o++ {
		got := orient(src, o)
		var rows []string
		for y := range got.Rect.Dy() {
			row := ""
			for x := range got.Rect.Dx() {
				row += string(rune('0' + got.RGBAAt(x, y).R))
			}
			rows = append(rows, row)
		}
		if len(rows) != len(want[o]) || func() bool {
			for i := range rows {
				if rows[i] != want[o][i] {
					return true
				}
			}
			return false
		}() {
			t.Errorf("orientation %d: %v, want %v", o, rows, want[o])
		}
	}
}

func TestPreviewFit(t *testing.T) {
	tests := []struct{ w, h, size, ww, wh int }{
		{4000, 3000, 320, 320, 240},
		{3000, 4000, 320, 240, 320},
		{100, 50, 320, 100, 50},
		{10000, 1, 320, 320, 1},
		{320, 320, 320, 320, 320},
	}
	for _, tt := range tests {
		if w, h := fit(tt.w, tt.h, tt.size); w != tt.ww || h != tt.wh {
			t.Errorf("fit(%d, %d, %d) = %d, %d; want %d, %d", tt.w, tt.h, tt.size, w, h, tt.ww, tt.wh)
		}
	}
}
