package filetype

// media are the accepted image, video and PDF types, by the MIME type
// mimetype reports (or one of its ancestors).
var media = map[string]Kind{
	"image/jpeg":      {MIME: "image/jpeg", Class: Image, Ext: ".jpg", Inline: true},
	"image/png":       {MIME: "image/png", Class: Image, Ext: ".png", Inline: true},
	"image/gif":       {MIME: "image/gif", Class: Image, Ext: ".gif", Inline: true},
	"image/webp":      {MIME: "image/webp", Class: Image, Ext: ".webp", Inline: true},
	"image/tiff":      {MIME: "image/tiff", Class: Image, Ext: ".tif", Inline: true},
	"image/heic":      {MIME: "image/heic", Class: Image, Ext: ".heic", Inline: true},
	"image/heif":      {MIME: "image/heif", Class: Image, Ext: ".heif", Inline: true},
	"video/mp4":       {MIME: "video/mp4", Class: Video, Ext: ".mp4", Inline: true},
	"video/x-m4v":     {MIME: "video/mp4", Class: Video, Ext: ".mp4", Inline: true},
	"video/quicktime": {MIME: "video/quicktime", Class: Video, Ext: ".mov", Inline: true},
	"video/webm":      {MIME: "video/webm", Class: Video, Ext: ".webm", Inline: true},
	"application/pdf": {MIME: "application/pdf", Class: PDF, Ext: ".pdf"}, // its script must never run here: pages are shown as images
}

// refusedMIME gives the reason for types that are refused outright. Types in
// neither map are refused as unknown.
var refusedMIME = map[string]string{
	"application/vnd.microsoft.portable-executable": CodeExecutable,
	"application/x-elf":                             CodeExecutable,
	"application/x-mach-binary":                     CodeExecutable,
	"application/x-java-applet":                     CodeExecutable,
	"application/wasm":                              CodeExecutable,
	"application/x-ms-shortcut":                     CodeExecutable,
	"application/x-ms-installer":                    CodeExecutable,
	"application/x-chrome-extension":                CodeExecutable,
	"application/x-shockwave-flash":                 CodeExecutable,
	"application/x-bytecode.python":                 CodeExecutable,
	"application/vnd.debian.binary-package":         CodeExecutable,
	"application/x-rpm":                             CodeExecutable,
	"text/x-shellscript":                            CodeScript,
	"text/x-php":                                    CodeScript,
	"text/javascript":                               CodeScript,
	"text/x-python":                                 CodeScript,
	"text/x-perl":                                   CodeScript,
	"text/x-ruby":                                   CodeScript,
	"text/x-lua":                                    CodeScript,
	"text/x-tcl":                                    CodeScript,
	"text/html":                                     CodeHTML,
	"application/xhtml+xml":                         CodeHTML,
	"image/svg+xml":                                 CodeSVG,
}

// textTypes are the text types accepted, after the text checks.
var textTypes = map[string]string{
	"text/plain":                "text/plain",
	"text/csv":                  "text/csv",
	"text/tab-separated-values": "text/tab-separated-values",
	"application/json":          "text/plain",
	"application/x-ndjson":      "text/plain",
}

// baseType drops parameters such as "; charset=utf-8".
func baseType(mime string) string {
	for i := range len(mime) {
		if mime[i] == ';' {
			return mime[:i]
		}
	}
	return mime
}
