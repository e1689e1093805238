package dicom

import "testing"

func TestCharsetDecode(t *testing.T) {
	tests := []struct {
		name, charset, raw, want string
	}{
		{"default ASCII", "", "Doe^John", "Doe^John"},
		{"undeclared UTF-8", "", "山田^太郎", "山田^太郎"},
		{"undeclared Latin-1", "", "M\xfcller", "Müller"},
		{"UTF-8", "ISO_IR 192", "Wang^XiaoDong=王^小東", "Wang^XiaoDong=王^小東"},
		{"Latin-1", "ISO_IR 100", "Buc^J\xe9r\xf4me", "Buc^Jérôme"},
		{"Cyrillic", "ISO_IR 144", "\xbb\xee\xdace\xdc\xd1\xd0\xe0\xd3", "Люкceмбарг"},
		{"JIS X 0201 katakana", "ISO_IR 13", "\xd4\xcf\xc0\xde^\xc0\xdb\xb3", "ﾔﾏﾀﾞ^ﾀﾛｳ"},
		{"IR 13 and IR 87 (PS3.5 H.3.1)", `ISO 2022 IR 13\ISO 2022 IR 87`,
			"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J",
			"ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"},
		{"IR 87 only", `\ISO 2022 IR 87`, "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B", "Yamada^Tarou=山田^太郎"},
		{"JIS X 0212", `\ISO 2022 IR 159`, "\x1b$(D0!\x1b(B", "丂"},
		{"Latin-1 by escape", `ISO 2022 IR 6\ISO 2022 IR 100`, "\x1b-A\xe9t\xe9", "été"},
		{"Korean", `\ISO 2022 IR 149`, "\x1b$)C\xb1\xe8\xc8\xf1\xc1\xdf", "김희중"},
		{"GB18030", "GB18030", "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab", "Wang^XiaoDong=王^小东"},
		{"controls stripped", "ISO_IR 192", "A\x07B\x1b[31mC\u202eD\r\nE", "AB[31mCD E"},
		{"truncated two-byte", `\ISO 2022 IR 87`, "\x1b$B;", "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := newCharset(rawStrings([]byte(tt.charset)))
			if got := cleanText(cs.decode([]byte(tt.raw))); got != tt.want {
				t.Errorf("decode(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

// TestPersonNames checks person names from the synthetic charset files: empty
// trailing component groups are dropped with their "=" (as pydicom reads
// them), and a name inside a sequence item is decoded with the item's own
// Specific Character Set, or the enclosing one when the item has none.
func TestPersonNames(t *testing.T) {
	for file, want := range map[string]PersonName{
		"charset_utf8_pn_trailing_group": "Yamada^Tarou=山田^太郎",
		"charset_utf8_pn_empty_groups":   "Yamada^Tarou",
		"charset_items":                  "Yamada^Tarou=山田^太郎=やまだ^たろう",
	} {
		if got := parseFile(t, findFile(t, file), Limits{}).Summary().PatientName; got != want {
			t.Errorf("%s: PatientName = %q, want %q", file, got, want)
		}
	}
	f := parseFile(t, findFile(t, "charset_items"), Limits{})
	items := f.ds.items(newTag(0x0010, 0x1002)) // Other Patient IDs Sequence
	if len(items) != 2 {
		t.Fatalf("%d items", len(items))
	}
	for k, want := range []PersonName{"鈴木^花子", "Sato^Jiro=佐藤^次郎"} {
		if got := items[k].personName(tagPatientName); got != want {
			t.Errorf("item %d: PatientName = %q, want %q", k, got, want)
		}
	}
}
