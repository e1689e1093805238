package filetype

import (
	"path"
	"strings"
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
