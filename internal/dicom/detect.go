package dicom

import "encoding/binary"

// IsDICOM reports whether head, the first bytes of a stream (at least 132 are
// best), looks like DICOM: "DICM" at offset 128, or a dataset without preamble
// whose first elements are plausible (group 0002 or 0008, in either byte order,
// with explicit or implicit VR).
func IsDICOM(head []byte) bool {
	if len(head) >= 132 && string(head[128:132]) == "DICM" {
		return true
	}
	if len(head) >= 4 && string(head[:4]) == "DICM" {
		return plausibleDataset(head[4:])
	}
	return plausibleDataset(head)
}

// plausibleDataset checks the first one or two elements of a bare dataset.
func plausibleDataset(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		g, e := bo.Uint16(b), bo.Uint16(b[2:])
		if g != 0x0002 && g != 0x0008 || e > 0x0100 {
			continue
		}
		explicit := isKnownVR(b[4:6])
		var length, hdr int
		switch {
		case explicit && longVRs[vr{b[4], b[5]}]:
			if len(b) < 12 || b[6] != 0 || b[7] != 0 {
				continue
			}
			length, hdr = int(bo.Uint32(b[8:])), 12
		case explicit:
			length, hdr = int(bo.Uint16(b[6:])), 8
		case bo == binary.LittleEndian:
			length, hdr = int(bo.Uint32(b[4:])), 8
		default:
			continue // there is no implicit VR big endian
		}
		if length < 0 || length > 1024 {
			continue
		}
		next := hdr + length
		if len(b) < next+4 {
			return len(b) >= next // all we have is the first element
		}
		g2, e2 := bo.Uint16(b[next:]), bo.Uint16(b[next+2:])
		if g2 == g && e2 > e || g2 > g && g2 <= 0x0010 {
			return true
		}
	}
	return false
}
