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

// maxInspect bounds what is decompressed from one entry to read it whole: the
// content types list, an OLE2 mini stream.
const maxInspect = 8 << 20

// zipKind is what an accepted archive is.
var zipKind = Kind{MIME: "application/zip", Class: Zip, Ext: ".zip"}

// zip judges a ZIP (through its central directory, reading only what each
// check needs): an Office Open XML document gets the document checks, a program
// in disguise (JAR, APK) and OpenDocument or EPUB packages are refused, and any
// other ZIP is an archive whose every entry is judged as a file of its own.
func (w *walk) zip(s *source) (Kind, error) {
	if err := w.nest(s); err != nil {
		return Kind{}, err
	}
	r, release, err := s.at(true)
	if err != nil {
		return Kind{}, err
	}
	defer release()
	// Count before zip.NewReader allocates a record per declared entry.
	if n, ok := declaredEntries(r, s.size); ok && n > uint64(MaxEntries-w.entries) {
		return Kind{}, refuse(CodeEntries, "ZIP declares %d entries", n)
	}
	zr, err := zip.NewReader(r, s.size)
	switch {
	case errors.Is(err, errReplay):
		return Kind{}, refuse(CodeCompression, "ZIP inside a compressed entry: %v", err)
	case err != nil && !errors.Is(err, zip.ErrInsecurePath):
		return Kind{}, refuse(CodeUnknown, "unreadable ZIP: %v", err)
	}
	if err := w.count(len(zr.File)); err != nil {
		return Kind{}, err
	}
	if err := w.expansion(s, zr); err != nil {
		return Kind{}, err
	}
	zl, err := readLayout(r, s.size, zr)
	if err != nil {
		return Kind{}, err
	}
	names := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		names[strings.ToLower(f.Name)] = f
	}
	switch {
	case names["[content_types].xml"] != nil:
		return w.ooxml(s, r, zr, zl, names)
	case names["meta-inf/manifest.mf"] != nil || names["androidmanifest.xml"] != nil || names["classes.dex"] != nil:
		return Kind{}, refuse(CodeExecutable, "a Java or Android package")
	case len(zr.File) > 0 && zr.File[0].Name == "mimetype":
		return Kind{}, refuse(CodeUnknown, "an OpenDocument or EPUB package")
	}
	if err := w.entriesOf(s, r, zr, zl, false); err != nil {
		return Kind{}, err
	}
	return zipKind, nil
}

// expansion refuses a decompression bomb from what the directory declares,
// before anything is decompressed: an entry that expands more than MaxRatio
// times, or entries that together expand past MaxExpanded. (The declared sizes
// hold: archive/zip fails a read that goes past them.)
func (w *walk) expansion(s *source, zr *zip.Reader) error {
	for _, f := range zr.File {
		u, c := f.UncompressedSize64, f.CompressedSize64
		if u > ratioFloor && c < u/MaxRatio {
			return at(s.child(f.Name), refuse(CodeExpands, "entry expands from %d to %d bytes", c, u))
		}
		w.expanded += u
		if u > MaxExpanded || w.expanded > MaxExpanded {
			return at(s.child(f.Name), refuse(CodeExpands, "entries expand to more than %d bytes", uint64(MaxExpanded)))
		}
	}
	return nil
}

// entriesOf judges every entry of an archive, as a file of its own or, for
// documents, as a part, after checking its local header (zipLayout); then
// checks the bytes between entries.
func (w *walk) entriesOf(s *source, r io.ReaderAt, zr *zip.Reader, zl *zipLayout, part bool) error {
	extents := make([]extent, 0, len(zr.File))
	for i, f := range zr.File {
		p := s.child(f.Name)
		if err := checkEntry(f); err != nil {
			return at(p, err)
		}
		e, err := zl.checkLocal(r, i, f)
		if err != nil {
			return at(p, err)
		}
		e.path = p
		extents = append(extents, e)
		if f.UncompressedSize64 == 0 && strings.HasSuffix(f.Name, "/") {
			continue // a folder
		}
		off, err := f.DataOffset()
		if err != nil {
			return at(p, refuse(CodeUnknown, "unreadable ZIP entry: %v", err))
		}
		c, err := w.zipEntry(s, r, f, off, part)
		if err == nil && !part && folderMetadata(f.Name, c.head) {
			continue
		}
		if err == nil && part {
			err = w.part(c)
		} else if err == nil {
			_, err = w.file(c)
		}
		if err != nil {
			return at(p, err)
		}
	}
	return zl.checkGaps(r, extents)
}

// zipEntry makes a source of an entry of the archive in r, reading its head.
func (w *walk) zipEntry(parent *source, r io.ReaderAt, f *zip.File, off int64, part bool) (*source, error) {
	size := int64(f.UncompressedSize64)
	if size < 0 {
		return nil, refuse(CodeExpands, "entry of %d bytes", f.UncompressedSize64)
	}
	if f.Method == zip.Store && f.CompressedSize64 != f.UncompressedSize64 {
		return nil, refuse(CodeUnknown, "stored entry with two sizes")
	}
	c := &source{path: parent.child(f.Name), name: f.Name, size: size, depth: parent.depth + 1, part: part, open: f.Open}
	rc, err := f.Open()
	if err != nil {
		return nil, openError(f, err)
	}
	c.head, err = readHead(rc, size)
	rc.Close()
	if err != nil {
		return nil, openError(f, err)
	}
	c.at = func(seq bool) (io.ReaderAt, func(), error) {
		switch {
		case f.Method == zip.Store: // its bytes are there to read at random
			return io.NewSectionReader(r, off, size), func() {}, nil
		case w.hold(size):
			b, err := readEntry(f, size)
			if err != nil {
				w.held -= size
				return nil, nil, openError(f, err)
			}
			return bytes.NewReader(b), func() { w.held -= size }, nil
		case seq:
			return newReplay(f.Open, size), func() {}, nil
		}
		return nil, nil, refuse(CodeCompression, "a compressed entry of %d bytes that must be read at random", size)
	}
	return c, nil
}

// folderMetadata reports whether an archive entry is what macOS adds when it
// zips a folder: a file's attributes as an AppleDouble file ("__MACOSX/._x"),
// or Finder's .DS_Store. They are nobody's document, and no program; refusing
// them would refuse every ZIP made on a Mac.
func folderMetadata(name string, head []byte) bool {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	switch {
	case strings.HasPrefix(base, "._"):
		return bytes.HasPrefix(head, []byte("\x00\x05\x16\x07"))
	case base == ".DS_Store":
		return bytes.HasPrefix(head, []byte("\x00\x00\x00\x01Bud1"))
	}
	return false
}

// openError is the refusal for an entry that cannot be decompressed.
func openError(f *zip.File, err error) error {
	if errors.Is(err, zip.ErrAlgorithm) || errors.Is(err, errReplay) {
		return refuse(CodeCompression, "ZIP entry compressed with method %d: %v", f.Method, err)
	}
	return refuse(CodeUnknown, "unreadable ZIP entry: %v", err)
}

// checkEntry refuses an entry that is encrypted, would be extracted outside its
// folder, is a link, or has a refused extension.
func checkEntry(f *zip.File) error {
	name := strings.ReplaceAll(f.Name, `\`, "/")
	switch {
	case f.Flags&0x41 != 0 || f.Method == 99: // traditional or strong encryption; WinZip AES
		return refuse(CodeEncrypted, "encrypted ZIP entry %q", f.Name)
	case path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "/../") ||
		strings.HasSuffix(name, "/..") || len(name) > 1 && name[1] == ':':
		return refuse(CodeUnknown, "ZIP entry %q escapes its folder", f.Name)
	case f.Mode()&fs.ModeSymlink != 0:
		return refuse(CodeUnknown, "ZIP entry %q is a link", f.Name)
	}
	if code := nameCode(name); code != "" {
		return refuse(code, "ZIP entry %q", f.Name)
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

// declaredEntries reads the number of entries a ZIP's end of central directory
// record declares (ZIP64 included).
func declaredEntries(r io.ReaderAt, size int64) (uint64, bool) {
	end, off, ok := endRecord(r, size)
	if !ok {
		return 0, false
	}
	count := uint64(le.Uint16(end[10:]))
	if count == 0xFFFF {
		if end64, _, ok := end64Record(r, off); ok {
			return le.Uint64(end64[32:]), true
		}
	}
	return count, true
}
