package filetype

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"io"
	"slices"
)

// Extractors do not all read a ZIP the same way: some use the central
// directory (as archive/zip does), some stream through the local headers, and
// some take a name from the Info-ZIP Unicode path field. An archive that reads
// differently each way could show an extractor a name or an entry the walk
// never judged. layout refuses that: every name an entry carries must pass the
// name rules, no local header may be outside the directory's entries, no two
// entries may share bytes, and no entry may be encrypted in its local header
// only.

var le = binary.LittleEndian

// centralEntry is what layout reads of a directory record.
type centralEntry struct {
	header uint64 // offset of the local header
	name   []byte
	extra  []byte
}

// maxGap bounds the bytes between entries, and before the directory, that an
// archive may have (data descriptors are 12 to 24 bytes).
const maxGap = 1 << 20

// zipLayout is the central directory as layout reads it, record by record in
// the order of zip.Reader.File, and where it starts.
type zipLayout struct {
	dir   []centralEntry
	start int64
}

// readLayout reads the directory of the archive in r and checks that it lists
// the entries archive/zip read (zr), by the same names.
func readLayout(r io.ReaderAt, size int64, zr *zip.Reader) (*zipLayout, error) {
	dir, start, err := readCentral(r, size, len(zr.File))
	if err != nil {
		return nil, refuse(CodeUnknown, "ZIP directory: %v", err)
	}
	for i, c := range dir {
		if string(c.name) != zr.File[i].Name {
			return nil, refuse(CodeUnknown, "ZIP directory read two ways disagrees at entry %d", i)
		}
	}
	return &zipLayout{dir: dir, start: start}, nil
}

// extent is where an entry lies in its archive, local header to end of data.
type extent struct {
	start, end int64
	path       string
}

// checkLocal reads the local header of entry i (f) and refuses it when it
// differs from the directory where it matters: an other name (or a Unicode
// path field) that the name rules refuse, or encryption. It returns the
// entry's extent.
func (l *zipLayout) checkLocal(r io.ReaderAt, i int, f *zip.File) (extent, error) {
	c := l.dir[i]
	local, end, err := readLocal(r, int64(c.header), f)
	if err != nil {
		return extent{}, refuse(CodeUnknown, "ZIP entry %q: %v", f.Name, err)
	}
	for _, name := range [][]byte{local.name, unicodePath(c.extra), unicodePath(local.extra)} {
		if name == nil || string(name) == f.Name {
			continue
		}
		alias := *f
		alias.Name = string(name)
		if err := checkEntry(&alias); err != nil {
			return extent{}, err
		}
	}
	if local.flags&0x41 != 0 {
		return extent{}, refuse(CodeEncrypted, "ZIP entry %q encrypted in its local header", f.Name)
	}
	return extent{start: int64(c.header), end: end}, nil
}

// checkGaps refuses entries that share bytes, and a local entry hidden in the
// bytes no listed entry covers (which a streaming extractor would unpack
// unseen by the walk). The extents are those of every listed entry.
func (l *zipLayout) checkGaps(r io.ReaderAt, extents []extent) error {
	extents = append(extents, extent{start: l.start, end: l.start})
	slices.SortFunc(extents, func(a, b extent) int { return cmp.Compare(a.start, b.start) })
	var last extent // reaching furthest so far
	gaps := int64(0)
	for _, e := range extents {
		if e.start < last.end {
			if e.end > e.start {
				return at(e.path, refuse(CodeExpands, "entry data overlaps %q", last.path))
			}
			continue
		}
		// A gap too short for a local header (a data descriptor) hides nothing.
		if e.start-last.end >= 30 {
			gaps += e.start - last.end
			if gaps > maxGap {
				return refuse(CodeUnknown, "ZIP with more than %d bytes outside its entries", maxGap)
			}
			gap := make([]byte, e.start-last.end)
			if _, err := r.ReadAt(gap, last.end); err != nil {
				return refuse(CodeUnknown, "ZIP: %v", err)
			}
			if bytes.Contains(gap, []byte("PK\x03\x04")) {
				return refuse(CodeUnknown, "ZIP with a local entry its directory does not list, near offset %d", last.end)
			}
		}
		if e.end >= last.end {
			last = e
		}
	}
	return nil
}

// localEntry is what layout reads of a local header.
type localEntry struct {
	flags uint16
	name  []byte
	extra []byte
}

// readLocal reads the local header of f at off and returns it with the end of
// the entry's data.
func readLocal(r io.ReaderAt, off int64, f *zip.File) (localEntry, int64, error) {
	var h [30]byte
	if _, err := r.ReadAt(h[:], off); err != nil {
		return localEntry{}, 0, err
	}
	if !bytes.Equal(h[:4], []byte("PK\x03\x04")) {
		return localEntry{}, 0, errors.New("no local header where the directory says")
	}
	n, e := int64(le.Uint16(h[26:])), int64(le.Uint16(h[28:]))
	b := make([]byte, n+e)
	if _, err := r.ReadAt(b, off+30); err != nil {
		return localEntry{}, 0, err
	}
	data := off + 30 + n + e
	if d, err := f.DataOffset(); err != nil || d != data {
		return localEntry{}, 0, errors.New("local header read two ways disagrees")
	}
	return localEntry{flags: le.Uint16(h[6:]), name: b[:n], extra: b[n:]}, data + int64(f.CompressedSize64), nil
}

// unicodePath returns the name in an Info-ZIP Unicode path field (0x7075), or nil.
func unicodePath(extra []byte) []byte {
	for len(extra) >= 4 {
		id, n := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if 4+n > len(extra) {
			return nil
		}
		if field := extra[4 : 4+n]; id == 0x7075 && n >= 5 {
			return field[5:] // version, CRC of the plain name, name
		}
		extra = extra[4+n:]
	}
	return nil
}

// readCentral reads the central directory (count records) and returns its
// records and where it starts, finding it as archive/zip does.
func readCentral(r io.ReaderAt, size int64, count int) ([]centralEntry, int64, error) {
	end, endOff, ok := endRecord(r, size)
	if !ok {
		return nil, 0, errors.New("no end record")
	}
	dirSize, dirOff := uint64(le.Uint32(end[12:])), uint64(le.Uint32(end[16:]))
	if le.Uint16(end[10:]) == 0xFFFF || dirSize == 0xFFFF || dirOff == 0xFFFFFFFF {
		if end64, off, ok := end64Record(r, endOff); ok {
			dirSize, dirOff, endOff = le.Uint64(end64[40:]), le.Uint64(end64[48:]), off
		}
	}
	if dirSize > uint64(size) || dirOff > uint64(size) {
		return nil, 0, errors.New("directory outside the file")
	}
	base := endOff - int64(dirSize) - int64(dirOff)
	if base > 0 { // as archive/zip: a directory found at its stated offset wins
		var sig [4]byte
		if _, err := r.ReadAt(sig[:], int64(dirOff)); err == nil && bytes.Equal(sig[:], []byte("PK\x01\x02")) {
			base = 0
		}
	}
	if base != 0 {
		return nil, 0, errors.New("offsets shifted by data before the archive")
	}
	buf := make([]byte, 46)
	out := make([]centralEntry, 0, count)
	for off := int64(dirOff); len(out) < count; {
		if _, err := r.ReadAt(buf, off); err != nil {
			return nil, 0, err
		}
		if !bytes.Equal(buf[:4], []byte("PK\x01\x02")) {
			return nil, 0, errors.New("directory record expected")
		}
		n, e, c := int64(le.Uint16(buf[28:])), int64(le.Uint16(buf[30:])), int64(le.Uint16(buf[32:]))
		ne := make([]byte, n+e)
		if _, err := r.ReadAt(ne, off+46); err != nil {
			return nil, 0, err
		}
		ce := centralEntry{header: uint64(le.Uint32(buf[42:])), name: ne[:n], extra: ne[n:]}
		if ce.header == 0xFFFFFFFF {
			ce.header = zip64Offset(ce.extra, le.Uint32(buf[24:]) == 0xFFFFFFFF, le.Uint32(buf[20:]) == 0xFFFFFFFF)
		}
		out = append(out, ce)
		off += 46 + n + e + c
	}
	return out, int64(dirOff), nil
}

// zip64Offset reads the local header offset from a ZIP64 extra field, after
// the sizes it holds.
func zip64Offset(extra []byte, hasSize, hasCompressed bool) uint64 {
	for len(extra) >= 4 {
		id, n := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if 4+n > len(extra) {
			break
		}
		if field := extra[4 : 4+n]; id == 0x0001 {
			skip := 0
			if hasSize {
				skip += 8
			}
			if hasCompressed {
				skip += 8
			}
			if len(field) >= skip+8 {
				return le.Uint64(field[skip:])
			}
			break
		}
		extra = extra[4+n:]
	}
	return 1<<64 - 1 // fails the local header check
}

// endRecord finds the end of central directory record as archive/zip does:
// the last signature whose comment fits in the file.
func endRecord(r io.ReaderAt, size int64) (rec []byte, off int64, ok bool) {
	const endLen = 22
	for _, n := range []int64{min(size, 1024), min(size, endLen+0xFFFF)} { // most archives have no comment
		b := make([]byte, n)
		if k, _ := r.ReadAt(b, size-n); int64(k) < n {
			return nil, 0, false
		}
		for i := len(b) - endLen; i >= 0; i-- {
			if bytes.Equal(b[i:i+4], []byte("PK\x05\x06")) && i+endLen+int(le.Uint16(b[i+20:])) <= len(b) {
				return b[i : i+endLen], size - n + int64(i), true
			}
		}
	}
	return nil, 0, false
}

// end64Record reads the ZIP64 end record its locator, just before the end
// record at endOff, points to.
func end64Record(r io.ReaderAt, endOff int64) (rec []byte, off int64, ok bool) {
	var loc [20]byte
	if endOff < 20 {
		return nil, 0, false
	}
	if _, err := r.ReadAt(loc[:], endOff-20); err != nil || !bytes.Equal(loc[:4], []byte("PK\x06\x07")) {
		return nil, 0, false
	}
	off = int64(le.Uint64(loc[8:]))
	rec = make([]byte, 56)
	if _, err := r.ReadAt(rec, off); err != nil || !bytes.Equal(rec[:4], []byte("PK\x06\x06")) {
		return nil, 0, false
	}
	return rec, off, true
}
