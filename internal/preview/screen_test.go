package preview

import (
	"archive/zip"
	"bytes"
	"image"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom"
)

// TestPreviewScreenFrames: a frame larger than dicom.ScreenMaxSide gets a
// screen-sized rendition beside it, in a single file and in a study (where the
// child reads the ZIP entry part by part); a small frame gets none; a region of
// the frame decodes at full resolution and matches the frame.
func TestPreviewScreenFrames(t *testing.T) {
	s := testService(t, Limits{})
	chest := testdata(t, "cr_chest_mono1_implicit.dcm") // 1760×2140
	m := makeFrom(t, s, DICOM, "application/dicom", chest)
	if m.err != nil {
		t.Fatal(m.err)
	}
	var full, screen dicom.ViewerFrame
	if err := full.UnmarshalBinary(m.store.Bytes(frameKey("f1", 0, 0))); err != nil || full.Width != 1760 || full.Height != 2140 {
		t.Fatalf("frame: %v, %d×%d", err, full.Width, full.Height)
	}
	if err := screen.UnmarshalBinary(m.store.Bytes(screenKey("f1", 0, 0))); err != nil ||
		max(screen.Width, screen.Height) != dicom.ScreenMaxSide || screen.SourceWidth != 1760 || screen.SourceHeight != 2140 {
		t.Fatalf("screen frame: %v, %d×%d of %d×%d", err, screen.Width, screen.Height, screen.SourceWidth, screen.SourceHeight)
	}
	if screen.WindowCenter != full.WindowCenter || screen.WindowWidth != full.WindowWidth || screen.Invert != full.Invert {
		t.Errorf("screen window %v/%v invert %v, frame %v/%v invert %v", screen.WindowCenter, screen.WindowWidth, screen.Invert,
			full.WindowCenter, full.WindowWidth, full.Invert)
	}
	small := makeFrom(t, s, DICOM, "application/dicom", testdata(t, "mr_10frame_native.dcm"))
	if small.err != nil || small.store.Bytes(screenKey("f1", 0, 0)) != nil {
		t.Errorf("a 64×64 frame: %v, has a screen rendition", small.err)
	}

	in := &sourceReader{c: bytes.NewReader(chest), size: int64(len(chest))}
	b, err := s.region(t.Context(), DICOM, in, 0, 0, image.Rect(100, 200, 164, 232))
	var reg dicom.ViewerFrame
	if err != nil || reg.UnmarshalBinary(b) != nil || reg.Width != 64 || reg.Height != 32 || reg.Region != [4]int{100, 200, 64, 32} {
		t.Fatalf("region: %v, %d×%d %v", err, reg.Width, reg.Height, reg.Region)
	}
	for y := range 32 {
		for x := range 64 {
			got := float64(reg.Pixels[y*64+x])*reg.Slope + reg.Intercept
			want := float64(full.Pixels[(200+y)*1760+100+x])*full.Slope + full.Intercept
			if got != want {
				t.Fatalf("region (%d,%d) = %v, frame %v", x, y, got, want)
			}
		}
	}
	if _, err := s.region(t.Context(), DICOM, in, 0, 0, image.Rect(5000, 5000, 5010, 5010)); err != ErrNoFrame {
		t.Errorf("region outside the frame: %v", err)
	}

	// A study: the chest deflated, a small file stored.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name   string
		method uint16
		data   []byte
	}{{"A/SMALL", zip.Store, testdata(t, "ct_small.dcm")}, {"A/CHEST", zip.Deflate, chest}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	zw.Close()
	st := makeFrom(t, s, Study, "application/zip", buf.Bytes())
	if st.err != nil || st.out.frames != 2 {
		t.Fatalf("study: %v, %+v", st.err, st.out)
	}
	var ss dicom.ViewerFrame
	if err := ss.UnmarshalBinary(st.store.Bytes(screenKey("f1", 1, 0))); err != nil || ss.SourceWidth != 1760 || ss.Height != dicom.ScreenMaxSide {
		t.Errorf("study screen frame: %v %d×%d of %d", err, ss.Width, ss.Height, ss.SourceWidth)
	}
	if st.store.Bytes(screenKey("f1", 0, 0)) != nil {
		t.Error("the small entry has a screen rendition")
	}
	zin := &sourceReader{c: bytes.NewReader(buf.Bytes()), size: int64(buf.Len())}
	b, err = s.region(t.Context(), Study, zin, 1, 0, image.Rect(100, 200, 164, 232))
	var zreg dicom.ViewerFrame
	if err != nil || zreg.UnmarshalBinary(b) != nil || zreg.Region != reg.Region || !slices.Equal(zreg.Pixels, reg.Pixels) {
		t.Errorf("study region: %v, %v", err, zreg.Region)
	}
}

// TestPreviewEntryReader: reads at any offset of a deflated entry, forward and
// back, give its bytes.
func TestPreviewEntryReader(t *testing.T) {
	data := make([]byte, 3<<20+123)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.IntN(16))
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("x")
	w.Write(data)
	zw.Close()
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	er := &entryReader{zf: zr.File[0]}
	defer er.close()
	for _, c := range []struct{ off, n int }{{0, 132}, {1 << 20, 5000}, {100, 10}, {3 << 20, 123}, {3<<20 + 100, 100}} {
		p := make([]byte, c.n)
		n, err := er.ReadAt(p, int64(c.off))
		want := data[c.off:min(c.off+c.n, len(data))]
		if !bytes.Equal(p[:n], want) || (n < c.n) != (err == io.EOF) {
			t.Errorf("ReadAt(%d, %d): %d bytes, %v", c.off, c.n, n, err)
		}
	}
}
