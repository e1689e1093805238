package dicom

import (
	"strings"
	"unicode"
)

// text returns the value of t decoded to UTF-8 with the dataset's character set,
// as plain untrusted text: control and bidirectional-override characters are
// removed, whitespace runs become one space and padding is trimmed.
func (d *dataset) text(t Tag) string {
	b := d.raw(t)
	if len(b) == 0 {
		return ""
	}
	return cleanText(charsetOf(d).decode(b))
}

// cleanText makes decoded text safe to show as plain text.
func cleanText(s string) string {
	var out strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' || r == ' ':
			space = true
			continue
		case unicode.IsControl(r), isBidiControl(r), r == '\uFEFF':
			continue
		}
		if space && out.Len() > 0 {
			out.WriteByte(' ')
		}
		space = false
		out.WriteRune(r)
	}
	return out.String()
}

// isBidiControl reports the characters that reorder text on screen and can make
// a name read differently from what it is.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}
