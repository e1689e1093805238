package web

import (
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/preview"
)

// TestViewerSummaryIncomplete: a file that ends early says so (一部欠損, with
// the frames that have data) and a file without a named transfer syntax says
// which one it was read with, inferred.
func TestViewerSummaryIncomplete(t *testing.T) {
	h := dicom.Summary{Rows: 64, Columns: 64, Frames: 10, Incomplete: true, FramesPresent: 4,
		SyntaxGuessed: true, SyntaxName: "Implicit VR Little Endian"}
	v := &preview.View{Info: &preview.Info{Frames: 4}, Instances: []preview.Instance{{Summary: h, Frames: 4}}}
	ja := summarize(i18n.Ja, v)
	if !strings.Contains(ja.Incomplete, "10 枚のうち 4 枚") || !strings.Contains(ja.Syntax, "Implicit VR Little Endian（推定") {
		t.Errorf("ja: incomplete %q, syntax %q", ja.Incomplete, ja.Syntax)
	}
	en := summarize(i18n.En, v)
	if !strings.Contains(en.Incomplete, "4 of 10 frames") || !strings.Contains(en.Syntax, "(inferred") {
		t.Errorf("en: incomplete %q, syntax %q", en.Incomplete, en.Syntax)
	}
	whole := &preview.View{Info: &preview.Info{Frames: 1}, Instances: []preview.Instance{{Summary: dicom.Summary{Frames: 1}, Frames: 1}}}
	if s := summarize(i18n.Ja, whole); s.Incomplete != "" || s.Syntax != "" {
		t.Errorf("a whole file: incomplete %q, syntax %q", s.Incomplete, s.Syntax)
	}
}
