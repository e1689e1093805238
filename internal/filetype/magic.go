package filetype

import (
	"bytes"
	"encoding/binary"
)

// magicCode recognises programs and scripts by their first bytes, before
// anything else looks at the file, so that no other format's check (a self-
// extracting ZIP is a valid ZIP, too) can let one through.
func magicCode(head []byte) (code, what string) {
	switch {
	case bytes.HasPrefix(head, []byte("MZ")):
		return CodeExecutable, "a Windows/DOS executable (MZ)"
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return CodeExecutable, "an ELF executable"
	case len(head) >= 4 && isMachO(binary.BigEndian.Uint32(head)):
		return CodeExecutable, "a Mach-O executable or Java class"
	case bytes.HasPrefix(head, []byte("\x00asm")):
		return CodeExecutable, "WebAssembly"
	case bytes.HasPrefix(head, []byte("dex\n")):
		return CodeExecutable, "Android bytecode"
	case bytes.HasPrefix(head, []byte("L\x00\x00\x00\x01\x14\x02\x00")):
		return CodeExecutable, "a Windows shortcut"
	case bytes.HasPrefix(skipBOM(head), []byte("#!")):
		return CodeScript, "a script (#!)"
	}
	return "", ""
}

func isMachO(m uint32) bool {
	switch m {
	case 0xFEEDFACE, 0xFEEDFACF, 0xCEFAEDFE, 0xCFFAEDFE, 0xCAFEBABE, 0xBEBAFECA, 0xCAFEBABF:
		return true
	}
	return false
}

func skipBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
}
