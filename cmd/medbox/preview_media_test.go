package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	stdjpeg "image/jpeg"

	"golang.org/x/image/tiff"

	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// halves is a w×h image, left half red and right half blue.
func halves(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{0, 0, 255, 255}
			if x < w/2 {
				c = color.RGBA{255, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// jpegWithOrientation encodes img as a JPEG carrying an EXIF orientation.
func jpegWithOrientation(t testing.TB, img image.Image, orientation uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := stdjpeg.Encode(&buf, img, &stdjpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	tiffHdr := []byte("II*\x00\x08\x00\x00\x00")
	ifd := binary.LittleEndian.AppendUint16(nil, 1)          // one entry
	ifd = binary.LittleEndian.AppendUint16(ifd, 0x0112)      // Orientation
	ifd = binary.LittleEndian.AppendUint16(ifd, 3)           // SHORT
	ifd = binary.LittleEndian.AppendUint32(ifd, 1)           // one value
	ifd = binary.LittleEndian.AppendUint16(ifd, orientation) // the value
	ifd = append(ifd, 0, 0, 0, 0, 0, 0)                      // padding, next IFD = 0
	exif := append(append([]byte("Exif\x00\x00"), tiffHdr...), ifd...)
	seg := append([]byte{0xFF, 0xE1}, binary.BigEndian.AppendUint16(nil, uint16(len(exif)+2))...)
	seg = append(seg, exif...)
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), seg...), b[2:]...)
}

// colourAt returns the colour of img at the given fractions of its size.
func colourAt(img image.Image, fx, fy float64) (r, g, b uint32) {
	bd := img.Bounds()
	r, g, b, _ = img.At(bd.Min.X+int(fx*float64(bd.Dx())), bd.Min.Y+int(fy*float64(bd.Dy()))).RGBA()
	return r >> 8, g >> 8, b >> 8
}

func isRed(img image.Image, fx, fy float64) bool {
	r, g, b := colourAt(img, fx, fy)
	return r > 180 && g < 80 && b < 80
}

func isBlue(img image.Image, fx, fy float64) bool {
	r, g, b := colourAt(img, fx, fy)
	return b > 180 && r < 80 && g < 80
}

func encodeWith(t testing.TB, enc func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := enc(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// heicHalves is a 256×192 HEIC, red left and blue right, made with libheif's
// heif-enc from a PNG (gen2brain/heic v0.4.5 mixes up the colours of HEICs
// under about 128 pixels wide; photos are far larger).
const heicHalves = "AAAAHGZ0eXBoZWljAAAAAG1pZjFoZWljbWlhZgAAAUJtZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAAAAAAAAAAAAAA" +
	"AA5waXRtAAAAAAABAAAAImlsb2MAAAAAREAAAQABAAAAAAFmAAEAAAAAAAABKAAAACNpaW5mAAAAAAABAAAAFWluZmUCAAAAAAEA" +
	"AGh2YzEAAAAAwmlwcnAAAACkaXBjbwAAAHhodmNDAQNwAAAAAAAAAAAAPPAA/P34+AAADwMgAAEAGEABDAH//wNwAAADAJAAAAMA" +
	"AAMAPLoCQCEAAQArQgEBA3AAAAMAkAAAAwAAAwA8oAgIDBZbqSSmubgQEDAgAAADACAAAAMAISIAAQAHRAHBcrBiQAAAABRpc3Bl" +
	"AAAAAAAAAQAAAADAAAAAEHBpeGkAAAAAAwgICAAAABZpcG1hAAAAAAAAAAEAAQOBAoMAAAEwbWRhdAAAASQoAa8GNnZ9oFr8/Tf5" +
	"ne///8r13of72Diq8QmPu8nVq825B2pf6zdXS/6jEv//6BbDrGpj8fUT6nYLYtAZbgWc62pd9nHoGo7zFxJkaCHa0YJoCa/Zar0f" +
	"DvIGuWi8W7LmCTGq+5XWfAfyTzWt4h6UrvvSqFmYqz8JBKEQ3kbcgrtodU1gxqbX+Tw05Q7RLIkAAAMDfoavmszeYNNBqvzV/kQy" +
	"n06C+myXhl7fH6yIgAAHfAAAAwPaoC/CVfiXrd/9zPJUls8x153hvbFsDXLReLdl7BJjVfcrrPgP5JkXQ8Q9KV33pVDzMVZ+EglC" +
	"IbyNr5Mbb9U1gxqbX+UiL6wNOS4O2kt7NrhdvLYEWi0Go/NX+RDKfToL6bCoSKzR+PqRCAWM"

func heicSample(t testing.TB) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(heicHalves)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPreviewImages: a JPEG with EXIF orientation 6 comes out turned upright,
// HEIC and TIFF get full-size JPEG renditions, and images browsers show as they
// are (PNG, GIF) get thumbnails while their full view is the file itself.
func TestPreviewImages(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		src := halves(60, 40) // red left, blue right
		files := map[string][]byte{
			"rotated.jpg": jpegWithOrientation(t, src, 6),
			"photo.heic":  heicSample(t),
			"scan.tif":    encodeWith(t, func(b *bytes.Buffer) error { return tiff.Encode(b, halves(50, 30), nil) }),
			"wide.png":    encodeWith(t, func(b *bytes.Buffer) error { return png.Encode(b, halves(500, 300)) }),
			"anim.gif":    encodeWith(t, func(b *bytes.Buffer) error { return gif.Encode(b, halves(40, 40), nil) }),
		}
		ids := map[string]string{}
		for name, data := range files {
			ids[name] = x.sender.upload(x.box, name, data)
		}
		in.previewsMade()
		pv := func(name, q string) image.Image { return x.rcpt.jpegOf("/api/v1/files/" + ids[name] + "/preview" + q) }

		// Orientation 6 turns the camera's picture a quarter clockwise: the red
		// left half ends up on top.
		for _, q := range []string{"", "?size=full"} {
			img := pv("rotated.jpg", q)
			if b := img.Bounds(); b.Dx() != 40 || b.Dy() != 60 {
				t.Errorf("rotated.jpg preview%s is %dx%d, want 40x60", q, b.Dx(), b.Dy())
			}
			if !isRed(img, 0.5, 0.2) || !isBlue(img, 0.5, 0.8) {
				t.Errorf("rotated.jpg preview%s: top %v, bottom %v; want red over blue", q, fmt.Sprint(colourAt(img, 0.5, 0.2)), fmt.Sprint(colourAt(img, 0.5, 0.8)))
			}
		}
		for _, q := range []string{"", "?size=full"} {
			if img := pv("photo.heic", q); img.Bounds().Dx() != 256 || img.Bounds().Dy() != 192 || !isRed(img, 0.2, 0.5) || !isBlue(img, 0.8, 0.5) {
				t.Errorf("HEIC preview%s is %v, red-blue %v %v; want 256x192 full size", q, img.Bounds(), isRed(img, 0.2, 0.5), isBlue(img, 0.8, 0.5))
			}
		}
		if img := pv("scan.tif", "?size=full"); img.Bounds().Dx() != 50 || img.Bounds().Dy() != 30 || !isRed(img, 0.2, 0.5) || !isBlue(img, 0.8, 0.5) {
			t.Errorf("TIFF rendition is %v, red-blue %v %v", img.Bounds(), isRed(img, 0.2, 0.5), isBlue(img, 0.8, 0.5))
		}
		if img := pv("wide.png", ""); img.Bounds().Dx() != 320 || img.Bounds().Dy() != 192 {
			t.Errorf("PNG thumbnail is %v, want 320x192", img.Bounds())
		}
		pv("anim.gif", "")
		for _, name := range []string{"wide.png", "anim.gif"} {
			status, _, h := x.rcpt.do("GET", "/api/v1/files/"+ids[name]+"/preview?size=full", nil, nil)
			if status != http.StatusSeeOther || h.Get("Location") != "/api/v1/files/"+ids[name]+"/content?inline=1" {
				t.Errorf("%s full view: %d to %q, want 303 to the file inline", name, status, h.Get("Location"))
			}
		}
		browser := webSignIn(t, in, x.rcpt)
		status, page := browser.get("/boxes/" + x.box + "/files/" + ids["photo.heic"])
		if status != http.StatusOK || !strings.Contains(page, `<img src="/api/v1/files/`+ids["photo.heic"]+`/preview?size=full" width="256" height="192"`) {
			t.Errorf("HEIC viewer page %d does not show the rendition", status)
		}
		for _, id := range ids {
			for _, p := range previewRoutes(id)[:2] {
				if status, _, _ := x.outside.do("GET", p, nil, nil); status != http.StatusNotFound {
					t.Errorf("outsider GET %s: %d", p, status)
				}
			}
		}
		thumb := encodeWith(t, func(b *bytes.Buffer) error {
			_, body, _ := x.rcpt.do("GET", "/api/v1/files/"+ids["wide.png"]+"/preview", nil, nil)
			_, err := b.Write(body)
			return err
		})
		assertNoPlaintext(t, in, map[string][]byte{"PNG thumbnail": thumb[len(thumb)/2 : len(thumb)/2+64]})
	})
}

// previewPDF is a one-page PDF with a filled rectangle and a line of text.
func previewPDF() []byte {
	stream := "BT /F1 24 Tf 20 60 Td (MedBox PDF) Tj ET 0 0.5 1 rg 20 10 160 30 re f"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// testVideo makes a two-second MP4 with ffmpeg's test pattern.
func testVideo(t testing.TB) []byte {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		sqltest.Unavailable(t, "ffmpeg (Debian package ffmpeg) is not installed")
	}
	out := filepath.Join(t.TempDir(), "clip.mp4")
	cmd := exec.Command(ffmpeg, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10", "-t", "2",
		"-pix_fmt", "yuv420p", "-movflags", "+faststart", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make a test video: %v: %s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPreviewVideoAndPDF: ffmpeg takes a poster frame from an MP4 and pdftoppm
// renders a PDF's pages, both sandboxed; the viewer page plays the video and
// shows the PDF's first page as an image (never the PDF itself).
func TestPreviewVideoAndPDF(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		sqltest.Unavailable(t, "pdftoppm (Debian package poppler-utils) is not installed")
	}
	video := testVideo(t)
	eachDB(t, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		mp4 := x.sender.upload(x.box, "echo.mp4", video)
		pdf := x.sender.upload(x.box, "紹介状.pdf", previewPDF())
		in.previewsMade()
		if img := x.rcpt.jpegOf("/api/v1/files/" + mp4 + "/preview"); img.Bounds().Dx() != 320 || img.Bounds().Dy() != 240 {
			t.Errorf("video thumbnail is %v, want 320x240", img.Bounds())
		}
		x.rcpt.jpegOf("/api/v1/files/" + mp4 + "/preview?size=full")
		page := x.rcpt.jpegOf("/api/v1/files/" + pdf + "/preview?size=full")
		if b := page.Bounds(); b.Dx() != 1600 || b.Dy() != 800 {
			t.Errorf("PDF page is %v, want 1600x800", b)
		}
		if thumb := x.rcpt.jpegOf("/api/v1/files/" + pdf + "/preview"); thumb.Bounds().Dx() != 320 || !isBlueish(thumb, 0.5, 0.75) {
			t.Errorf("PDF thumbnail is %v, colour at the rectangle %v", thumb.Bounds(), fmt.Sprint(colourAt(thumb, 0.5, 0.75)))
		}
		browser := webSignIn(t, in, x.rcpt)
		_, vpage := browser.get("/boxes/" + x.box + "/files/" + mp4)
		if !strings.Contains(vpage, `<video controls playsinline preload="metadata" src="/api/v1/files/`+mp4+`/content?inline=1" poster="/api/v1/files/`+mp4+`/preview?size=full">`) {
			t.Errorf("video page has no player with a poster")
		}
		_, ppage := browser.get("/boxes/" + x.box + "/files/" + pdf)
		if !strings.Contains(ppage, `src="/api/v1/files/`+pdf+`/preview?page=1"`) || strings.Contains(ppage, "content?inline=1") {
			t.Errorf("PDF viewer does not show the first page as an image, or opens the PDF inline")
		}
		status, body, h := x.rcpt.do("GET", "/api/v1/files/"+mp4+"/content?inline=1", nil, map[string]string{"Range": "bytes=100-199"})
		if status != http.StatusPartialContent || len(body) != 100 || h.Get("Content-Type") != "video/mp4" {
			t.Errorf("video range: %d, %d bytes, %s", status, len(body), h.Get("Content-Type"))
		}
		for _, p := range []string{"/api/v1/files/" + mp4 + "/preview", "/api/v1/files/" + pdf + "/preview?size=full"} {
			if status, _, _ := x.outside.do("GET", p, nil, nil); status != http.StatusNotFound {
				t.Errorf("outsider GET %s: %d", p, status)
			}
		}
		assertNoPlaintext(t, in, map[string][]byte{"PDF text": []byte("MedBox PDF"), "video header": video[4:12]})
	})
}

func isBlueish(img image.Image, fx, fy float64) bool {
	r, _, b := colourAt(img, fx, fy)
	return b > 200 && r < 60
}
