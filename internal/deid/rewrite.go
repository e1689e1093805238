package deid

import (
	"bytes"
	"io"
	"sort"
	"strings"
)

// action is what happens to one element.
type action int

const (
	keep      action = iota
	remove           // X
	empty            // Z: zero length (a sequence: no items)
	dummy            // D: a dummy value of its VR
	newUID           // U: every UID in it replaced
	recurse          // a sequence kept, the profile applied inside
	clean            // C: identifiers taken out of the text
	shift            // C for dates: moved back by the send's shift
	pseudonym        // the patient's name and ID: the pseudonym
)

// Tags the rewrite writes or reads.
const (
	tagPatientName       = 0x00100010
	tagPatientID         = 0x00100020
	tagOtherPatientIDs   = 0x00101000
	tagBirthDate         = 0x00100030
	tagAccession         = 0x00080050
	tagModality          = 0x00080060
	tagSOPClassUID       = 0x00080016
	tagBurnedIn          = 0x00280301
	tagDirectoryRecords  = 0x00041220
	tagIdentityRemoved   = 0x00120062
	tagDeidMethod        = 0x00120063
	tagDeidMethodCodes   = 0x00120064
	tagLongitudinalModif = 0x00280303
)

// Method is the De-identification Method (0012,0063) MedBox writes; with
// Patient Identity Removed (0012,0062) = YES it marks a file MedBox
// de-identified (see Marked).
const Method = "MedBox: PS3.15 Basic Profile"

// Marked reports whether a file's header says MedBox de-identified it: Patient
// Identity Removed is YES, the De-identification Method is MedBox's, and the
// patient's name and ID are pseudonyms. A file that only claims the first two
// does not pass.
func Marked(identityRemoved, method, patientName, patientID string) bool {
	return strings.EqualFold(strings.TrimSpace(identityRemoved), "YES") && strings.TrimSpace(method) == Method &&
		isPseudonym(patientName) && isPseudonym(patientID)
}

func isPseudonym(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) != 9 || !strings.HasPrefix(s, "ANON-") {
		return false
	}
	for _, c := range s[5:] {
		if !strings.ContainsRune(pseudonymAlphabet, c) {
			return false
		}
	}
	return true
}

// keptUIDs are UI attributes outside the profile table that name kinds of
// things, not instances: they stay.
var keptUIDs = map[uint32]bool{
	0x00020002: true, 0x00020010: true, 0x00020012: true, 0x00080016: true, 0x0008001A: true, 0x0008001B: true,
	0x00080062: true, 0x0008010C: true, 0x0008010D: true, 0x00080118: true, 0x00081150: true, 0x00041510: true,
	0x00041512: true, 0x00041432: true,
}

// safePrivate are the private attributes known to hold no identity (from PS3.15
// Table E.3.10-1: diffusion and PET quantitation values), by creator, as
// group<<16 | element within the block.
var safePrivate = map[string][]uint32{
	"SIEMENS MR HEADER":         {0x0019000C, 0x0019000D, 0x0019000E, 0x00190027},
	"GEMS_PARM_01":              {0x00430039},
	"Philips Imaging DD 001":    {0x20010003, 0x20010004},
	"Philips PET Private Group": {0x70530000, 0x70530009},
}

// offsetTags are the DICOMDIR's byte offsets of directory records.
var offsetTags = map[uint32]bool{0x00041200: true, 0x00041202: true, 0x00041400: true, 0x00041420: true}

// Info describes what a rewrite found.
type Info struct {
	// Pseudonyms are the pseudonyms given to the patients of the file.
	Pseudonyms []string
	// BurnedIn is true when identity may be burned into the pixels: Burned In
	// Annotation is YES, or the modality or SOP class often carries it (US, SC,
	// XA, ES, OT, secondary capture).
	BurnedIn bool
	// Directory is true for a DICOMDIR.
	Directory bool
}

// rewriter applies the profile to one file.
type rewriter struct {
	s      *Send
	idents [][]byte // the patient's identifiers, taken out of cleaned text
	names  map[string]bool
}

// Rewrite de-identifies the DICOM file in r (size bytes) as part of the send.
// The Output refers to r for the bytes it keeps, so r must stay readable until
// the output is written.
func (s *Send) Rewrite(r io.ReaderAt, size int64) (*Output, error) {
	f, err := parseFile(r, size)
	if err != nil {
		return nil, err
	}
	rw := &rewriter{s: s, names: map[string]bool{}}
	rw.collect(f.ds)
	info := Info{Directory: find(f.ds, tagDirectoryRecords) != nil, BurnedIn: burnedIn(f.ds)}
	ds := rw.dataset(f.ds, f.enc)
	if !info.Directory {
		ds = rw.mark(ds, f.enc)
	}
	for n := range rw.names {
		info.Pseudonyms = append(info.Pseudonyms, n)
	}
	sort.Strings(info.Pseudonyms)
	meta := rw.meta(f.meta)
	o, err := write(f, meta, ds)
	if err != nil {
		return nil, err
	}
	o.Info = info
	return o, nil
}

func find(ds []*elem, t uint32) *elem {
	for _, e := range ds {
		if e.tag == t {
			return e
		}
	}
	return nil
}

func text(e *elem) string {
	if e == nil {
		return ""
	}
	return strings.Trim(string(e.value), "\x00 ")
}

func burnedIn(ds []*elem) bool {
	if strings.EqualFold(text(find(ds, tagBurnedIn)), "YES") {
		return true
	}
	switch strings.ToUpper(text(find(ds, tagModality))) {
	case "US", "SC", "XA", "ES", "OT":
		return true
	}
	return strings.HasPrefix(text(find(ds, tagSOPClassUID)), "1.2.840.10008.5.1.4.1.1.7")
}

// collect gathers the patient's identifiers from every dataset of the file, to
// take them out of descriptions that are cleaned.
func (rw *rewriter) collect(ds []*elem) {
	seen := map[string]bool{}
	var walk func([]*elem)
	add := func(s string) {
		if s = strings.Trim(s, "\x00 "); len(s) >= 2 && !seen[s] {
			seen[s] = true
			rw.idents = append(rw.idents, []byte(s))
		}
	}
	walk = func(ds []*elem) {
		for _, e := range ds {
			switch e.tag {
			case tagPatientName:
				for _, g := range strings.Split(string(e.value), "=") {
					for _, c := range strings.Split(g, "^") {
						add(c)
					}
				}
			case tagPatientID, tagAccession, tagBirthDate, tagOtherPatientIDs:
				for _, v := range strings.Split(string(e.value), `\`) {
					add(v)
				}
			}
			for _, it := range e.items {
				walk(it.elems)
			}
		}
	}
	walk(ds)
	sort.Slice(rw.idents, func(i, j int) bool {
		a, b := rw.idents[i], rw.idents[j]
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return bytes.Compare(a, b) < 0
	})
}

// actionFor decides what happens to e.
func (rw *rewriter) actionFor(e *elem) action {
	t, opts := e.tag, rw.s.opts
	g := t >> 16
	switch {
	case t == tagPatientName || t == tagPatientID:
		return pseudonym
	case g >= 0x5000 && g <= 0x501E && g%2 == 0, g >= 0x6000 && g <= 0x601E && g%2 == 0:
		return remove // curves, and overlays whose data or comments the profile removes
	}
	if r, ok := profile[t]; ok {
		var k, c, dates bool
		for letter, a := range r.opts {
			if opts.has(letter) {
				k = k || a == 'K'
				if a == 'C' {
					c, dates = true, dates || letter == 'L'
				}
			}
		}
		switch {
		case k:
			return rw.kept(e)
		case c && dates:
			return shift
		case c:
			return clean
		}
		switch r.basic {
		case "X", "X/D":
			return remove
		case "Z", "X/Z", "Z/D", "X/Z/D":
			return empty
		case "D":
			if e.seq {
				return recurse
			}
			return dummy
		case "U":
			return newUID
		case "X/Z/U*":
			return recurse
		}
		return remove
	}
	switch e.vr {
	case "UI":
		if keptUIDs[t] {
			return keep
		}
		return newUID
	case "DA", "DT":
		if opts.ModifiedDates {
			return shift
		}
		return remove
	case "PN":
		return remove
	case "AE":
		if opts.RetainDeviceIdentity {
			return keep
		}
		return remove
	}
	return rw.kept(e)
}

func (rw *rewriter) kept(e *elem) action {
	if e.seq {
		return recurse
	}
	return keep
}

// dataset applies the profile to one dataset and returns what remains.
func (rw *rewriter) dataset(ds []*elem, enc encoding) []*elem {
	key := text(find(ds, tagPatientID))
	if key == "" {
		key = text(find(ds, tagPatientName))
	}
	creators := map[uint32]string{}
	for _, e := range ds {
		if g, el := e.tag>>16, e.tag&0xFFFF; g&1 == 1 && el >= 0x10 && el <= 0xFF {
			creators[g<<8|el] = strings.Trim(string(e.value), "\x00 ")
		}
	}
	out := make([]*elem, 0, len(ds))
	for _, e := range ds {
		if e.tag>>16&1 == 1 {
			if safe(e.tag, creators) {
				out = append(out, e)
			}
			continue
		}
		if e.tag&0xFFFF == 0 {
			e.groupLen = true
			out = append(out, e)
			continue
		}
		if offsetTags[e.tag] {
			e.offsetRef = true
			out = append(out, e)
			continue
		}
		switch rw.actionFor(e) {
		case keep:
			out = append(out, e)
		case remove:
		case empty:
			e.value, e.n, e.items = []byte{}, 0, nil
			out = append(out, e)
		case dummy:
			e.value, e.n = dummyValue(e.vr), 0
			out = append(out, e)
		case newUID:
			if rw.load(e) {
				e.value = rw.uids(e.value)
				out = append(out, e)
			}
		case recurse:
			for _, it := range e.items {
				it.elems = rw.dataset(it.elems, e.inner)
			}
			out = append(out, e)
		case clean:
			if rw.load(e) {
				e.value = pad(rw.clean(e.value), ' ')
				out = append(out, e)
			}
		case shift:
			if rw.load(e) {
				e.value = rw.shift(e.vr, e.value)
				out = append(out, e)
			}
		case pseudonym:
			p := rw.s.Pseudonym(key)
			rw.names[p] = true
			e.value, e.n = pad([]byte(p), ' '), 0
			out = append(out, e)
		}
	}
	return out
}

// load makes sure e's value is in memory; a value too large to be text is
// removed instead.
func (rw *rewriter) load(e *elem) bool {
	return e.value != nil
}

// safe reports whether a private element is known to hold no identity: a
// creator of such attributes, or one of its attributes.
func safe(t uint32, creators map[uint32]string) bool {
	g, el := t>>16, t&0xFFFF
	switch {
	case el < 0x10:
		return false
	case el <= 0xFF:
		known := safePrivate[creators[g<<8|el]]
		return len(known) > 0 && known[0]>>16 == g
	}
	for _, k := range safePrivate[creators[g<<8|el>>8]] {
		if k == g<<16|el&0xFF {
			return true
		}
	}
	return false
}

// uids replaces every UID of a UI value.
func (rw *rewriter) uids(v []byte) []byte {
	parts := strings.Split(strings.TrimRight(string(v), "\x00 "), `\`)
	for i, p := range parts {
		parts[i] = rw.s.UID(strings.TrimSpace(p))
	}
	return pad([]byte(strings.Join(parts, `\`)), 0)
}

// clean takes every identifier of the patient out of v, ignoring ASCII case.
func (rw *rewriter) clean(v []byte) []byte {
	v = bytes.TrimRight(v, "\x00 ")
	for _, id := range rw.idents {
		out := make([]byte, 0, len(v)) // never nil: an emptied value is still a value
		for i := 0; i < len(v); {
			if i+len(id) <= len(v) && asciiEqualFold(v[i:i+len(id)], id) {
				out = append(out, "***"...)
				i += len(id)
				continue
			}
			out = append(out, v[i])
			i++
		}
		v = out
	}
	return v
}

func asciiEqualFold(a, b []byte) bool {
	for i := range a {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// shift moves the dates of a DA or DT value back; other values (times, time
// zones) are kept, as whole days do not change them.
func (rw *rewriter) shift(vr string, v []byte) []byte {
	if vr != "DA" && vr != "DT" {
		return v
	}
	parts := strings.Split(strings.TrimRight(string(v), "\x00 "), `\`)
	for i, p := range parts {
		p = strings.TrimSpace(p)
		parts[i] = p
		switch {
		case p == "":
		case vr == "DA":
			parts[i] = rw.s.shiftDate(p)
		case len(p) >= 8:
			if d := rw.s.shiftDate(p[:8]); d != "" {
				parts[i] = d + p[8:]
			} else {
				parts[i] = ""
			}
		default:
			parts[i] = ""
		}
	}
	return pad([]byte(strings.Join(parts, `\`)), ' ')
}

func dummyValue(vr string) []byte {
	switch vr {
	case "PN":
		return []byte("ANONYMOUS ")
	case "DA":
		return []byte("19000101")
	case "TM":
		return []byte("000000")
	case "DT":
		return []byte("19000101000000")
	case "AE", "AS", "CS", "LO", "LT", "SH", "ST", "UC", "UT":
		return []byte("ANONYMIZED")
	}
	return []byte{}
}

// pad makes a value even in length, as the standard requires.
func pad(b []byte, c byte) []byte {
	if len(b)%2 == 1 {
		b = append(b, c)
	}
	return b
}
