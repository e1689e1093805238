package filetype_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/medbox-jp/medbox/internal/filetype"
)

// FuzzDetect feeds hostile bytes to every parser behind Detect (DICOM, ZIP
// directory, OLE2 sectors, Office records): it must answer, never panic, and
// any error must be a refusal.
func FuzzDetect(f *testing.F) {
	t := &testing.T{}
	for _, seed := range [][]byte{
		encodePNG(t), minimalPDF(), elfHeader(), []byte("a,b\n1,2\n"),
		buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 600)}, {path: "Macros", storage: true}}),
		buildOLE([]oleItem{{path: "Workbook", data: workbookStream(0, false)}}),
		buildOLE([]oleItem{{path: "\x01Ole10Native", data: packaged("a.pdf", minimalPDF())}}),
		buildZip(t, zipFile{name: "[Content_Types].xml", data: []byte(ctDocx)}, zipFile{name: "word/document.xml", data: []byte(wordDoc)}),
		buildZip(t, zipFile{name: "word/embeddings/oleObject1.bin", data: buildOLE([]oleItem{{path: "VBA", storage: true}})}, zipFile{name: "[Content_Types].xml", data: []byte(ctDocx)}),
	} {
		f.Add(seed, "x")
	}
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		k, err := filetype.Detect(bytes.NewReader(b), int64(len(b)), name)
		if err != nil {
			var rf *filetype.Refusal
			if !errors.As(err, &rf) || !errors.Is(err, filetype.ErrNotAllowed) {
				t.Fatalf("Detect error %v is not a refusal", err)
			}
			return
		}
		if k.Class == "" || k.MIME == "" {
			t.Fatalf("Detect = %+v with no class or MIME", k)
		}
	})
}

// FuzzContainer puts hostile bytes inside containers — a ZIP entry, deflated
// and stored, two ZIPs down, a part of a Word document, a stream of a legacy
// Word file — and checks that the walk always answers with a kind or a
// refusal, and judges an entry of an archive as it judges the same bytes
// uploaded alone: refused alone, refused inside; accepted alone, accepted
// inside unless a container limit (depth, entries, expansion, compression)
// refuses it.
func FuzzContainer(f *testing.F) {
	t := &testing.T{}
	for _, seed := range [][]byte{
		nil, encodeJPEG(t), peHeader(), minimalPDF(), []byte("a,b\n1,2\n"), append(bytes.Repeat([]byte("経過良好\n"), 700), noise(1, 64)...),
		[]byte("<html><script>alert(1)</script></html>"),
		zipOf(t, entry{name: "inner.zip", data: zipOf(t, entry{name: "run.exe", data: peHeader()})}),
		zipOf(t, entry{name: "a.csv", data: []byte("a"), flags: 1}),
		nest(t, 2, entry{name: "photo.jpg", data: encodeJPEG(t)}),
		ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/embeddings/oleObject1.bin", data: buildOLE([]oleItem{{path: "\x01Ole10Native", data: packaged("a.pdf", minimalPDF())}})}),
		buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 600)}, {path: "Package", data: zipOf(t, entry{name: "a.txt", data: []byte("hi")})}}),
	} {
		f.Add(seed)
	}
	limit := map[string]bool{filetype.CodeNested: true, filetype.CodeEntries: true, filetype.CodeExpands: true, filetype.CodeCompression: true}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, aloneErr := detectFuzz(t, "alone", b, "entry")
		for _, w := range []struct {
			name string
			data []byte
		}{
			{"deflated entry", zipOf(t, entry{name: "entry", data: b})},
			{"stored entry", zipOf(t, entry{name: "entry", data: b, stored: true})},
			{"two archives down", zipOf(t, entry{name: "a.zip", data: zipOf(t, entry{name: "entry", data: b})})},
		} {
			_, err := detectFuzz(t, w.name, w.data, "a.zip")
			var rf *filetype.Refusal
			switch {
			case aloneErr != nil && err == nil:
				t.Fatalf("%s: accepted, but refused alone: %v", w.name, aloneErr)
			case aloneErr == nil && errors.As(err, &rf) && !limit[rf.Code]:
				t.Fatalf("%s: refused (%v), but accepted alone", w.name, err)
			}
		}
		detectFuzz(t, "document part", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/embeddings/entry.bin", data: b}), "a.docx")
		detectFuzz(t, "OLE2 stream", buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 600)}, {path: "ObjectPool", storage: true},
			{path: "ObjectPool/_1", storage: true}, {path: "ObjectPool/_1/Package", data: b}}), "a.doc")
	})
}

// detectFuzz runs Detect and fails on an error that is not a refusal.
func detectFuzz(t *testing.T, what string, b []byte, name string) (filetype.Kind, error) {
	k, err := filetype.Detect(bytes.NewReader(b), int64(len(b)), name)
	var rf *filetype.Refusal
	if err != nil && (!errors.As(err, &rf) || !errors.Is(err, filetype.ErrNotAllowed)) {
		t.Fatalf("%s: Detect error %v is not a refusal", what, err)
	}
	if err == nil && (k.Class == "" || k.MIME == "") {
		t.Fatalf("%s: Detect = %+v with no class or MIME", what, k)
	}
	return k, err
}
