package filetype

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"
	"golang.org/x/text/encoding/japanese"
)

// Limits on looking into containers (ZIP, Office Open XML, OLE2), over all the
// containers of one uploaded file.
const (
	// MaxDepth is how many containers may enclose one another, the uploaded
	// file counting as the first: a ZIP holding a ZIP holding a ZIP is checked
	// throughout; a container one level deeper is refused (CodeNested).
	MaxDepth = 3
	// MaxEntries caps the entries looked at, over every container and level
	// (CodeEntries).
	MaxEntries = 20_000
	// MaxExpanded caps what all compressed entries expand to, together
	// (CodeExpands).
	MaxExpanded = 64_000_000_000
	// MaxRatio caps how far one entry of more than ratioFloor bytes expands,
	// uncompressed over compressed (CodeExpands). Deflate reaches about 1030;
	// DICOM, text and Office files stay far below 200.
	MaxRatio   = 200
	ratioFloor = 1 << 20
)

// maxHeld bounds the compressed entries held in memory at once so that they can
// be read at random (an OLE2 file, a small ZIP inside a ZIP); a larger ZIP is
// decompressed again as it is read (replay). A variable only for tests.
var maxHeld int64 = 64 << 20

// walk is one look at an uploaded file and everything inside it. Its counters
// span all levels, so that nesting cannot multiply the limits.
type walk struct {
	entries  int    // entries seen so far
	expanded uint64 // what the compressed entries seen so far expand to
	held     int64  // bytes of entries held in memory now
}

// source is something to judge: the uploaded file, or an entry of a container.
type source struct {
	path  string // inside the upload ("scans/inner.zip/run.exe"), "" for the upload itself
	name  string // the name it was given: the user's, or the entry's
	size  int64
	depth int    // containers enclosing it: 0 for the upload
	head  []byte // the first min(size, headSize) bytes
	part  bool   // a part of a document, not a file of its own (see walk.part)
	// at gives random access to the whole content, for containers; release
	// frees what it holds. seq is true when reads mostly go forwards, which
	// lets a large compressed entry be read without holding it in memory.
	at func(seq bool) (r io.ReaderAt, release func(), err error)
	// open streams the whole content from its start, for text read through.
	open func() (io.ReadCloser, error)
}

// child is the path of an entry of s.
func (s *source) child(name string) string {
	if s.path == "" {
		return name
	}
	return s.path + "/" + name
}

// file judges s as a file: its content must be on the allow-list, and its name
// must not have a refused extension.
func (w *walk) file(s *source) (Kind, error) {
	k, err := w.content(s)
	if err != nil {
		return Kind{}, err
	}
	if code := nameCode(s.name); code != "" {
		return Kind{}, refuse(code, "file name %q", s.name)
	}
	return k, nil
}

// content decides from content alone.
func (w *walk) content(s *source) (Kind, error) {
	if s.size == 0 {
		return textKind("text/plain", "utf-8"), nil
	}
	if code, what := magicCode(s.head); code != "" {
		return Kind{}, refuse(code, "content is %s", what)
	}
	if isDICOM(s.head) {
		return Kind{MIME: "application/dicom", Class: DICOM, Ext: ".dcm"}, nil
	}
	m := mimetype.Detect(s.head)
	// The most specific match decides a refusal; an accepted type may be a
	// parent (mimetype knows sub-brands of MP4 we treat as MP4).
	for t := m; t != nil; t = t.Parent() {
		if code, ok := refusedMIME[baseType(t.String())]; ok {
			return Kind{}, refuse(code, "content is %s", t.String())
		}
		switch base := baseType(t.String()); {
		case base == "application/zip":
			return w.zip(s)
		case base == "application/x-ole-storage":
			return w.ole(s)
		case base == "text/xml":
			return Kind{}, refuse(xmlCode(s.head), "content is XML (%s)", m.String())
		}
	}
	base := baseType(m.String())
	if k, ok := media[base]; ok {
		return k, nil
	}
	if t, ok := textTypes[base]; ok {
		return w.text(s, t)
	}
	return Kind{}, refuse(CodeUnknown, "content is %s", m.String())
}

// text accepts text that is text throughout: the head decides whether it is
// text at all, the whole stream which charset it is in.
func (w *walk) text(s *source, mime string) (Kind, error) {
	k, err := checkText(s.head, s.size, mime)
	if err != nil || int64(len(s.head)) == s.size {
		return k, err
	}
	rc, err := s.open()
	if err != nil {
		return Kind{}, refuse(CodeUnknown, "unreadable text: %v", err)
	}
	defer rc.Close()
	charset, err := scanText(rc)
	if err != nil {
		return Kind{}, err
	}
	return textKind(mime, charset), nil
}

// nest refuses to open a container that would be nested too deep.
func (w *walk) nest(s *source) error {
	if s.depth+1 > MaxDepth {
		return refuse(CodeNested, "a container %d levels deep", s.depth+1)
	}
	return nil
}

// count adds n entries and refuses past MaxEntries.
func (w *walk) count(n int) error {
	w.entries += n
	if w.entries > MaxEntries {
		return refuse(CodeEntries, "more than %d entries", MaxEntries)
	}
	return nil
}

// hold reserves n bytes of memory for an entry read whole, or reports false.
func (w *walk) hold(n int64) bool {
	if n < 0 || w.held+n > maxHeld {
		return false
	}
	w.held += n
	return true
}

// at names the entry at path in a refusal that does not name one yet: the
// deepest entry found wrong is the one the user is told about.
func at(path string, err error) error {
	var rf *Refusal
	if path != "" && errors.As(err, &rf) && rf.Entry == "" {
		rf.Entry = displayPath(path)
	}
	return err
}

// maxPathRunes is how much of an entry's path a refusal shows.
const maxPathRunes = 160

// displayPath cleans an entry path for showing and keeps its end, which names
// the file, when it is long. A name that is not UTF-8 is read as Shift_JIS,
// which is what ZIP tools on Japanese Windows write.
func displayPath(p string) string {
	parts := strings.Split(p, "/") // not at "\\" yet: it can be the second byte of a Shift_JIS character
	for i, s := range parts {
		if !utf8.ValidString(s) {
			if d, err := japanese.ShiftJIS.NewDecoder().String(s); err == nil && !strings.ContainsRune(d, utf8.RuneError) {
				s = d
			}
		}
		parts[i] = strings.ReplaceAll(DisplayName(s), `\`, "/")
	}
	p = strings.Join(parts, "/")
	if n := utf8.RuneCountInString(p); n > maxPathRunes {
		r := []rune(p)
		p = "…" + string(r[n-maxPathRunes+1:])
	}
	return p
}

// memSource is an entry held in memory.
func memSource(parent *source, name string, b []byte, part bool) *source {
	return &source{path: parent.child(name), name: name, size: int64(len(b)), depth: parent.depth + 1,
		head: b[:min(len(b), headSize)], part: part,
		at:   func(bool) (io.ReaderAt, func(), error) { return bytes.NewReader(b), func() {}, nil },
		open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
	}
}

// readHead reads the first min(size, headSize) bytes of a stream.
func readHead(rc io.Reader, size int64) ([]byte, error) {
	head := make([]byte, min(size, headSize))
	if _, err := io.ReadFull(rc, head); err != nil {
		return nil, fmt.Errorf("read the first %d bytes: %w", len(head), err)
	}
	return head, nil
}
