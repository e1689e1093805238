package filetype

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// refusedExt maps extensions whose files we never accept, whatever they hold, to
// the reason.
var refusedExt = map[string]string{}

func init() {
	for code, exts := range map[string]string{
		CodeExecutable: ".exe .dll .com .scr .pif .cpl .msi .msp .mst .msc .sys .drv .ocx .efi " +
			".app .apk .aab .ipa .jar .class .dex .elf .so .dylib .deb .rpm .dmg .pkg .appx .msix " +
			".lnk .scf .url .reg .inf .chm .hlp .gadget .application .appref-ms .xbap .wasm",
		CodeScript: ".js .mjs .cjs .jse .vbs .vbe .wsf .wsh .wsc .sct .ps1 .psm1 .psd1 .ps1xml .bat .cmd " +
			".sh .bash .zsh .csh .ksh .command .py .pyw .pyc .pl .rb .php .phtml .lua .tcl .jsp .asp .aspx " +
			".hta .applescript .scpt .vb .action .workflow",
		CodeHTML:  ".html .htm .xhtml .xht .shtml .mht .mhtml .xsl .xslt",
		CodeSVG:   ".svg .svgz",
		CodeMacro: ".docm .dotm .xlsm .xltm .xlam .xlsb .xla .xlm .pptm .potm .ppam .ppsm .sldm",
	} {
		for _, ext := range strings.Fields(exts) {
			refusedExt[ext] = code
		}
	}
}

// nameCode returns the refusal code for a file name, or "" when the name itself
// is harmless. Only the last extension counts, as it does for the systems that
// open files; trailing dots and spaces, which Windows drops, are dropped first.
func nameCode(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToLower(strings.TrimRight(name, ". \t"))
	return refusedExt[path.Ext(name)]
}

// DisplayName returns name as it may be shown or offered for download: without
// the characters that make a name read as something it is not, and with
// control characters made visible as "_". Removed are every Unicode format
// character (category Cf: the bidirectional embeddings, overrides and isolates
// U+202A–U+202E and U+2066–U+2069, the marks U+200E, U+200F and U+061C, the
// zero-width U+200B–U+200D, U+2060–U+2064 and U+FEFF, the soft hyphen, tag
// characters…) and the other characters Unicode says to draw as nothing
// (U+034F, the Hangul fillers, U+180B–U+180F, U+FFF0–U+FFF8). Control
// characters (Cc), line and paragraph separators and invalid UTF-8 become "_".
// Variation selectors stay: they choose glyphs, as for kanji variants.
//
// "scan\u202Egpj.zip", which shows as "scanpiz.jpg", becomes "scangpj.zip".
func DisplayName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i, r := range name {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(name[i:], "\uFFFD"),
			unicode.IsControl(r), r == '\u2028', r == '\u2029':
			b.WriteByte('_')
		case invisible(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// invisible reports whether r draws as nothing (and is not a variation selector).
func invisible(r rune) bool {
	switch {
	case unicode.Is(unicode.Cf, r):
		return true
	case r == '\u034F', r == '\u115F', r == '\u1160', r == '\u3164', r == '\uFFA0', r == '\u17B4', r == '\u17B5',
		'\u180B' <= r && r <= '\u180F', '\uFFF0' <= r && r <= '\uFFF8', '\U000E0000' <= r && r <= '\U000E00FF':
		return true
	}
	return false
}
