package dicom

import (
	"testing"
)

func TestIsDICOM(t *testing.T) {
	for _, p := range append(testFiles(t), studyFiles(t)...) {
		if b := readFile(t, p); !IsDICOM(b[:min(len(b), 512)]) {
			t.Errorf("IsDICOM(%s) = false", p)
		}
	}
	// A bare dataset without preamble or meta information parses too.
	b := readFile(t, findFile(t, "mr_small_implicit"))
	f := parseFile(t, findFile(t, "mr_small_implicit"), Limits{})
	bare := b[f.ds.elems[0].offset:]
	if !IsDICOM(bare) {
		t.Error("IsDICOM(bare dataset) = false")
	}
	g, err := Parse(bare, Limits{})
	if err != nil {
		t.Fatalf("Parse(bare dataset) = %v", err)
	}
	if g.Summary().SOPInstanceUID != f.Summary().SOPInstanceUID || g.NumFrames() != 1 {
		t.Errorf("bare dataset parsed differently")
	}
	for _, s := range []string{
		"", "DICM", "hello, world, this is plain text and not DICOM at all",
		"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "II*\x00\x08\x00\x00\x00", "PK\x03\x04\x14\x00\x00\x00",
		"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "\x08\x00\x05\x00CS\xff\xff", "\x08\x00\x05\x00\xff\xff\xff\xff",
	} {
		if IsDICOM([]byte(s)) {
			t.Errorf("IsDICOM(%q) = true", s)
		}
	}
}
