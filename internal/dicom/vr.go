package dicom

import (
	"strings"

	dictionary "github.com/suyashkumar/dicom/pkg/tag"
)

// vr is a two-letter value representation such as "US" or "SQ".
type vr [2]byte

func (v vr) String() string { return string(v[:]) }

var (
	vrSQ = vr{'S', 'Q'}
	vrUN = vr{'U', 'N'}
	vrOW = vr{'O', 'W'}
	vrUL = vr{'U', 'L'}
)

// longVRs use a 2-byte reserved field and a 4-byte length in explicit syntaxes.
var longVRs = map[vr]bool{
	{'O', 'B'}: true, {'O', 'D'}: true, {'O', 'F'}: true, {'O', 'L'}: true,
	{'O', 'V'}: true, {'O', 'W'}: true, {'S', 'Q'}: true, {'U', 'C'}: true,
	{'U', 'N'}: true, {'U', 'R'}: true, {'U', 'T'}: true, {'S', 'V'}: true,
	{'U', 'V'}: true,
}

// shortVRs are the standard VRs with a 2-byte length.
var shortVRs = map[vr]bool{
	{'A', 'E'}: true, {'A', 'S'}: true, {'A', 'T'}: true, {'C', 'S'}: true,
	{'D', 'A'}: true, {'D', 'S'}: true, {'D', 'T'}: true, {'F', 'L'}: true,
	{'F', 'D'}: true, {'I', 'S'}: true, {'L', 'O'}: true, {'L', 'T'}: true,
	{'P', 'N'}: true, {'S', 'H'}: true, {'S', 'L'}: true, {'S', 'S'}: true,
	{'S', 'T'}: true, {'T', 'M'}: true, {'U', 'I'}: true, {'U', 'L'}: true,
	{'U', 'S'}: true,
}

// isKnownVR reports whether b holds a standard VR.
func isKnownVR(b []byte) bool {
	v := vr{b[0], b[1]}
	return longVRs[v] || shortVRs[v]
}

// isVRShape reports whether b looks like a VR at all (two upper-case letters).
func isVRShape(b []byte) bool {
	return b[0] >= 'A' && b[0] <= 'Z' && b[1] >= 'A' && b[1] <= 'Z'
}

// implicitVR returns the VR of t for implicit VR syntaxes, from the standard data
// dictionary. Unknown and private tags are UN.
func implicitVR(t Tag) vr {
	switch {
	case t == tagPixelData:
		return vrOW
	case t.Element() == 0:
		return vrUL
	case t.Group()%2 == 1:
		return vrUN
	}
	info, err := dictionary.Find(dictionary.Tag{Group: t.Group(), Element: t.Element()})
	if err != nil || len(info.VRs) == 0 {
		return vrUN
	}
	s := strings.TrimSpace(info.VRs[0])
	if len(s) != 2 {
		return vrUN
	}
	return vr{s[0], s[1]}
}
