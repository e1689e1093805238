package filetype

import (
	"errors"
	"fmt"
)

// ErrNotAllowed is wrapped by every refusal; test with errors.Is, and use
// errors.As with *Refusal for the reason.
var ErrNotAllowed = errors.New("file type not allowed")

// Reason codes a Refusal carries; each maps to one message for the user.
const (
	CodeExecutable  = "executable"  // a program: PE, ELF, Mach-O, Java, installer, shortcut…
	CodeScript      = "script"      // a script: shebang, PHP, JavaScript, batch, PowerShell…
	CodeHTML        = "html"        // HTML or XHTML, or text that starts as markup
	CodeSVG         = "svg"         // SVG, which can carry script
	CodeMacro       = "macro"       // an Office document with macros or ActiveX
	CodeEncrypted   = "encrypted"   // password-protected, so it cannot be checked
	CodeUnknown     = "unknown"     // not on the allow-list, or not recognised
	CodeNested      = "nested"      // archives inside archives deeper than MaxDepth
	CodeEntries     = "entries"     // more entries than MaxEntries, over all nested containers
	CodeExpands     = "expands"     // a decompression bomb: expands too far, too much, or reuses its bytes
	CodeCompression = "compression" // an entry MedBox cannot decompress to check it
)

// Refusal says why a file is not allowed.
type Refusal struct {
	Code   string // one of the Code… constants
	Detail string // what was found, for logs; never shown to users
	// Entry is the path of the offending entry inside the uploaded file, with
	// the entries of nested containers joined by "/" ("scans/inner.zip/run.exe"),
	// or "" when the refusal is about the file itself. It is cleaned with
	// DisplayName and shortened, so it may be shown to the user.
	Entry string
}

// Error describes the refusal for logs.
func (r *Refusal) Error() string {
	if r.Entry != "" {
		return fmt.Sprintf("file type not allowed (%s) at entry %q: %s", r.Code, r.Entry, r.Detail)
	}
	return fmt.Sprintf("file type not allowed (%s): %s", r.Code, r.Detail)
}

// Unwrap makes errors.Is(err, ErrNotAllowed) hold.
func (r *Refusal) Unwrap() error { return ErrNotAllowed }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Detail: fmt.Sprintf(format, args...)}
}
