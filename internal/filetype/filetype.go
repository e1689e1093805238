// Package filetype decides what an uploaded stream is from its content, and holds
// the allow-list of what MedBox accepts (SPEC R-S7): DICOM, common images and
// videos, PDF, Office documents without macros, plain text and CSV, and ZIP.
// Everything else — executables, scripts, HTML, SVG, macro-enabled documents,
// anything unrecognised — is refused with a reason code for the user's message.
//
// A file name is never trusted: it can only add a refusal (an ".exe" holding a
// valid JPEG is still refused), never make content acceptable. Containers are
// judged by what they contain: every entry of a ZIP by the rules of a file of
// its own, every part of an Office document for programs and embedded files,
// nested containers in turn, within limits (walk.go).
package filetype

import (
	"fmt"
	"io"
)

// Class is a broad family of accepted files, for icons, previews and policy.
type Class string

// The accepted classes.
const (
	DICOM  Class = "dicom"
	Image  Class = "image"
	Video  Class = "video"
	PDF    Class = "pdf"
	Office Class = "office"
	Text   Class = "text"
	Zip    Class = "zip"
)

// Kind is what an accepted file is.
type Kind struct {
	MIME  string // what to send as Content-Type, e.g. "image/jpeg", "text/csv; charset=shift_jis"
	Class Class
	Ext   string // the usual extension, with its dot
	// Inline is true when the file is safe to show in the browser (images,
	// videos); everything else, PDF included, is served as an attachment.
	Inline bool
}

// headSize is how much of the start of a file the checks look at.
const headSize = 8 << 10

// Detect decides what the file in r (size bytes long) is and returns its Kind,
// or an error wrapping ErrNotAllowed that is a *Refusal. It reads the start of
// the file, and more where the type demands it: a text file is read through (it
// must be text throughout), and every entry of a container (ZIP, Office Open
// XML, OLE2) is judged by its own content, nested containers included, within
// the limits MaxDepth, MaxEntries, MaxExpanded and MaxRatio. A refusal caused by
// an entry names it (Refusal.Entry).
//
// name, the file name the user gave, is used only to refuse more: executable
// and script extensions, HTML, SVG, macro-enabled Office extensions. The names
// of entries inside containers are held to the same rules.
func Detect(r io.ReaderAt, size int64, name string) (Kind, error) {
	head := make([]byte, min(size, headSize))
	if n, err := r.ReadAt(head, 0); n < len(head) {
		return Kind{}, fmt.Errorf("detect file type: read the first %d bytes: %w", len(head), err)
	}
	cached := newCachedReader(r, size)
	s := &source{name: name, size: size, head: head,
		at: func(bool) (io.ReaderAt, func(), error) { return cached, func() {}, nil },
		open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.NewSectionReader(r, 0, size)), nil
		},
	}
	var w walk
	return w.file(s)
}
