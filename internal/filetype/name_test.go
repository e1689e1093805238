package filetype_test

import (
	"testing"

	"github.com/medbox-jp/medbox/internal/filetype"
)

// TestDisplayName (issue 14 §4): nothing in a name can make it read as another
// name; what people write in names stays.
func TestDisplayName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"scan\u202Egpj.zip", "scangpj.zip"}, // showed as "scanpiz.jpg"
		{"\u202Aa\u202Bb\u202Cc\u202Dd.pdf", "abcd.pdf"},
		{"photo\u2066\u2067\u2068\u2069.jpg", "photo.jpg"},
		{"\u200Bzero\u200C\u200D\u200E\u200Fwidth.txt", "zerowidth.txt"},
		{"\uFEFFbom.txt", "bom.txt"},
		{"soft\u00ADhyphen\u061C\u180E.txt", "softhyphen.txt"},
		{"tags\U000E0041\U000E007F.txt", "tags.txt"},
		{"word\u2060joiner\u2061\u2064.txt", "wordjoiner.txt"},
		{"\u3164\u115F\uFFA0\u034Fblank.txt", "blank.txt"},
		{"tab\tnew\nline\rnul\x00del\x7fc1\u0085.txt", "tab_new_line_nul_del_c1_.txt"},
		{"line\u2028para\u2029.txt", "line_para_.txt"},
		{"bad\xffutf8.txt", "bad_utf8.txt"},
		{"紹介状 山田様（CT）.pdf", "紹介状 山田様（CT）.pdf"},
		{"葛\U000E0100城.pdf", "葛\U000E0100城.pdf"}, // an ideographic variation selector picks the glyph
		{"ｶﾙﾃ　2024.txt", "ｶﾙﾃ　2024.txt"},
		{"replacement\uFFFD.txt", "replacement\uFFFD.txt"},
		{"emoji👩‍⚕️.jpg", "emoji👩⚕️.jpg"},
	}
	for _, tt := range tests {
		if got := filetype.DisplayName(tt.in); got != tt.want {
			t.Errorf("DisplayName(%+q) = %+q, want %+q", tt.in, got, tt.want)
		}
		if got := filetype.DisplayName(tt.want); got != tt.want {
			t.Errorf("DisplayName(%+q) = %+q: not stable", tt.want, got)
		}
	}
}
