package filetype_test

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"
)

// oleItem is a storage or stream for buildOLE; path separates storages with '/'.
type oleItem struct {
	path    string
	storage bool
	data    []byte
}

// buildOLE writes a version 3 compound file (512-byte sectors) holding items,
// with streams under 4096 bytes in the mini stream as Office writes them. It is
// the test's own writer, so the reader is checked against the format, not
// against itself: layout follows [MS-CFB].
func buildOLE(items []oleItem) []byte {
	const (
		sec       = 512
		free      = 0xFFFFFFFF
		end       = 0xFFFFFFFE
		fatSect   = 0xFFFFFFFD
		noStream  = 0xFFFFFFFF
		cutoff    = 4096
		perSector = sec / 4
	)
	ceil := func(n, d int) int { return (n + d - 1) / d }
	type entry struct {
		name         string
		typ          byte
		child, right uint32
		start        uint32
		size         int
		data         []byte
		mini         bool
	}
	entries := []*entry{{name: "Root Entry", typ: 5, child: noStream, right: noStream}}
	index := map[string]int{"": 0}
	lastChild := map[int]int{}
	for _, it := range items {
		parent := 0
		name := it.path
		if i := strings.LastIndexByte(it.path, '/'); i >= 0 {
			parent, name = index[it.path[:i]], it.path[i+1:]
		}
		e := &entry{name: name, typ: 2, child: noStream, right: noStream, data: it.data, size: len(it.data)}
		if it.storage {
			e.typ = 1
		}
		entries = append(entries, e)
		id := len(entries) - 1
		index[it.path] = id
		if prev, ok := lastChild[parent]; ok {
			entries[prev].right = uint32(id)
		} else {
			entries[parent].child = uint32(id)
		}
		lastChild[parent] = id
	}
	// Mini stream layout.
	var ministream []byte
	var minifat []uint32
	for _, e := range entries[1:] {
		if e.typ != 2 || e.size >= cutoff || e.size == 0 {
			continue
		}
		e.mini = true
		e.start = uint32(len(minifat))
		n := ceil(e.size, 64)
		for i := range n {
			if i == n-1 {
				minifat = append(minifat, end)
			} else {
				minifat = append(minifat, uint32(len(minifat)+1))
			}
		}
		padded := make([]byte, n*64)
		copy(padded, e.data)
		ministream = append(ministream, padded...)
	}
	dirSectors := ceil(len(entries)*128, sec)
	miniFATSectors := ceil(len(minifat)*4, sec)
	miniSectors := ceil(len(ministream), sec)
	bigSectors := 0
	for _, e := range entries[1:] {
		if e.typ == 2 && !e.mini {
			bigSectors += ceil(e.size, sec)
		}
	}
	fatSectors := 1
	for ceil(fatSectors+dirSectors+miniFATSectors+miniSectors+bigSectors, perSector) > fatSectors {
		fatSectors++
	}
	total := fatSectors + dirSectors + miniFATSectors + miniSectors + bigSectors
	fat := make([]uint32, fatSectors*perSector)
	for i := range fat {
		fat[i] = free
	}
	next := 0
	region := func(n int) int { // allocates n consecutive sectors as one chain
		first := next
		for i := range n {
			if i == n-1 {
				fat[next] = end
			} else {
				fat[next] = uint32(next + 1)
			}
			next++
		}
		return first
	}
	for range fatSectors {
		fat[next] = fatSect
		next++
	}
	dirStart := region(dirSectors)
	miniFATStart := end
	if miniFATSectors > 0 {
		miniFATStart = region(miniFATSectors)
	}
	entries[0].start, entries[0].size = end, len(ministream)
	if miniSectors > 0 {
		entries[0].start = uint32(region(miniSectors))
	}
	for _, e := range entries[1:] {
		switch {
		case e.typ != 2:
			e.start = 0
		case e.size == 0:
			e.start = end
		case !e.mini:
			e.start = uint32(region(ceil(e.size, sec)))
		}
	}

	out := make([]byte, (1+total)*sec)
	le := binary.LittleEndian
	h := out[:sec]
	copy(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	le.PutUint16(h[0x18:], 0x3E)
	le.PutUint16(h[0x1A:], 3)
	le.PutUint16(h[0x1C:], 0xFFFE)
	le.PutUint16(h[0x1E:], 9)
	le.PutUint16(h[0x20:], 6)
	le.PutUint32(h[0x2C:], uint32(fatSectors))
	le.PutUint32(h[0x30:], uint32(dirStart))
	le.PutUint32(h[0x38:], cutoff)
	le.PutUint32(h[0x3C:], uint32(miniFATStart))
	le.PutUint32(h[0x40:], uint32(miniFATSectors))
	le.PutUint32(h[0x44:], end)
	for i := range 109 {
		v := uint32(free)
		if i < fatSectors {
			v = uint32(i)
		}
		le.PutUint32(h[0x4C+4*i:], v)
	}
	at := func(sector int) []byte { return out[(sector+1)*sec:] }
	for i, v := range fat {
		le.PutUint32(at(0)[4*i:], v)
	}
	for i, e := range entries {
		d := at(dirStart)[i*128:]
		u := utf16.Encode([]rune(e.name))
		for j, c := range u {
			le.PutUint16(d[2*j:], c)
		}
		le.PutUint16(d[64:], uint16(2*(len(u)+1)))
		d[66], d[67] = e.typ, 1
		le.PutUint32(d[68:], noStream)
		le.PutUint32(d[72:], e.right)
		le.PutUint32(d[76:], e.child)
		le.PutUint32(d[116:], e.start)
		le.PutUint32(d[120:], uint32(e.size))
	}
	for i := len(entries); i < dirSectors*4; i++ { // unused directory slots
		d := at(dirStart)[i*128:]
		le.PutUint32(d[68:], noStream)
		le.PutUint32(d[72:], noStream)
		le.PutUint32(d[76:], noStream)
	}
	for i, v := range minifat {
		le.PutUint32(at(int(miniFATStart))[4*i:], v)
	}
	if miniSectors > 0 {
		copy(at(int(entries[0].start)), ministream)
	}
	for _, e := range entries[1:] {
		if e.typ == 2 && !e.mini && e.size > 0 {
			copy(at(int(e.start)), e.data)
		}
	}
	return out
}
