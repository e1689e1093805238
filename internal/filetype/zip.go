package filetype

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

const (
	maxZipEntries = 100_000
	// maxInspect bounds what is decompressed from one archive entry to look at
	// it: the content types list, an embedded OLE object.
	maxInspect = 8 << 20
)

// inspectZip reads the archive's central directory (through r, so only the
// directory is read, not the whole file) and decides between an Office document,
// a program in disguise (JAR, APK), and a plain ZIP, whose entries must all
// have acceptable names and none may be encrypted or escape the folder it is
// extracted to.
func inspectZip(r io.ReaderAt, size int64) (Kind, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return Kind{}, refuse(CodeUnknown, "unreadable ZIP: %v", err)
	}
	if len(zr.File) > maxZipEntries {
		return Kind{}, refuse(CodeUnknown, "ZIP with %d entries", len(zr.File))
	}
	names := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		names[strings.ToLower(f.Name)] = f
	}
	switch {
	case names["[content_types].xml"] != nil:
		return inspectOOXML(zr, names)
	case names["meta-inf/manifest.mf"] != nil || names["androidmanifest.xml"] != nil || names["classes.dex"] != nil:
		return Kind{}, refuse(CodeExecutable, "a Java or Android package")
	case len(zr.File) > 0 && zr.File[0].Name == "mimetype":
		return Kind{}, refuse(CodeUnknown, "an OpenDocument or EPUB package")
	}
	for _, f := range zr.File {
		if err := checkEntry(f); err != nil {
			return Kind{}, err
		}
	}
	return Kind{MIME: "application/zip", Class: Zip, Ext: ".zip"}, nil
}

// checkEntry refuses an entry that is encrypted, would be extracted outside its
// folder, or has a refused extension.
func checkEntry(f *zip.File) error {
	name := strings.ReplaceAll(f.Name, `\`, "/")
	switch {
	case f.Flags&0x1 != 0:
		return refuse(CodeEncrypted, "encrypted ZIP entry %q", f.Name)
	case path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "/../") ||
		len(name) > 1 && name[1] == ':':
		return refuse(CodeUnknown, "ZIP entry %q escapes its folder", f.Name)
	case f.Mode()&fs.ModeSymlink != 0:
		return refuse(CodeUnknown, "ZIP entry %q is a link", f.Name)
	}
	if code := nameCode(name); code != "" {
		return refuse(code, "ZIP entry %q", f.Name)
	}
	return nil
}

// inspectOOXML accepts a Word, Excel or PowerPoint document without macros,
// ActiveX controls, or embedded programs.
func inspectOOXML(zr *zip.Reader, names map[string]*zip.File) (Kind, error) {
	for _, f := range zr.File {
		lname := strings.ToLower(f.Name)
		if err := checkEntry(f); err != nil {
			return Kind{}, err
		}
		if strings.HasSuffix(lname, "vbaproject.bin") || strings.HasSuffix(lname, "vbadata.xml") ||
			strings.Contains(lname, "/activex/") {
			return Kind{}, refuse(CodeMacro, "document part %q", f.Name)
		}
		if strings.Contains(lname, "/embeddings/") {
			if err := inspectEmbedded(f); err != nil {
				return Kind{}, err
			}
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
	switch {
	case names["word/document.xml"] != nil:
		return Kind{MIME: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Class: Office, Ext: ".docx"}, nil
	case names["xl/workbook.xml"] != nil:
		return Kind{MIME: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Class: Office, Ext: ".xlsx"}, nil
	case names["ppt/presentation.xml"] != nil:
		return Kind{MIME: "application/vnd.openxmlformats-officedocument.presentationml.presentation", Class: Office, Ext: ".pptx"}, nil
	}
	return Kind{}, refuse(CodeUnknown, "an Open XML package that is not a Word, Excel or PowerPoint document")
}

// inspectEmbedded looks inside an object embedded in a document: a program is
// refused, and an embedded OLE object gets the same checks as a legacy document.
func inspectEmbedded(f *zip.File) error {
	rc, err := f.Open()
	if err != nil {
		return refuse(CodeUnknown, "unreadable embedded object %q: %v", f.Name, err)
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(rc, head)
	rc.Close()
	head = head[:n]
	if code, what := magicCode(head); code != "" {
		return refuse(code, "embedded object %q is %s", f.Name, what)
	}
	if !bytes.HasPrefix(head, oleMagic) {
		return nil
	}
	b, err := readEntry(f, maxInspect)
	if err != nil {
		return refuse(CodeUnknown, "embedded object %q: %v", f.Name, err)
	}
	o, err := openOLE(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return refuse(CodeUnknown, "embedded object %q: %v", f.Name, err)
	}
	if rf := o.checkActive(); rf != nil {
		return refuse(rf.Code, "embedded object %q: %s", f.Name, rf.Detail)
	}
	return nil
}

// readEntry decompresses an entry of at most limit bytes.
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%s is larger than %d bytes", f.Name, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", f.Name, limit)
	}
	return b, nil
}
