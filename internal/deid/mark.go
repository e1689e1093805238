package deid

// methodCodes are the codes of CID 7050 for the profile and each option.
var methodCodes = []struct {
	option  byte // 0 for the profile itself
	code    string
	meaning string
}{
	{0, "113100", "Basic Application Confidentiality Profile"},
	{'P', "113108", "Retain Patient Characteristics Option"},
	{'L', "113107", "Retain Longitudinal Temporal Information Modified Dates Option"},
	{'D', "113105", "Clean Descriptors Option"},
	{'V', "113109", "Retain Device Identity Option"},
}

// newElem makes an element; its header VR is written only in explicit encodings.
func newElem(t uint32, vr string, value []byte, enc encoding) *elem {
	e := &elem{tag: t, vr: vr, value: value}
	if !enc.implicit {
		e.hvr = vr
	}
	return e
}

// mark records in the dataset that identity was removed, and how: Patient
// Identity Removed, De-identification Method and its Code Sequence, and
// Longitudinal Temporal Information Modified.
func (rw *rewriter) mark(ds []*elem, enc encoding) []*elem {
	opts := rw.s.opts
	var items []*item
	for _, c := range methodCodes {
		if c.option != 0 && !opts.has(c.option) {
			continue
		}
		items = append(items, &item{off: -1, elems: []*elem{
			newElem(0x00080100, "SH", pad([]byte(c.code), ' '), enc),
			newElem(0x00080102, "SH", []byte("DCM "), enc),
			newElem(0x00080104, "LO", pad([]byte(c.meaning), ' '), enc),
		}})
	}
	codes := newElem(tagDeidMethodCodes, "SQ", nil, enc)
	codes.seq, codes.items, codes.inner = true, items, enc
	temporal := "REMOVED "
	if opts.ModifiedDates {
		temporal = "MODIFIED"
	}
	add := []*elem{
		newElem(tagIdentityRemoved, "CS", []byte("YES "), enc),
		newElem(tagDeidMethod, "LO", pad([]byte(Method), ' '), enc),
		codes,
		newElem(tagLongitudinalModif, "CS", []byte(temporal), enc),
	}
	out := make([]*elem, 0, len(ds)+len(add))
	for _, e := range ds {
		replaced := false
		for _, a := range add {
			replaced = replaced || a.tag == e.tag
		}
		if !replaced {
			out = append(out, e)
		}
	}
	for _, a := range add {
		// Files are not always in order: insert before the first larger tag.
		i := len(out)
		for j, e := range out {
			if e.tag > a.tag {
				i = j
				break
			}
		}
		out = append(out, nil)
		copy(out[i+1:], out[i:])
		out[i] = a
	}
	return out
}

// meta rewrites the file meta information: a new Media Storage SOP Instance
// UID, and without the sending and receiving AE titles (unless the device
// identity is kept) and private information.
func (rw *rewriter) meta(meta []*elem) []*elem {
	out := make([]*elem, 0, len(meta))
	for _, e := range meta {
		if e.hvr == "" {
			e.hvr = metaVRs[e.tag&0xFFFF]
			if e.hvr == "" {
				e.hvr = "UN"
			}
		}
		switch e.tag {
		case 0x00020000:
			e.groupLen = true
		case 0x00020003:
			if e.value == nil {
				continue
			}
			e.value = rw.uids(e.value)
		case 0x00020016, 0x00020017, 0x00020018:
			if !rw.s.opts.RetainDeviceIdentity {
				continue
			}
		case 0x00020100, 0x00020102:
			continue
		}
		out = append(out, e)
	}
	return out
}

var metaVRs = map[uint32]string{0x0000: "UL", 0x0001: "OB", 0x0002: "UI", 0x0003: "UI", 0x0010: "UI", 0x0012: "UI",
	0x0013: "SH", 0x0016: "AE", 0x0017: "AE", 0x0018: "AE", 0x0100: "UI", 0x0102: "OB"}
