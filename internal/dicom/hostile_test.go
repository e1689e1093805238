package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
)

// dsWriter writes explicit VR little endian elements.
type dsWriter struct{ bytes.Buffer }

func (w *dsWriter) elem(t Tag, v string, value []byte) *dsWriter {
	binary.Write(w, binary.LittleEndian, []uint16{t.Group(), t.Element()})
	w.WriteString(v)
	if longVRs[vr{v[0], v[1]}] {
		binary.Write(w, binary.LittleEndian, uint16(0))
		binary.Write(w, binary.LittleEndian, uint32(len(value)))
	} else {
		binary.Write(w, binary.LittleEndian, uint16(len(value)))
	}
	w.Write(value)
	return w
}

func (w *dsWriter) us(t Tag, v uint16) *dsWriter {
	return w.elem(t, "US", binary.LittleEndian.AppendUint16(nil, v))
}

// raw appends a tag and a 4-byte length without value (undefined lengths, items).
func (w *dsWriter) raw(t Tag, v string, length uint32) *dsWriter {
	binary.Write(w, binary.LittleEndian, []uint16{t.Group(), t.Element()})
	if v != "" {
		w.WriteString(v)
		binary.Write(w, binary.LittleEndian, uint16(0))
	}
	binary.Write(w, binary.LittleEndian, length)
	return w
}

func image16(rows, cols uint16) *dsWriter {
	w := &dsWriter{}
	w.us(tagSamplesPerPixel, 1).elem(tagPhotometric, "CS", []byte("MONOCHROME2 "))
	w.us(tagRows, rows).us(tagColumns, cols).us(tagBitsAllocated, 16).us(tagBitsStored, 16).us(tagHighBit, 15).us(tagPixelRepresentation, 0)
	return w
}

func file(ts string, ds *dsWriter) []byte { return append(metaHeader(ts), ds.Bytes()...) }

// TestHostileInputs feeds files built to make a trusting parser allocate,
// recurse or read out of bounds. Each must fail cleanly, fast, and without
// allocating more than a little.
func TestHostileInputs(t *testing.T) {
	deep := &dsWriter{}
	for range 200 {
		deep.raw(newTag(0x0040, 0xA730), "SQ", undefinedLength).raw(tagItem, "", undefinedLength)
	}
	many := &dsWriter{}
	for range 2000 {
		many.elem(newTag(0x0009, 0x0010), "LO", []byte("XX"))
	}
	tests := []struct {
		name      string
		data      []byte
		lim       Limits
		want      error
		truncated bool // read as a file that ends early: the header is kept
	}{
		{"pixel data longer than the file", file(uidExplicitLE, image16(512, 512).raw(tagPixelData, "OW", 0xFFFFFFF0)), Limits{}, ErrMalformed, true},
		{"element longer than the file", file(uidExplicitLE, (&dsWriter{}).raw(newTag(0x0010, 0x0010), "UT", 1<<31)), Limits{}, ErrNoPixels, true},
		{"frames beyond the pixel limit", file(uidExplicitLE, image16(65535, 65535).elem(tagNumberOfFrames, "IS", []byte("1000")).elem(tagPixelData, "OW", make([]byte, 64))), Limits{}, ErrTooLarge, false},
		{"frame beyond the pixel limit", file(uidExplicitLE, image16(20000, 20000).elem(tagPixelData, "OW", make([]byte, 64))), Limits{}, ErrTooLarge, false},
		{"pixel data too short", file(uidExplicitLE, image16(64, 64).elem(tagPixelData, "OW", make([]byte, 64))), Limits{}, ErrMalformed, false},
		{"deep nesting", file(uidExplicitLE, deep), Limits{}, ErrTooLarge, false},
		{"too many elements", file(uidExplicitLE, many), Limits{MaxElements: 1000}, ErrTooLarge, false},
		{"item outside sequence", file(uidExplicitLE, (&dsWriter{}).raw(tagItem, "", 0)), Limits{}, ErrMalformed, false},
		{"unterminated sequence", file(uidExplicitLE, (&dsWriter{}).raw(newTag(0x0040, 0xA730), "SQ", undefinedLength)), Limits{}, ErrNoPixels, true},
		{"unterminated fragments", file(uidJPEGBaseline, image16(8, 8).raw(tagPixelData, "OB", undefinedLength).raw(tagItem, "", 0)), Limits{}, ErrMalformed, true},
		// Read as implicit VR (the VR is not one), the length runs past the end.
		{"bad VR", file(uidExplicitLE, (&dsWriter{}).elem(newTag(0x0010, 0x0010), "\x01\x02", nil)), Limits{}, ErrNoPixels, true},
		{"no DICOM", []byte("just some text that is long enough"), Limits{}, ErrNotDICOM, false},
		{"inflation bomb", func() []byte { return deflateBomb(t) }(), Limits{MaxInflatedBytes: 16 << 20}, ErrTooLarge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			f, err := Parse(tt.data, tt.lim)
			if err == nil && f.img == nil {
				err = f.imgErr
			}
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse() = %v, want %v", err, tt.want)
			}
			if f != nil && f.truncated != tt.truncated {
				t.Errorf("Parse() read a truncated file: %v, want %v", f.truncated, tt.truncated)
			}
			if a := after.TotalAlloc - before.TotalAlloc; a > 200<<20 {
				t.Errorf("Parse() allocated %d MB", a>>20)
			}
		})
	}
}

// TestEncapsulatedOffsets checks frame splitting with a wrong, a missing and a
// good basic offset table.
func TestEncapsulatedOffsets(t *testing.T) {
	src := parseFile(t, findFile(t, "mr_10frame_rle"), Limits{})
	want, err := src.Frame(9)
	if err != nil {
		t.Fatal(err)
	}
	frags := src.img.pixel.seq.frags
	for _, bot := range [][]byte{
		nil,                            // no table: one fragment per frame
		make([]byte, 40),               // all zeros: inconsistent, ignored
		bytes.Repeat([]byte{0xFF}, 40), // past the end, ignored
		frags[0].data,                  // the real table
	} {
		ds := image16(64, 64).elem(tagNumberOfFrames, "IS", []byte("10")).us(tagBitsStored, 12)
		ds.raw(tagPixelData, "OB", undefinedLength).raw(tagItem, "", uint32(len(bot)))
		ds.Write(bot)
		for _, fr := range frags[1:] {
			ds.raw(tagItem, "", uint32(len(fr.data)))
			ds.Write(fr.data)
		}
		ds.raw(tagSequenceDelimiter, "", 0)
		f, err := Parse(file(uidRLE, ds), Limits{})
		if err != nil {
			t.Fatalf("Parse() = %v", err)
		}
		got, err := f.Frame(9)
		if err != nil {
			t.Fatalf("Frame(9) with offset table %x = %v", bot[:min(8, len(bot))], err)
		}
		if !bytes.Equal(int32Bytes(got.Gray), int32Bytes(want.Gray)) {
			t.Errorf("Frame(9) with offset table %x decoded differently", bot[:min(8, len(bot))])
		}
	}
}

func int32Bytes(v []int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}
