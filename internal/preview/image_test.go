package preview

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom"
)

func encoded(t testing.TB, enc func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := enc(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader is a PNG that declares w×h pixels and holds almost none.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	chunk := append([]byte("IHDR"), ihdr...)
	b := append([]byte("\x89PNG\r\n\x1a\n"), binary.BigEndian.AppendUint32(nil, 13)...)
	b = append(b, chunk...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
	return append(b, 0, 0, 0, 0, 'I', 'D', 'A', 'T', 0, 0, 0, 0)
}

func TestPreviewMakeImage(t *testing.T) {
	rgba := image.NewNRGBA(image.Rect(0, 0, 600, 400))
	for i := range rgba.Pix {
		rgba.Pix[i] = 0 // fully transparent black: must come out white
	}
	landscape := encoded(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, image.NewGray(image.Rect(0, 0, 600, 400)), nil) })
	tests := []struct {
		name        string
		ctype       string
		data        []byte
		full        bool
		w, h        int // of the full view
		thumbW      int
		thumbH      int
		wantCode    string
		whiteCorner bool
	}{
		{"jpeg as it is", "image/jpeg", landscape, false, 600, 400, 320, 213, "", false},
		{"jpeg turned by EXIF", "image/jpeg", withAPP1(landscape, exifTIFF(binary.BigEndian, 6)), true, 400, 600, 213, 320, "", false},
		{"transparent png over white", "image/png", encoded(t, func(b *bytes.Buffer) error { return png.Encode(b, rgba) }), false, 600, 400, 320, 213, "", true},
		{"gif keeps its animation", "image/gif", encoded(t, func(b *bytes.Buffer) error {
			return gif.Encode(b, image.NewPaletted(image.Rect(0, 0, 30, 20), color.Palette{color.Black}), nil)
		}), false, 30, 20, 30, 20, "", false},
		{"declared gigapixels refused unread", "image/png", pngHeader(100000, 100000), false, 0, 0, 0, 0, ReasonTooLarge, false},
		{"corrupt jpeg", "image/jpeg", landscape[:300], false, 0, 0, 0, 0, ReasonCannotPreview, false},
		{"not an image at all", "image/webp", []byte("RIFF....WEBPnothing"), false, 0, 0, 0, 0, ReasonCannotPreview, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := makeFrom(t, testService(t, Limits{}), Image, tt.ctype, tt.data)
			if tt.wantCode != "" {
				var u *unpreviewable
				if !errors.As(m.err, &u) || u.code != tt.wantCode {
					t.Fatalf("err = %v, want %s", m.err, tt.wantCode)
				}
				return
			}
			if m.err != nil {
				t.Fatal(m.err)
			}
			o := m.out
			if o.full != tt.full || o.width != tt.w || o.height != tt.h || o.thumbWidth != tt.thumbW || o.thumbHeight != tt.thumbH || !o.thumb {
				t.Fatalf("outcome %+v", o)
			}
			thumb, err := jpeg.Decode(bytes.NewReader(m.store.Bytes(thumbKey("f1"))))
			if err != nil || thumb.Bounds().Dx() != tt.thumbW || thumb.Bounds().Dy() != tt.thumbH {
				t.Fatalf("thumbnail: %v %v", err, thumb.Bounds())
			}
			if tt.whiteCorner {
				if r, g, b, _ := thumb.At(0, 0).RGBA(); r>>8 < 250 || g>>8 < 250 || b>>8 < 250 {
					t.Errorf("transparent corner is %d,%d,%d, want white", r>>8, g>>8, b>>8)
				}
			}
			if (m.store.Bytes(fullKey("f1")) != nil) != tt.full {
				t.Errorf("full rendition stored: %v, want %v", !tt.full, tt.full)
			}
		})
	}
}

func TestPreviewMakeDICOM(t *testing.T) {
	s := testService(t, Limits{})
	m := makeFrom(t, s, DICOM, "application/dicom", testdata(t, "mr_10frame_native.dcm"))
	if m.err != nil {
		t.Fatal(m.err)
	}
	if o := m.out; o.frames != 10 || !o.thumb || !o.full || o.width != 64 || o.height != 64 || len(o.layout) != 1 || o.layout[0] != (instanceRef{0, 10}) {
		t.Fatalf("outcome %+v", o)
	}
	for n := range 10 {
		var v dicom.ViewerFrame
		if err := v.UnmarshalBinary(m.store.Bytes(frameKey("f1", 0, n))); err != nil || v.Index != n {
			t.Errorf("frame %d: %v, index %d", n, err, v.Index)
		}
	}
	var sums []dicom.Summary
	if err := json.Unmarshal(m.store.Bytes(summaryKey("f1")), &sums); err != nil || len(sums) != 1 || sums[0].Modality != "MR" {
		t.Errorf("summaries: %v %+v", err, sums)
	}

	garbage := append(append(make([]byte, 128), "DICM"...), bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 500)...)
	for name, data := range map[string][]byte{"garbage": garbage, "no image": testdata(t, "dicomdir_study/DICOMDIR")} {
		m := makeFrom(t, s, DICOM, "application/dicom", data)
		var u *unpreviewable
		if !errors.As(m.err, &u) || u.code != ReasonCannotPreview || !errors.Is(m.err, dicom.ErrCannotPreview) {
			t.Errorf("%s: err = %v, want cannot preview", name, m.err)
		}
	}
	s.guard = nil
	if m := makeFrom(t, s, DICOM, "application/dicom", testdata(t, "ct_small.dcm")); m.err == nil {
		t.Error("without a worker: no error")
	}
}

func TestPreviewBlockReader(t *testing.T) {
	data := make([]byte, 5*blockSize+12345)
	for i := range data {
		data[i] = byte(i * 7 >> 3)
	}
	reads := 0
	r := newBlockReader(countingReaderAt{bytes.NewReader(data), &reads}, int64(len(data)))
	for _, c := range []struct{ off, n int }{{0, 10}, {blockSize - 5, 10}, {3 * blockSize, 100}, {len(data) - 7, 7}, {10, 20}, {0, 5 * blockSize}, {len(data) - 3, 10}} {
		p := make([]byte, c.n)
		n, err := r.ReadAt(p, int64(c.off))
		want := data[c.off:min(c.off+c.n, len(data))]
		if n != len(want) || !bytes.Equal(p[:n], want) || (n < c.n) != (err != nil) {
			t.Errorf("ReadAt(%d, %d) = %d, %v", c.off, c.n, n, err)
		}
	}
	if reads > 8 {
		t.Errorf("%d reads of the source for 7 small reads", reads)
	}
}

type countingReaderAt struct {
	r *bytes.Reader
	n *int
}

func (c countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	*c.n++
	return c.r.ReadAt(p, off)
}
