package filetype

import (
	"bytes"
	"encoding/binary"
)

// isDICOM reports whether head starts a DICOM file: "DICM" after the 128-byte
// preamble (which may itself look like a TIFF header), or a dataset without
// preamble that starts with two well-formed elements of group 0002 or 0008.
func isDICOM(head []byte) bool {
	if len(head) >= 132 && bytes.Equal(head[128:132], []byte("DICM")) {
		return true
	}
	return bareDataset(head)
}

// Value representations, for telling explicit from implicit VR.
var (
	shortVRs = "AE AS AT CS DA DS DT FL FD IS LO LT PN SH SL SS ST TM UI UL US"
	longVRs  = "OB OD OF OL OV OW SQ SV UC UN UR UT UV"
)

func vrKind(vr []byte) (known, long bool) {
	if vr[0] < 'A' || vr[0] > 'Z' || vr[1] < 'A' || vr[1] > 'Z' {
		return false, false
	}
	s := string(vr)
	switch {
	case containsWord(shortVRs, s):
		return true, false
	case containsWord(longVRs, s):
		return true, true
	}
	return false, false
}

func containsWord(list, w string) bool {
	for i := 0; i+len(w) <= len(list); i += 3 {
		if list[i:i+len(w)] == w {
			return true
		}
	}
	return false
}

// bareDataset checks the first two elements of a little-endian dataset: the
// first in group 0002 (file meta) or 0008 (identification), tags increasing,
// each with a length that fits what is left of the head.
func bareDataset(b []byte) bool {
	off := 0
	var prev uint32
	for i := range 2 {
		if len(b) < off+8 {
			return false
		}
		group := binary.LittleEndian.Uint16(b[off:])
		tag := uint32(group)<<16 | uint32(binary.LittleEndian.Uint16(b[off+2:]))
		if i == 0 && group != 0x0002 && group != 0x0008 || i > 0 && (tag <= prev || group > 0x0010) {
			return false
		}
		var length, hdr int
		switch known, long := vrKind(b[off+4 : off+6]); {
		case known && long:
			if len(b) < off+12 || b[off+6] != 0 || b[off+7] != 0 {
				return false
			}
			length, hdr = int(binary.LittleEndian.Uint32(b[off+8:])), 12
		case known:
			length, hdr = int(binary.LittleEndian.Uint16(b[off+6:])), 8
		default: // implicit VR
			length, hdr = int(binary.LittleEndian.Uint32(b[off+4:])), 8
		}
		if length > 1<<16 || length%2 != 0 {
			return false // the elements of these groups are short and even
		}
		off += hdr + length
		prev = tag
	}
	return true
}
