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
