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
	CodeExecutable = "executable" // a program: PE, ELF, Mach-O, Java, installer, shortcut…
	CodeScript     = "script"     // a script: shebang, PHP, JavaScript, batch, PowerShell…
	CodeHTML       = "html"       // HTML or XHTML, or text that starts as markup
	CodeSVG        = "svg"        // SVG, which can carry script
	CodeMacro      = "macro"      // an Office document with macros or ActiveX
	CodeEncrypted  = "encrypted"  // password-protected, so it cannot be checked
	CodeUnknown    = "unknown"    // not on the allow-list, or not recognised
)

// Refusal says why a file is not allowed.
type Refusal struct {
	Code   string // one of the Code… constants
	Detail string // what was found, for logs; never shown to users
}

// Error describes the refusal for logs.
func (r *Refusal) Error() string {
	return fmt.Sprintf("file type not allowed (%s): %s", r.Code, r.Detail)
}

// Unwrap makes errors.Is(err, ErrNotAllowed) hold.
func (r *Refusal) Unwrap() error { return ErrNotAllowed }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Detail: fmt.Sprintf(format, args...)}
}
