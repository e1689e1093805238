package member

import (
	"net/mail"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// NormalizeEmail trims and lower-cases an address so one mailbox has one form.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidEmail reports whether s is a bare address such as "a@example.jp".
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, "\r\n<>\" ,;") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at:], ".")
}

// cleanText trims s, folds runs of white space to one space and drops control
// characters, so names and workplaces compare and display predictably.
func cleanText(s string) string {
	s = norm.NFC.String(s)
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case unicode.IsSpace(r):
			space = true
		case unicode.IsControl(r) || r == '\u200b' || r == '\ufeff':
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SearchKey folds text for directory search: NFKC (full-width → half-width Latin,
// half-width → full-width kana), katakana → hiragana, lower case, no spaces. "ヤマダ
// 太郎", "やまだ太郎" and "ﾔﾏﾀﾞ" fold alike where they should.
func SearchKey(s string) string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || r == '・' || r == '·':
			continue
		case r >= 'ァ' && r <= 'ヶ':
			r -= 'ァ' - 'ぁ'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
