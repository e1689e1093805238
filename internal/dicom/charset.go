package dicom

import (
	"strings"
	"unicode/utf8"

	xencoding "golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// charset decodes text values according to SpecificCharacterSet (PS3.3 C.12.1.1.2,
// PS3.5 6.1). Either whole values are in one encoding (single), or ISO 2022 code
// extensions switch between the sets named in the element.
type charset struct {
	single   xencoding.Encoding // nil: ASCII, or a heuristic for undeclared text
	utf8     bool
	iso2022  bool
	initial0 g0set // G0 at the start of a value and after each delimiter
	initial1 g1set
	declared bool
}

type g0set int

const (
	g0ASCII g0set = iota
	g0JISX0208
	g0JISX0212
)

type g1set struct {
	kind int // 0 none, 1 JIS X 0201 katakana, 2 single-byte 96-set, 3 KS X 1001
	cm   *charmap.Charmap
}

// singleByte maps defined terms without code extensions to their upper halves.
var singleByte = map[string]*charmap.Charmap{
	"ISO_IR 100": charmap.ISO8859_1, "ISO_IR 101": charmap.ISO8859_2,
	"ISO_IR 109": charmap.ISO8859_3, "ISO_IR 110": charmap.ISO8859_4,
	"ISO_IR 144": charmap.ISO8859_5, "ISO_IR 127": charmap.ISO8859_6,
	"ISO_IR 126": charmap.ISO8859_7, "ISO_IR 138": charmap.ISO8859_8,
	"ISO_IR 148": charmap.ISO8859_9, "ISO_IR 203": charmap.ISO8859_15,
	"ISO_IR 166": charmap.Windows874,
}

// escG1 maps the final byte of ESC - F (a 96-character G1 set) to its charmap.
var escG1 = map[byte]*charmap.Charmap{
	'A': charmap.ISO8859_1, 'B': charmap.ISO8859_2, 'C': charmap.ISO8859_3,
	'D': charmap.ISO8859_4, 'L': charmap.ISO8859_5, 'G': charmap.ISO8859_6,
	'F': charmap.ISO8859_7, 'H': charmap.ISO8859_8, 'M': charmap.ISO8859_9,
	'b': charmap.ISO8859_15,
}

// newCharset interprets the values of SpecificCharacterSet.
func newCharset(values []string) *charset {
	cs := &charset{declared: len(values) > 0}
	if len(values) == 0 {
		return cs
	}
	first := strings.ToUpper(values[0])
	switch {
	case len(values) == 1 && first == "ISO_IR 192":
		cs.utf8 = true
	case len(values) == 1 && first == "GB18030":
		cs.single = simplifiedchinese.GB18030
	case len(values) == 1 && first == "GBK":
		cs.single = simplifiedchinese.GBK
	case len(values) == 1 && first == "ISO_IR 13":
		cs.iso2022, cs.initial1 = true, g1set{kind: 1} // JIS X 0201 without extensions
	case len(values) == 1 && singleByte[first] != nil:
		cs.iso2022, cs.initial1 = true, g1set{kind: 2, cm: singleByte[first]}
	default:
		cs.iso2022 = true
		first = strings.Replace(first, "ISO 2022 IR ", "ISO_IR ", 1)
		switch first {
		case "ISO_IR 13":
			cs.initial1 = g1set{kind: 1}
		case "ISO_IR 149":
			cs.initial1 = g1set{kind: 3}
		default:
			if cm := singleByte[first]; cm != nil {
				cs.initial1 = g1set{kind: 2, cm: cm}
			}
		}
	}
	return cs
}

// decode converts a raw text value to UTF-8.
func (cs *charset) decode(b []byte) string {
	switch {
	case cs == nil:
		return string(b)
	case cs.utf8:
		return strings.ToValidUTF8(string(b), "\uFFFD")
	case cs.single != nil:
		if s, err := cs.single.NewDecoder().Bytes(b); err == nil {
			return string(s)
		}
		return strings.ToValidUTF8(string(b), "\uFFFD")
	case cs.iso2022:
		return cs.decode2022(b)
	}
	// Undeclared: the default repertoire is ASCII, but files in the wild carry
	// UTF-8, or ISO 2022 Japanese without saying so, or Latin-1.
	switch {
	case isASCII(b) && !strings.ContainsRune(string(b), 0x1B):
		return string(b)
	case utf8.Valid(b):
		return string(b)
	case strings.ContainsRune(string(b), 0x1B):
		return (&charset{iso2022: true}).decode2022(b)
	}
	return (&charset{iso2022: true, initial1: g1set{kind: 2, cm: charmap.ISO8859_1}}).decode2022(b)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// decode2022 decodes text with ISO 2022 escape sequences (PS3.5 6.1.2.5).
func (cs *charset) decode2022(b []byte) string {
	var out strings.Builder
	g0, g1 := cs.initial0, cs.initial1
	var pending []byte // a run of two-byte characters in EUC form
	pendingKind := 0   // 1 JIS X 0208/0212 via EUC-JP, 2 KS X 1001 via EUC-KR
	flush := func() {
		if len(pending) == 0 {
			return
		}
		var dec *xencoding.Decoder
		if pendingKind == 2 {
			dec = korean.EUCKR.NewDecoder()
		} else {
			dec = japanese.EUCJP.NewDecoder()
		}
		if s, err := dec.Bytes(pending); err == nil {
			out.Write(s)
		} else {
			out.WriteRune(utf8.RuneError)
		}
		pending = pending[:0]
	}
	push := func(kind int, bs ...byte) {
		if pendingKind != kind {
			flush()
			pendingKind = kind
		}
		pending = append(pending, bs...)
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c == 0x1B {
			flush()
			n := cs.escape(b[i:], &g0, &g1)
			i += n
			continue
		}
		switch {
		case c < 0x80 && (g0 == g0JISX0208 || g0 == g0JISX0212) && c > 0x20 && c < 0x7F:
			if i+1 >= len(b) || b[i+1] <= 0x20 || b[i+1] >= 0x7F {
				flush()
				out.WriteRune(utf8.RuneError)
				i++
				continue
			}
			if g0 == g0JISX0212 {
				push(1, 0x8F, c|0x80, b[i+1]|0x80)
			} else {
				push(1, c|0x80, b[i+1]|0x80)
			}
			i += 2
		case c < 0x80:
			flush()
			out.WriteByte(c)
			switch c {
			case '^', '=', '\\', '\r', '\n', '\t', '\f':
				g0 = cs.initial0 // delimiters return to the initial set
			}
			i++
		case g1.kind == 1 && c >= 0xA1 && c <= 0xDF:
			flush()
			out.WriteRune(rune(0xFF61 + int(c) - 0xA1))
			i++
		case g1.kind == 2:
			flush()
			out.WriteRune(g1.cm.DecodeByte(c))
			i++
		case g1.kind == 3 && i+1 < len(b) && b[i+1] >= 0xA1:
			push(2, c, b[i+1])
			i += 2
		default:
			flush()
			out.WriteRune(utf8.RuneError)
			i++
		}
	}
	flush()
	return out.String()
}

// escape applies the escape sequence at the start of b and returns its length.
// Unknown sequences are dropped.
func (cs *charset) escape(b []byte, g0 *g0set, g1 *g1set) int {
	seq := func(s string) bool { return len(b) >= 1+len(s) && string(b[1:1+len(s)]) == s }
	switch {
	case seq("(B"), seq("(J"):
		*g0 = g0ASCII
		return 3
	case seq("$B"), seq("$@"):
		*g0 = g0JISX0208
		return 3
	case seq("$(D"):
		*g0 = g0JISX0212
		return 4
	case seq(")I"):
		*g1 = g1set{kind: 1}
		return 3
	case seq("$)C"):
		*g1 = g1set{kind: 3}
		return 4
	case len(b) >= 3 && b[1] == '-' && escG1[b[2]] != nil:
		*g1 = g1set{kind: 2, cm: escG1[b[2]]}
		return 3
	}
	// Skip intermediate bytes (0x20–0x2F) and one final byte.
	n := 1
	for n < len(b) && b[n] >= 0x20 && b[n] <= 0x2F {
		n++
	}
	if n < len(b) {
		n++
	}
	return n
}

// charsetOf returns the character set that applies to d: its own
// SpecificCharacterSet, or the nearest enclosing one. It is not cached, so that
// a File stays read-only after Parse and safe for concurrent use.
func charsetOf(d *dataset) *charset {
	for ; d != nil; d = d.parent {
		if _, ok := d.find(tagSpecificCharacterSet); ok {
			return newCharset(rawStrings(d.raw(tagSpecificCharacterSet)))
		}
	}
	return &charset{}
}

// rawStrings splits a CS value into its values, keeping empty ones (an empty
// first value means the default repertoire).
func rawStrings(b []byte) []string {
	s := trimValue(string(b))
	if s == "" {
		return nil
	}
	parts := strings.Split(s, `\`)
	for i := range parts {
		parts[i] = trimValue(parts[i])
	}
	return parts
}
