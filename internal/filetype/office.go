package filetype

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"strings"
)

// Office documents are containers whose members are the document's own parts —
// XML, images, binary records — rather than files. A part is not held to the
// allow-list, but it must not be a program, and what is embedded in a part
// (another document, an OLE object, a ZIP, a packaged file) is judged in turn:
// a packaged file and a ZIP that is not an Office document as files of their own.

// ooxmlKinds are the Office Open XML documents accepted, by main part.
var ooxmlKinds = []struct {
	main string
	kind Kind
}{
	{"word/document.xml", Kind{MIME: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Class: Office, Ext: ".docx"}},
	{"xl/workbook.xml", Kind{MIME: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Class: Office, Ext: ".xlsx"}},
	{"ppt/presentation.xml", Kind{MIME: "application/vnd.openxmlformats-officedocument.presentationml.presentation", Class: Office, Ext: ".pptx"}},
}

// embeddedKind is what an Office document embedded in another is, when it is
// none of the kinds accepted as a file (a Visio drawing in a Word document).
var embeddedKind = Kind{MIME: "application/octet-stream", Class: Office, Ext: ".bin"}

// ooxml accepts a Word, Excel or PowerPoint document — or, embedded in another
// document, any Office Open XML package — without macros or ActiveX controls,
// whose every part passes walk.part.
func (w *walk) ooxml(s *source, r io.ReaderAt, zr *zip.Reader, zl *zipLayout, names map[string]*zip.File) (Kind, error) {
	for _, f := range zr.File {
		lname := strings.ToLower(f.Name)
		if strings.HasSuffix(lname, "vbaproject.bin") || strings.HasSuffix(lname, "vbadata.xml") ||
			strings.Contains(lname, "/activex/") {
			return Kind{}, at(s.child(f.Name), refuse(CodeMacro, "document part %q", f.Name))
		}
	}
	ct, err := readEntry(names["[content_types].xml"], 1<<20)
	if err != nil {
		return Kind{}, refuse(CodeUnknown, "unreadable [Content_Types].xml: %v", err)
	}
	lct := bytes.ToLower(ct)
	for _, bad := range []string{"macroenabled", "vbaproject", "activex"} {
		if bytes.Contains(lct, []byte(bad)) {
			return Kind{}, refuse(CodeMacro, "content type with %q", bad)
		}
	}
	if err := w.entriesOf(s, r, zr, zl, true); err != nil {
		return Kind{}, err
	}
	for _, k := range ooxmlKinds {
		if names[k.main] != nil {
			return k.kind, nil
		}
	}
	if s.part {
		return embeddedKind, nil
	}
	return Kind{}, refuse(CodeUnknown, "an Open XML package that is not a Word, Excel or PowerPoint document")
}

// part judges a part of a document: no program, and what is embedded in it is
// looked into (see the comment at the top of this file).
func (w *walk) part(s *source) error {
	if code, what := magicCode(s.head); code != "" {
		return refuse(code, "document part is %s", what)
	}
	var err error
	switch {
	case bytes.HasPrefix(s.head, oleMagic):
		_, err = w.ole(s)
	case bytes.HasPrefix(s.head, []byte("PK\x03\x04")):
		_, err = w.zip(s)
	}
	return err
}

// ole judges an OLE2 compound file. As a file it must be a legacy Word, Excel
// or PowerPoint document (other OLE2 files — installers, Outlook messages,
// Publisher — are refused); as a part of a document it may be any embedded
// object. Either way it must hold no macros and no encryption, and each of its
// streams is judged as a part.
func (w *walk) ole(s *source) (Kind, error) {
	if err := w.nest(s); err != nil {
		return Kind{}, err
	}
	r, release, err := s.at(false)
	if err != nil {
		return Kind{}, err
	}
	defer release()
	o, err := openOLE(r, s.size)
	if err != nil {
		return Kind{}, refuse(CodeUnknown, "unreadable OLE2 file: %v", err)
	}
	if err := w.count(len(o.entries)); err != nil {
		return Kind{}, err
	}
	if rf := o.checkActive(); rf != nil {
		return Kind{}, rf
	}
	k := embeddedKind
	if !s.part {
		if k, err = o.document(); err != nil {
			return Kind{}, err
		}
	}
	if err := w.streams(s, o); err != nil {
		return Kind{}, err
	}
	return k, nil
}

// document says which legacy Office document o is, refusing encrypted ones.
func (o *oleFile) document() (Kind, error) {
	switch {
	case len(o.find("WordDocument")) > 0:
		if rf := o.checkWord(); rf != nil {
			return Kind{}, rf
		}
		return Kind{MIME: "application/msword", Class: Office, Ext: ".doc"}, nil
	case len(o.find("Workbook")) > 0 || len(o.find("Book")) > 0:
		if rf := o.checkExcel(); rf != nil {
			return Kind{}, rf
		}
		return Kind{MIME: "application/vnd.ms-excel", Class: Office, Ext: ".xls"}, nil
	case len(o.find("PowerPoint Document")) > 0:
		return Kind{MIME: "application/vnd.ms-powerpoint", Class: Office, Ext: ".ppt"}, nil
	}
	return Kind{}, refuse(CodeUnknown, "an OLE2 file that is not a Word, Excel or PowerPoint document")
}

// streams judges every stream of o as a part: a program is refused, an
// embedded OLE2 file or ZIP is looked into, and a packaged file is judged as a
// file of its own.
func (w *walk) streams(s *source, o *oleFile) error {
	for _, e := range o.entries {
		if e.typ != 2 || e.size <= 0 {
			continue
		}
		p := s.child(e.name)
		head, err := o.stream(e, 512)
		if err != nil {
			return at(p, refuse(CodeUnknown, "unreadable OLE2 stream: %v", err))
		}
		packaged := strings.EqualFold(e.name, "\x01Ole10Native")
		if code, what := magicCode(head); code != "" && !packaged {
			return at(p, refuse(code, "OLE2 stream is %s", what))
		}
		if !packaged && !bytes.HasPrefix(head, oleMagic) && !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
			continue
		}
		n := min(e.size, s.size) // a stream cannot be longer than its file
		if !w.hold(n) {
			return at(p, refuse(CodeCompression, "an embedded object of %d bytes", e.size))
		}
		b, err := o.stream(e, n)
		if err == nil && packaged {
			err = w.packaged(s, p, b)
		} else if err == nil {
			err = w.part(memSource(s, e.name, b, true))
		}
		w.held -= n
		if err != nil {
			return at(p, err)
		}
	}
	return nil
}

// macroStorages are where Office keeps VBA projects.
var macroStorages = []string{"Macros", "_VBA_PROJECT_CUR", "VBA", "_VBA_PROJECT"}

// checkActive refuses macros and encryption anywhere in the file.
func (o *oleFile) checkActive() *Refusal {
	for _, name := range macroStorages {
		if len(o.find(name)) > 0 {
			return refuse(CodeMacro, "OLE2 entry %q", name)
		}
	}
	for _, name := range []string{"EncryptedPackage", "EncryptionInfo", "EncryptedSummary"} {
		if len(o.find(name)) > 0 {
			return refuse(CodeEncrypted, "OLE2 entry %q", name)
		}
	}
	return nil
}

// packaged judges an Ole10Native stream (in parent, at path p) — a file
// packaged into a document: its names must not have refused extensions, and the
// packaged file is judged as a file of its own. The layout: size uint32, flags
// uint16, label, source path, two uint32, temporary path (strings
// NUL-terminated), data size uint32, data.
func (w *walk) packaged(parent *source, p string, b []byte) error {
	rest := b
	take := func(n int) []byte {
		if len(rest) < n {
			rest = nil
			return nil
		}
		v := rest[:n]
		rest = rest[n:]
		return v
	}
	cstr := func() string {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			rest = nil
			return ""
		}
		s := string(rest[:i])
		rest = rest[i+1:]
		return s
	}
	take(6)
	names := []string{cstr(), cstr()}
	take(8)
	names = append(names, cstr())
	size := take(4)
	if rest == nil {
		return refuse(CodeUnknown, "malformed packaged object")
	}
	for _, n := range names {
		if code := nameCode(n); code != "" {
			return refuse(code, "packaged file %q", n)
		}
	}
	data := rest[:min(int(binary.LittleEndian.Uint32(size)), len(rest))]
	label := names[0]
	if label == "" {
		label = "package"
	}
	c := memSource(&source{path: p, depth: parent.depth}, label, data, false)
	c.name = "" // its names are checked above
	_, err := w.file(c)
	return err
}

// checkWord refuses an encrypted Word document (fEncrypted in the FIB).
func (o *oleFile) checkWord() *Refusal {
	fib, err := o.stream(o.find("WordDocument")[0], 32)
	if err != nil || len(fib) < 12 || binary.LittleEndian.Uint16(fib) != 0xA5EC {
		return refuse(CodeUnknown, "Word document without a valid header")
	}
	if binary.LittleEndian.Uint16(fib[10:])&0x0100 != 0 {
		return refuse(CodeEncrypted, "encrypted Word document")
	}
	return nil
}

// checkExcel walks the workbook globals: a FILEPASS record means encryption, and
// a sheet of type macro (Excel 4.0 XLM) or VBA module means macros.
func (o *oleFile) checkExcel() *Refusal {
	wb := append(o.find("Workbook"), o.find("Book")...)[0]
	b, err := o.stream(wb, maxInspect)
	if err != nil {
		return refuse(CodeUnknown, "unreadable workbook: %v", err)
	}
	for off := 0; off+4 <= len(b); {
		typ := binary.LittleEndian.Uint16(b[off:])
		n := int(binary.LittleEndian.Uint16(b[off+2:]))
		rec := b[off+4 : min(off+4+n, len(b))]
		switch typ {
		case 0x000A: // EOF of the globals substream
			return nil
		case 0x002F: // FILEPASS
			return refuse(CodeEncrypted, "encrypted Excel workbook")
		case 0x0085: // BOUNDSHEET: position, visibility, sheet type
			if len(rec) >= 6 && (rec[5] == 0x01 || rec[5] == 0x06) {
				return refuse(CodeMacro, "Excel macro sheet")
			}
		}
		off += 4 + n
	}
	return nil
}
