package filetype

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// oleMagic starts every OLE2 compound file (legacy .doc, .xls, .ppt, .msi, .msg).
var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

const (
	endOfChain = 0xFFFFFFFE
	maxRegSect = 0xFFFFFFFA
	maxEntries = 100_000
)

// oleFile reads the directory and streams of an OLE2 compound file through a
// ReaderAt, following sector chains on demand; nothing is trusted, and every
// chain walk is bounded by the number of sectors the file can hold.
type oleFile struct {
	r          io.ReaderAt
	size       int64
	secSize    int64
	difat      []uint32 // sectors holding the FAT
	miniCutoff int64
	miniFAT    uint32 // first sector of the mini FAT chain
	entries    []oleEntry
	ministream []byte // loaded when first needed
}

type oleEntry struct {
	name  string
	typ   byte // 1 storage, 2 stream, 5 root
	start uint32
	size  int64
}

func openOLE(r io.ReaderAt, size int64) (*oleFile, error) {
	var h [512]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("read OLE header: %w", err)
	}
	if !bytes.Equal(h[:8], oleMagic) {
		return nil, errors.New("not an OLE file")
	}
	le := binary.LittleEndian
	shift := le.Uint16(h[0x1E:])
	if shift != 9 && shift != 12 || le.Uint16(h[0x20:]) != 6 {
		return nil, fmt.Errorf("OLE sector shift %d not supported", shift)
	}
	o := &oleFile{r: r, size: size, secSize: 1 << shift, miniCutoff: int64(le.Uint32(h[0x38:])), miniFAT: le.Uint32(h[0x3C:])}
	nFAT := le.Uint32(h[0x2C:])
	if int64(nFAT) > o.sectors() {
		return nil, errors.New("OLE FAT larger than the file")
	}
	for i := 0; i < 109 && uint32(len(o.difat)) < nFAT; i++ {
		o.difat = append(o.difat, le.Uint32(h[0x4C+4*i:]))
	}
	perSector := int(o.secSize/4) - 1
	for next, steps := le.Uint32(h[0x44:]), 0; uint32(len(o.difat)) < nFAT && next <= maxRegSect; steps++ {
		if int64(steps) > o.sectors() {
			return nil, errors.New("OLE DIFAT chain loops")
		}
		b, err := o.sector(next)
		if err != nil {
			return nil, err
		}
		for i := 0; i < perSector && uint32(len(o.difat)) < nFAT; i++ {
			o.difat = append(o.difat, le.Uint32(b[4*i:]))
		}
		next = le.Uint32(b[4*perSector:])
	}
	dir, err := o.chain(le.Uint32(h[0x30:]), -1, false, maxEntries*128)
	if err != nil {
		return nil, fmt.Errorf("read OLE directory: %w", err)
	}
	for off := 0; off+128 <= len(dir); off += 128 {
		e := dir[off : off+128]
		n := int(le.Uint16(e[64:]))
		if e[66] == 0 || n < 2 || n > 64 {
			continue // unused entry
		}
		u := make([]uint16, n/2-1)
		for i := range u {
			u[i] = le.Uint16(e[2*i:])
		}
		size := int64(le.Uint64(e[120:]))
		if o.secSize == 512 {
			size = int64(le.Uint32(e[120:])) // version 3 files leave the high half undefined
		}
		o.entries = append(o.entries, oleEntry{name: string(utf16.Decode(u)), typ: e[66], start: le.Uint32(e[116:]), size: size})
	}
	if len(o.entries) == 0 || o.entries[0].typ != 5 {
		return nil, errors.New("OLE directory has no root entry")
	}
	return o, nil
}

// sectors is how many sectors the file can hold.
func (o *oleFile) sectors() int64 { return o.size/o.secSize + 1 }

func (o *oleFile) sector(n uint32) ([]byte, error) {
	b := make([]byte, o.secSize)
	if _, err := o.r.ReadAt(b, (int64(n)+1)*o.secSize); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read OLE sector %d: %w", n, err)
	}
	return b, nil
}

// next returns the sector after n in its FAT chain.
func (o *oleFile) next(n uint32) (uint32, error) {
	per := uint32(o.secSize / 4)
	if int(n/per) >= len(o.difat) {
		return 0, fmt.Errorf("OLE sector %d outside the FAT", n)
	}
	var b [4]byte
	if _, err := o.r.ReadAt(b[:], (int64(o.difat[n/per])+1)*o.secSize+int64(n%per)*4); err != nil {
		return 0, fmt.Errorf("read OLE FAT: %w", err)
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// chain reads up to limit bytes of the chain starting at start (size bytes
// long, or -1 to the end of the chain), in the mini stream when mini is set.
func (o *oleFile) chain(start uint32, size int64, mini bool, limit int64) ([]byte, error) {
	if size < 0 || size > limit {
		size = limit
	}
	var out []byte
	if mini && o.ministream == nil {
		root := o.entries[0]
		// The mini stream holds only streams below the cutoff, so it is small.
		ms, err := o.chain(root.start, root.size, false, maxInspect)
		if err != nil {
			return nil, err
		}
		o.ministream = ms
	}
	ministream := o.ministream
	for n, steps := start, int64(0); n <= maxRegSect && int64(len(out)) < size; steps++ {
		if steps > o.sectors()*(o.secSize/64) {
			return nil, errors.New("OLE sector chain loops")
		}
		if mini {
			off := int64(n) * 64
			if off+64 > int64(len(ministream)) {
				return nil, errors.New("OLE mini sector outside the mini stream")
			}
			out = append(out, ministream[off:off+64]...)
			var err error
			if n, err = o.miniNext(n); err != nil {
				return nil, err
			}
			continue
		}
		b, err := o.sector(n)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
		if n, err = o.next(n); err != nil {
			return nil, err
		}
	}
	return out[:min(int64(len(out)), size)], nil
}

// miniNext returns the mini sector after n, from the mini FAT.
func (o *oleFile) miniNext(n uint32) (uint32, error) {
	per := uint32(o.secSize / 4)
	s := o.miniFAT
	for i := uint32(0); i < n/per; i++ {
		var err error
		if s, err = o.next(s); err != nil || s > maxRegSect {
			return 0, errors.New("OLE mini FAT too short")
		}
	}
	var b [4]byte
	if _, err := o.r.ReadAt(b[:], (int64(s)+1)*o.secSize+int64(n%per)*4); err != nil {
		return 0, fmt.Errorf("read OLE mini FAT: %w", err)
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// stream returns up to limit bytes of the entry's stream.
func (o *oleFile) stream(e oleEntry, limit int64) ([]byte, error) {
	return o.chain(e.start, e.size, e.size < o.miniCutoff, limit)
}

// find returns the entries whose name matches, ignoring case.
func (o *oleFile) find(name string) []oleEntry {
	var out []oleEntry
	for _, e := range o.entries {
		if strings.EqualFold(e.name, name) {
			out = append(out, e)
		}
	}
	return out
}
