package filetype

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
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

// scanText reads a text file through and returns its charset, UTF-8 preferred:
// every byte must be text in UTF-8 or in Shift_JIS, and none may be NUL. (The
// head decides whether a file is text at all; appended binary, or a charset
// that changes half-way, is found here.)
func scanText(r io.Reader) (string, error) {
	var u utf8Scan
	var bad replacementCheck
	sjis := transform.NewWriter(&bad, japanese.ShiftJIS.NewDecoder())
	buf := make([]byte, 1<<20)
	for off := int64(0); ; {
		n, err := io.ReadFull(r, buf)
		b := buf[:n]
		if off == 0 {
			b = skipBOM(b)
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return "", refuse(CodeUnknown, "text with a NUL byte near offset %d", off+int64(i))
		}
		u.write(b)
		if !bad.found {
			_, _ = sjis.Write(b) // its only error is replacementCheck's, seen in bad.found
		}
		if !u.ok() && bad.found {
			return "", refuse(CodeUnknown, "text in neither UTF-8 nor Shift_JIS near offset %d", off)
		}
		off += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return "", refuse(CodeUnknown, "unreadable text: %v", err)
		}
	}
	if !bad.found {
		_ = sjis.Close() // as above
	}
	switch {
	case u.close():
		return "utf-8", nil
	case !bad.found:
		return "shift_jis", nil
	}
	return "", refuse(CodeUnknown, "text in neither UTF-8 nor Shift_JIS")
}

// utf8Scan validates UTF-8 written in pieces that may split a character.
type utf8Scan struct {
	carry []byte // the start of a character cut off by the end of the last piece
	bad   bool
}

func (u *utf8Scan) ok() bool { return !u.bad }

func (u *utf8Scan) write(b []byte) {
	if u.bad {
		return
	}
	for len(u.carry) > 0 && len(b) > 0 && !utf8.FullRune(u.carry) {
		u.carry, b = append(u.carry, b[0]), b[1:]
	}
	if len(u.carry) > 0 {
		if !utf8.FullRune(u.carry) {
			return // still waiting for the rest of the character
		}
		if !utf8.Valid(u.carry) {
			u.bad = true
			return
		}
		u.carry = u.carry[:0]
	}
	for k := 1; k < utf8.UTFMax && k <= len(b); k++ {
		if tail := b[len(b)-k:]; utf8.RuneStart(tail[0]) {
			if !utf8.FullRune(tail) {
				u.carry, b = append(u.carry, tail...), b[:len(b)-k]
			}
			break
		}
	}
	u.bad = !utf8.Valid(b)
}

// close reports whether everything written was UTF-8.
func (u *utf8Scan) close() bool { return !u.bad && len(u.carry) == 0 }

// replacementCheck receives decoded text and notes U+FFFD, which the Shift_JIS
// decoder writes for bytes it cannot decode. The decoder writes whole
// characters, so the three bytes of U+FFFD never arrive split.
type replacementCheck struct{ found bool }

func (c *replacementCheck) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("\uFFFD")) {
		c.found = true
		return 0, errors.New("not Shift_JIS")
	}
	return len(p), nil
}
