package rle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom/internal/dicomtest"
)

func TestPackBits(t *testing.T) {
	// Header: one segment at 64; then literal "ab", a run of 4 "c", a no-op.
	src := make([]byte, 64)
	binary.LittleEndian.PutUint32(src, 1)
	binary.LittleEndian.PutUint32(src[4:], 64)
	src = append(src, 0x01, 'a', 'b', 0xFD, 'c', 0x80)
	got, err := Decode(src, 3, 2, 1, 1)
	if err != nil {
		t.Fatalf("Decode() = %v", err)
	}
	if want := []byte("abcccc"); !bytes.Equal(got, want) {
		t.Errorf("Decode() = %q, want %q", got, want)
	}
	// Two bytes per sample: segment 0 is the high byte.
	src16 := make([]byte, 64)
	binary.LittleEndian.PutUint32(src16, 2)
	binary.LittleEndian.PutUint32(src16[4:], 64)
	binary.LittleEndian.PutUint32(src16[8:], 67)
	src16 = append(src16, 0x01, 0x12, 0x34, 0x01, 0x56, 0x78)
	got, err = Decode(src16, 2, 1, 1, 2)
	if err != nil {
		t.Fatalf("Decode(16-bit) = %v", err)
	}
	if want := []byte{0x56, 0x12, 0x78, 0x34}; !bytes.Equal(got, want) {
		t.Errorf("Decode(16-bit) = % x, want % x", got, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	short := make([]byte, 64)
	binary.LittleEndian.PutUint32(short, 1)
	binary.LittleEndian.PutUint32(short[4:], 64)
	tests := map[string][]byte{
		"no header":         {1, 2, 3},
		"wrong segments":    append(append([]byte{}, short[:0]...), make([]byte, 64)...),
		"segment too short": append(short, 0x00, 'a'),
		"literal past end":  append(append([]byte{}, short...), 0x05, 'a'),
	}
	for name, src := range tests {
		if _, err := Decode(src, 4, 4, 1, 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Decode() = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, fr := range dicomtest.Frames(f, 64<<10, "1.2.840.10008.1.2.5") {
		f.Add(fr, uint8(64), uint8(64), uint8(1), uint8(2))
	}
	f.Fuzz(func(t *testing.T, src []byte, w, h, spp, bps uint8) {
		out, err := Decode(src, int(w), int(h), int(spp%4), int(bps%5))
		if err == nil && len(out) != int(w)*int(h)*int(spp%4)*int(bps%5) {
			t.Fatalf("Decode() returned %d bytes", len(out))
		}
	})
}
