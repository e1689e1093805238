// Package filetype decides what an uploaded stream is from its content, and holds
// the allow-list of what MedBox accepts (SPEC R-S7): DICOM, common images and
// videos, PDF, Office documents without macros, plain text and CSV, and ZIP.
// Everything else — executables, scripts, HTML, SVG, macro-enabled documents,
// anything unrecognised — is refused with a reason code for the user's message.
//
// A file name is never trusted: it can only add a refusal (an ".exe" holding a
// valid JPEG is still refused), never make content acceptable.
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
	// videos, PDF); everything else is served as an attachment.
	Inline bool
}

// headSize is how much of the start of a file the checks look at.
const headSize = 8 << 10

// Detect reads the start of r (size bytes long; more where a container's
// directory must be inspected) and returns the file's Kind, or an error wrapping
// ErrNotAllowed that is a *Refusal. name, the file name the user gave, is used only
// to refuse more: executable and script extensions, HTML, SVG, macro-enabled
// Office extensions.
func Detect(r io.ReaderAt, size int64, name string) (Kind, error) {
	head := make([]byte, min(size, headSize))
	if n, err := r.ReadAt(head, 0); n < len(head) {
		return Kind{}, fmt.Errorf("detect file type: read the first %d bytes: %w", len(head), err)
	}
	k, err := detect(r, size, head)
	if err != nil {
		return Kind{}, err
	}
	if code := nameCode(name); code != "" {
		return Kind{}, refuse(code, "file name %q", name)
	}
	return k, nil
}

// detect decides from content alone.
func detect(r io.ReaderAt, size int64, head []byte) (Kind, error) {
	if size == 0 {
		return textKind("text/plain", "utf-8"), nil
	}
	if code, what := magicCode(head); code != "" {
		return Kind{}, refuse(code, "content is %s", what)
	}
	if isDICOM(head) {
		return Kind{MIME: "application/dicom", Class: DICOM, Ext: ".dcm"}, nil
	}
	return detectMIME(r, size, head)
}
