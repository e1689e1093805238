package filetype_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/tiff"
	"golang.org/x/text/encoding/japanese"
)

// picture is a small image with some detail, for the encoders.
func picture() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for y := range 24 {
		for x := range 32 {
			img.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 10), 128, 255})
		}
	}
	return img
}

func encodeJPEG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, picture()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t *testing.T) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, picture(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeTIFF(t *testing.T) []byte {
	var b bytes.Buffer
	if err := tiff.Encode(&b, picture(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// minimalPDF is a complete one-page PDF with a correct cross-reference table.
func minimalPDF() []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
		"<< /Length 35 >>\nstream\nBT /F1 12 Tf 20 100 Td (Hi) Tj ET\nendstream",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	b.WriteString("xref\n0 5\n0000000000 65535 f \n")
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

// zipFile is an entry for buildZip.
type zipFile struct {
	name      string
	data      []byte
	encrypted bool
}

func buildZip(t *testing.T, files ...zipFile) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		fh := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
		if f.encrypted {
			fh.Flags |= 0x1 // written into the central directory at Close
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const (
	ctDocx = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`
	ctDocm = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>`
	rels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`
	wordDoc = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>紹介状</w:t></w:r></w:p></w:body></w:document>`
)

// ooxml builds an Office Open XML package with a main part at mainPart.
func ooxml(t *testing.T, contentTypes, mainPart string, extra ...zipFile) []byte {
	files := append([]zipFile{
		{name: "[Content_Types].xml", data: []byte(contentTypes)},
		{name: "_rels/.rels", data: []byte(rels)},
		{name: mainPart, data: []byte(wordDoc)},
	}, extra...)
	return buildZip(t, files...)
}

// elfHeader is the 64-byte header of an x86-64 ELF executable.
func elfHeader() []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(h[16:], 2)    // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], 0x3E) // x86-64
	binary.LittleEndian.PutUint32(h[20:], 1)
	return h
}

// peHeader is a DOS stub pointing at a PE header, as every Windows program has.
func peHeader() []byte {
	h := make([]byte, 256)
	copy(h, "MZ")
	binary.LittleEndian.PutUint32(h[0x3C:], 0x80)
	copy(h[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(h[0x84:], 0x8664)
	return h
}

func machOHeader() []byte {
	h := make([]byte, 32)
	binary.LittleEndian.PutUint32(h, 0xFEEDFACF)
	binary.LittleEndian.PutUint32(h[4:], 0x01000007)
	return h
}

func shiftJIS(t *testing.T, s string) []byte {
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wordStream is a WordDocument stream: the FIB's magic, and its flags word.
func wordStream(flags uint16, size int) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint16(b, 0xA5EC)
	binary.LittleEndian.PutUint16(b[10:], flags)
	return b
}

// workbookStream is a BIFF8 workbook globals substream with one sheet of type dt,
// optionally encrypted (FILEPASS).
func workbookStream(dt byte, encrypted bool) []byte {
	var b bytes.Buffer
	rec := func(typ uint16, data []byte) {
		binary.Write(&b, binary.LittleEndian, typ)
		binary.Write(&b, binary.LittleEndian, uint16(len(data)))
		b.Write(data)
	}
	rec(0x0809, make([]byte, 16)) // BOF
	if encrypted {
		rec(0x002F, make([]byte, 54))
	}
	rec(0x0085, []byte{0, 0, 0, 0, 0, dt, 6, 0, 'S', 'h', 'e', 'e', 't', '1'})
	rec(0x000A, nil) // EOF
	rec(0x0809, make([]byte, 16))
	return b.Bytes()
}

// packaged is an Ole10Native stream packaging a file named name.
func packaged(name string, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0, 0, 2, 0})
	b.WriteString(name + "\x00C:\\Users\\a\\" + name + "\x00")
	b.Write([]byte{0, 0, 3, 0, 0, 0, 0, 0})
	b.WriteString("C:\\Temp\\" + name + "\x00")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// readDICOM reads a file of the repository's DICOM test data.
func readDICOM(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "dicom", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withoutPreamble strips the preamble and "DICM"; withoutMeta also strips the
// file meta group (its length is in its first element), leaving the bare dataset
// older equipment writes.
func withoutPreamble(b []byte) []byte { return b[132:] }

func withoutMeta(b []byte) []byte {
	b = b[132:]
	groupLen := binary.LittleEndian.Uint32(b[8:]) // (0002,0000) UL, explicit VR: 8-byte header
	return b[12+groupLen:]
}
