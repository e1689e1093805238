package filetype

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// checkText accepts text in UTF-8 or Shift_JIS that does not start as markup.
// mime is the accepted type ("text/plain", "text/csv", …).
func checkText(head []byte, size int64, mime string) (Kind, error) {
	body := skipBOM(head)
	if t := bytes.TrimLeft(body, " \t\r\n\f"); len(t) > 0 && t[0] == '<' {
		return Kind{}, refuse(markupCode(t), "text that starts as markup")
	}
	if bytes.IndexByte(body, 0) >= 0 {
		return Kind{}, refuse(CodeUnknown, "text with NUL bytes")
	}
	truncated := int64(len(head)) < size
	switch {
	case validUTF8(body, truncated):
		return textKind(mime, "utf-8"), nil
	case validShiftJIS(body, truncated):
		return textKind(mime, "shift_jis"), nil
	}
	return Kind{}, refuse(CodeUnknown, "text in neither UTF-8 nor Shift_JIS")
}

func textKind(mime, charset string) Kind {
	ext := ".txt"
	switch mime {
	case "text/csv":
		ext = ".csv"
	case "text/tab-separated-values":
		ext = ".tsv"
	}
	return Kind{MIME: mime + "; charset=" + charset, Class: Text, Ext: ext}
}

// validUTF8 allows a character cut off at the end of a head that is not the
// whole file.
func validUTF8(b []byte, truncated bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if !truncated {
		return false
	}
	for cut := 1; cut < utf8.UTFMax && cut < len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) {
			return true
		}
	}
	return false
}

// validShiftJIS decodes b and looks for characters that did not decode.
func validShiftJIS(b []byte, truncated bool) bool {
	if truncated && len(b) > 0 && isSJISLead(b[len(b)-1]) {
		b = b[:len(b)-1] // a double-byte character cut in half
	}
	out, err := japanese.ShiftJIS.NewDecoder().Bytes(b)
	return err == nil && !bytes.ContainsRune(out, utf8.RuneError)
}

func isSJISLead(c byte) bool { return 0x81 <= c && c <= 0x9F || 0xE0 <= c && c <= 0xFC }

// markupCode says what text starting with '<' is: SVG, something with script,
// or HTML (which is what a browser would take most markup for).
func markupCode(b []byte) string {
	lower := bytes.ToLower(b[:min(len(b), 4096)])
	switch {
	case bytes.Contains(lower, []byte("<svg")):
		return CodeSVG
	case bytes.Contains(lower, []byte("<script")) || bytes.Contains(lower, []byte("javascript:")):
		return CodeScript
	}
	return CodeHTML
}

// xmlCode is the reason an XML file is refused.
func xmlCode(head []byte) string {
	switch code := markupCode(head); code {
	case CodeSVG, CodeScript:
		return code
	}
	lower := bytes.ToLower(head)
	if bytes.Contains(lower, []byte("http://www.w3.org/1999/xhtml")) || bytes.Contains(lower, []byte("<html")) {
		return CodeHTML
	}
	return CodeUnknown
}
