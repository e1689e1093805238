package filetype

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
)

// inspectOLE accepts a legacy Word, Excel or PowerPoint file that holds no
// macros, no packaged program and no encryption; other OLE2 files (installers,
// Outlook messages, Publisher…) are refused.
func inspectOLE(r io.ReaderAt, size int64) (Kind, error) {
	o, err := openOLE(r, size)
	if err != nil {
		return Kind{}, refuse(CodeUnknown, "unreadable OLE2 file: %v", err)
	}
	if rf := o.checkActive(); rf != nil {
		return Kind{}, rf
	}
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

// macroStorages are where Office keeps VBA projects.
var macroStorages = []string{"Macros", "_VBA_PROJECT_CUR", "VBA", "_VBA_PROJECT"}

// checkActive refuses macros, encryption and packaged files anywhere in the file.
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
	for _, e := range o.find("\x01Ole10Native") {
		b, err := o.stream(e, 1<<20) // the header and the start of the packaged file
		if err != nil {
			return refuse(CodeUnknown, "unreadable packaged object: %v", err)
		}
		if rf := checkPackage(b); rf != nil {
			return rf
		}
	}
	return nil
}

// checkPackage looks at an Ole10Native stream — a file packaged into a
// document: its names must not have refused extensions and its content must not
// be a program. The layout: size uint32, flags uint16, label, source path,
// two uint32, temporary path (strings NUL-terminated), data size uint32, data.
func checkPackage(b []byte) *Refusal {
	p := b
	take := func(n int) []byte {
		if len(p) < n {
			p = nil
			return nil
		}
		v := p[:n]
		p = p[n:]
		return v
	}
	cstr := func() string {
		i := bytes.IndexByte(p, 0)
		if i < 0 {
			p = nil
			return ""
		}
		s := string(p[:i])
		p = p[i+1:]
		return s
	}
	take(6)
	names := []string{cstr(), cstr()}
	take(8)
	names = append(names, cstr())
	if p == nil {
		return refuse(CodeUnknown, "malformed packaged object")
	}
	for _, n := range names {
		if code := nameCode(strings.TrimRight(n, "\x00")); code != "" {
			return refuse(code, "packaged file %q", n)
		}
	}
	if len(p) >= 4 {
		if code, what := magicCode(p[4:]); code != "" {
			return refuse(code, "packaged file is %s", what)
		}
	}
	return nil
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
