package filetype_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/filetype"
)

// entry is a member of an archive made by zipOf.
type entry struct {
	name   string
	data   []byte
	stored bool   // Store rather than Deflate
	flags  uint16 // general purpose flags for the central directory only, as a tool might set them
	// raw declares method, sizes and CRC as given and writes data as it is: a
	// hand-made entry that archive/zip's writer would not make.
	raw                    bool
	method                 uint16
	compressed, expandedTo uint64
	nonUTF8                bool
	extra                  []byte
}

// zipOf builds a ZIP of entries.
func zipOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate, NonUTF8: e.nonUTF8, Extra: e.extra}
		if e.stored {
			fh.Method = zip.Store
		}
		var err error
		var w interface{ Write([]byte) (int, error) }
		if e.raw {
			fh.Method = e.method
			fh.CompressedSize64, fh.UncompressedSize64 = e.compressed, e.expandedTo
			fh.CRC32 = crc32.ChecksumIEEE(e.data)
			w, err = zw.CreateRaw(fh)
		} else {
			w, err = zw.CreateHeader(fh)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
		fh.Flags |= e.flags // written into the central directory at Close
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// nest puts leaf at the bottom of depth archives, each holding the next as
// "level<n>.zip".
func nest(t testing.TB, depth int, leaf entry) []byte {
	b := zipOf(t, leaf)
	for n := depth - 1; n >= 1; n-- {
		b = zipOf(t, entry{name: "level" + string(rune('0'+n)) + ".zip", data: b})
	}
	return b
}

// noise is n random bytes, the same for the same seed.
func noise(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

// textThenNoise is 16 KiB of text followed by random bytes.
func textThenNoise() []byte {
	return append(bytes.Repeat([]byte("紹介状: 経過良好。\n"), 16<<10/27+1), noise(1, 16<<10)...)
}

// duplicateLast repeats the central directory record of a ZIP's last entry, so
// that two entries share the same bytes.
func duplicateLast(t testing.TB, z []byte) []byte {
	t.Helper()
	le := binary.LittleEndian
	end := bytes.LastIndex(z, []byte("PK\x05\x06"))
	dirOff, dirSize := int(le.Uint32(z[end+16:])), int(le.Uint32(z[end+12:]))
	last := bytes.LastIndex(z[:dirOff+dirSize], []byte("PK\x01\x02"))
	rec := z[last : dirOff+dirSize]
	out := append([]byte{}, z[:dirOff+dirSize]...)
	out = append(out, rec...)
	eocd := append([]byte{}, z[end:]...)
	le.PutUint16(eocd[8:], le.Uint16(eocd[8:])+1)
	le.PutUint16(eocd[10:], le.Uint16(eocd[10:])+1)
	le.PutUint32(eocd[12:], uint32(dirSize+len(rec)))
	return append(out, eocd...)
}

// patchLocal replaces old with new (of the same length) in the first local
// header, leaving the central directory as it was.
func patchLocal(z []byte, old, new string) []byte {
	out := append([]byte{}, z...)
	i := bytes.Index(out, []byte(old))
	copy(out[i:], new)
	return out
}

// dropLast removes the central directory record of a ZIP's last entry, so that
// its local entry is listed nowhere.
func dropLast(t testing.TB, z []byte) []byte {
	t.Helper()
	le := binary.LittleEndian
	end := bytes.LastIndex(z, []byte("PK\x05\x06"))
	dirOff, dirSize := int(le.Uint32(z[end+16:])), int(le.Uint32(z[end+12:]))
	last := bytes.LastIndex(z[:dirOff+dirSize], []byte("PK\x01\x02"))
	out := append([]byte{}, z[:last]...)
	eocd := append([]byte{}, z[end:]...)
	le.PutUint16(eocd[8:], le.Uint16(eocd[8:])-1)
	le.PutUint16(eocd[10:], le.Uint16(eocd[10:])-1)
	le.PutUint32(eocd[12:], uint32(last-dirOff))
	return append(out, eocd...)
}

// unicodePathExtra is an Info-ZIP Unicode path field naming name.
func unicodePathExtra(name string) []byte {
	b := []byte{0x75, 0x70, byte(5 + len(name)), 0, 1, 0, 0, 0, 0}
	return append(b, name...)
}

// refusedAt checks that Detect refuses b with code, naming entry.
func refusedAt(t *testing.T, name string, b []byte, fileName, code, entry string) {
	t.Helper()
	k, err := detect(b, fileName)
	var rf *filetype.Refusal
	if !errors.As(err, &rf) || !errors.Is(err, filetype.ErrNotAllowed) {
		t.Errorf("%s: Detect = %+v, %v; want refusal %q at %q", name, k, err, code, entry)
		return
	}
	if rf.Code != code || rf.Entry != entry {
		t.Errorf("%s: refused with %q at %q (%s), want %q at %q", name, rf.Code, rf.Entry, rf.Detail, code, entry)
	}
}

// TestArchiveContents (issue 14): every entry of an archive is judged by its
// content with the rules of a file of its own, nested archives too, within
// limits; a refusal names the entry.
func TestArchiveContents(t *testing.T) {
	pe, jpg, ct := peHeader(), encodeJPEG(t), readDICOM(t, "ct_small.dcm")
	html := []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
	encryptedXLS := buildOLE([]oleItem{{path: "Workbook", data: workbookStream(0, true)}})
	sjisName := string(shiftJIS(t, "紹介状.exe"))
	many := func(n int) []entry {
		out := make([]entry, n)
		for i := range out {
			out[i] = entry{name: "f/" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('0'+i%10)) + ".txt", stored: true}
		}
		return out
	}
	tests := []struct {
		name        string
		data        []byte
		code, entry string // "" for accepted as a ZIP
	}{
		// The four cases of the report.
		{"program named photo.jpg", zipOf(t, entry{name: "photo.jpg", data: pe}), filetype.CodeExecutable, "photo.jpg"},
		{"zip holding inner.zip holding run.exe", zipOf(t, entry{name: "inner.zip", data: zipOf(t, entry{name: "run.exe", data: pe})}), filetype.CodeExecutable, "inner.zip/run.exe"},
		{"encrypted zip inside a zip", zipOf(t, entry{name: "inner.zip", data: zipOf(t, entry{name: "patients.csv", data: []byte("a,b\n"), flags: 1})}), filetype.CodeEncrypted, "inner.zip/patients.csv"},
		{"html named page.txt", zipOf(t, entry{name: "page.txt", data: html}), filetype.CodeHTML, "page.txt"},

		// Content, however the entry is named and however deep.
		{"program with a harmless name two levels down", nest(t, 3, entry{name: "notes.txt", data: pe}), filetype.CodeExecutable, "level1.zip/level2.zip/notes.txt"},
		{"stored zip holding a program", zipOf(t, entry{name: "inner.zip", stored: true, data: zipOf(t, entry{name: "a.pdf", data: elfHeader(), stored: true})}), filetype.CodeExecutable, "inner.zip/a.pdf"},
		{"svg named .png", zipOf(t, entry{name: "img/scan.png", data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)}), filetype.CodeSVG, "img/scan.png"},
		{"script named .txt", zipOf(t, entry{name: "notes.txt", data: []byte("#!/bin/sh\nrm -rf ~\n")}), filetype.CodeScript, "notes.txt"},
		{"text then random bytes", zipOf(t, entry{name: "notes.txt", data: textThenNoise()}), filetype.CodeUnknown, "notes.txt"},
		{"unrecognised binary", zipOf(t, entry{name: "data.bin", data: noise(2, 5000)}), filetype.CodeUnknown, "data.bin"},
		{"7z inside", zipOf(t, entry{name: "x.7z", data: append([]byte("7z\xBC\xAF\x27\x1C\x00\x04"), noise(3, 100)...)}), filetype.CodeUnknown, "x.7z"},
		{"dicom study hiding a program", zipOf(t, entry{name: "study/DICOMDIR", data: readDICOMDIR(t)}, entry{name: "study/IM1", data: ct}, entry{name: "study/IM2", data: pe}), filetype.CodeExecutable, "study/IM2"},
		{"shift_jis entry name", zipOf(t, entry{name: sjisName, data: jpg, nonUTF8: true}), filetype.CodeExecutable, "紹介状.exe"},
		{"bidi control in entry name", zipOf(t, entry{name: "scan\u202Egpj.exe", data: jpg}), filetype.CodeExecutable, "scangpj.exe"},

		// Read another way — by local headers, or by Unicode path fields —
		// an archive must show nothing the walk did not judge.
		{"local name differs", patchLocal(zipOf(t, entry{name: "notes.txt", data: []byte("WScript.Echo 1\r\n")}), "notes.txt", "notes.vbs"), filetype.CodeScript, "notes.txt"},
		{"unicode path field names a program", zipOf(t, entry{name: "a.txt", data: []byte("MsgBox 1\r\n"), extra: unicodePathExtra("a.vbs")}), filetype.CodeScript, "a.txt"},
		{"local entry the directory does not list", dropLast(t, zipOf(t, entry{name: "a.jpg", data: jpg}, entry{name: "run.exe", data: pe})), filetype.CodeUnknown, ""},
		{"encrypted in the local header only", patchLocal(zipOf(t, entry{name: "a.jpg", data: jpg, stored: true}), "PK\x03\x04\x14\x00\x08", "PK\x03\x04\x14\x00\x09"), filetype.CodeEncrypted, "a.jpg"},

		// Encryption, compression, limits.
		{"strong encryption flag", zipOf(t, entry{name: "a.txt", data: []byte("x"), flags: 0x40}), filetype.CodeEncrypted, "a.txt"},
		{"encrypted entry two levels down", nest(t, 3, entry{name: "a.txt", data: []byte("x"), flags: 1}), filetype.CodeEncrypted, "level1.zip/level2.zip/a.txt"},
		{"bzip2 entry", zipOf(t, entry{name: "a.txt", data: []byte("BZh91AY&SY"), raw: true, method: 12, compressed: 10, expandedTo: 10}), filetype.CodeCompression, "a.txt"},
		{"too deep", nest(t, 4, entry{name: "photo.jpg", data: jpg}), filetype.CodeNested, "level1.zip/level2.zip/level3.zip"},
		{"bomb by ratio", zipOf(t, entry{name: "zeros.csv", data: make([]byte, 8<<20)}), filetype.CodeExpands, "zeros.csv"},
		{"bomb one level down", zipOf(t, entry{name: "inner.zip", stored: true, data: zipOf(t, entry{name: "zeros.csv", data: make([]byte, 8<<20)})}), filetype.CodeExpands, "inner.zip/zeros.csv"},
		{"declared to expand past the total", zipOf(t, entry{name: "a.dcm", data: noise(4, 1000), raw: true, method: zip.Deflate, compressed: 1 << 40, expandedTo: 100 << 40}), filetype.CodeExpands, "a.dcm"},
		{"entries sharing bytes", duplicateLast(t, zipOf(t, entry{name: "a.jpg", data: jpg, stored: true})), filetype.CodeExpands, "a.jpg"},
		{"too many entries", zipOf(t, many(filetype.MaxEntries+1)...), filetype.CodeEntries, ""},
		{"too many entries over two levels", zipOf(t, entry{name: "a.zip", data: zipOf(t, many(filetype.MaxEntries/2)...)}, entry{name: "b.zip", data: zipOf(t, many(filetype.MaxEntries/2)...)}), filetype.CodeEntries, "b.zip"},

		// Office documents and legacy Office files inside.
		{"docx with macros in a zip", zipOf(t, entry{name: "letter.docx", data: ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/vbaProject.bin", data: []byte("x")})}), filetype.CodeMacro, "letter.docx/word/vbaProject.bin"},
		{"docx with a program in an embedded zip", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/embeddings/Package.zip", data: zipOf(t, entry{name: "readme.txt", data: pe})}), filetype.CodeExecutable, "word/embeddings/Package.zip/readme.txt"},
		{"docx in a docx holding a program", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/embeddings/Microsoft_Word_Document.docx",
			data: ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/media/image1.png", data: pe})}), filetype.CodeExecutable, "word/embeddings/Microsoft_Word_Document.docx/word/media/image1.png"},
		{"program as a docx part", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/media/image1.png", data: elfHeader()}), filetype.CodeExecutable, "word/media/image1.png"},
		{"encrypted xls in a zip", zipOf(t, entry{name: "lab/a.xls", data: encryptedXLS}), filetype.CodeEncrypted, "lab/a.xls"},
		{"doc with a zip stream holding a program", zipOf(t, entry{name: "a.doc", data: buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 5000)},
			{path: "ObjectPool", storage: true}, {path: "ObjectPool/_1", storage: true}, {path: "ObjectPool/_1/Package", data: zipOf(t, entry{name: "setup.txt", data: pe})}})}),
			filetype.CodeExecutable, "a.doc/Package/setup.txt"},
		{"doc packaging a zip of a program", buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 5000)},
			{path: "\x01Ole10Native", data: packaged("files.zip", zipOf(t, entry{name: "a.txt", data: pe}))}}), filetype.CodeExecutable, "_Ole10Native/files.zip/a.txt"},
		{"doc with a program as a stream", buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 5000)}, {path: "Data", data: pe}}), filetype.CodeExecutable, "Data"},

		// Accepted.
		{"three levels", nest(t, 3, entry{name: "photo.jpg", data: jpg}), "", ""},
		{"dicom study", zipOf(t, entry{name: "study/DICOMDIR", data: readDICOMDIR(t)}, entry{name: "study/IM1", data: ct}, entry{name: "study/README.TXT", data: []byte("CD export\r\n")}), "", ""},
		{"made on a mac", zipOf(t, entry{name: "photo.jpg", data: jpg}, entry{name: "__MACOSX/._photo.jpg", data: []byte("\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")},
			entry{name: ".DS_Store", data: append([]byte("\x00\x00\x00\x01Bud1"), make([]byte, 100)...)}), "", ""},
		{"documents", zipOf(t, entry{name: "a.docx", data: ooxml(t, ctDocx, "word/document.xml")}, entry{name: "b.xls", data: buildOLE([]oleItem{{path: "Workbook", data: workbookStream(0, false)}})},
			entry{name: "c.pdf", data: minimalPDF()}, entry{name: "d.csv", data: shiftJIS(t, "名前,値\r\n山田,1\r\n")}, entry{name: "empty.txt"}, entry{name: "folder/"}), "", ""},
		{"docx embedding an xlsx", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/embeddings/Microsoft_Excel_Worksheet.xlsx",
			data: ooxml(t, strings.ReplaceAll(ctDocx, "/word/document.xml", "/xl/workbook.xml"), "xl/workbook.xml")}), "", ""},
	}
	for _, tt := range tests {
		if tt.code == "" {
			w := want{class: filetype.Zip, mime: "application/zip"}
			if strings.HasPrefix(tt.name, "docx") {
				w = want{class: filetype.Office, mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
			}
			check(t, tt.name, tt.data, "upload.zip", w)
			continue
		}
		refusedAt(t, tt.name, tt.data, "upload.zip", tt.code, tt.entry)
	}
}

// TestTextThroughout: a text file is text to its last byte, and its charset is
// decided by all of it.
func TestTextThroughout(t *testing.T) {
	ascii := bytes.Repeat([]byte("id,value\r\n1,2\r\n"), 1200) // 18 KiB: past the head
	letters := noise(5, 1<<20-1)                               // text that does not compress too well
	for i, c := range letters {
		letters[i] = 'a' + c%26
	}
	boundary := append(letters, "日本語\n"...)
	tests := []struct {
		name string
		data []byte
		want want
	}{
		{"text then random bytes", textThenNoise(), want{code: filetype.CodeUnknown}},
		{"text then a NUL", append(bytes.Repeat([]byte("line\n"), 4000), 0, 'x'), want{code: filetype.CodeUnknown}},
		{"text then a program", append(bytes.Repeat([]byte("line\n"), 4000), peHeader()...), want{code: filetype.CodeUnknown}},
		{"Shift_JIS after an ASCII head", append(ascii, shiftJIS(t, "山田,3\r\n")...), want{class: filetype.Text, mime: "text/csv; charset=shift_jis"}},
		{"UTF-8 after an ASCII head", append(ascii, "山田,3\r\n"...), want{class: filetype.Text, mime: "text/csv; charset=utf-8"}},
		{"a byte in no charset after the head", append(append(ascii, "山田,3\r\n"...), 0xFF, '\n'), want{code: filetype.CodeUnknown}},
		{"UTF-8 across a read boundary", boundary, want{class: filetype.Text, mime: "text/plain; charset=utf-8"}},
		{"cut in the middle of a character", boundary[:len(boundary)-3], want{code: filetype.CodeUnknown}},
	}
	for _, tt := range tests {
		name := "notes.txt"
		if strings.Contains(tt.want.mime, "csv") {
			name = "lab.csv"
		}
		check(t, tt.name, tt.data, name, tt.want)
		refusedOrSame := zipOf(t, entry{name: name, data: tt.data})
		if tt.want.code != "" {
			refusedAt(t, tt.name+", in a zip", refusedOrSame, "a.zip", tt.want.code, name)
		} else {
			check(t, tt.name+", in a zip", refusedOrSame, "a.zip", want{class: filetype.Zip, mime: "application/zip"})
		}
	}
}

// TestLargeCompressedArchiveInside: a compressed ZIP inside a ZIP too large to
// hold in memory is decompressed again as it is read, and judged the same.
func TestLargeCompressedArchiveInside(t *testing.T) {
	filetype.SetMaxHeld(t, 1<<10)
	var entries []entry
	for i := range 40 {
		entries = append(entries, entry{name: "study/IM" + string(rune('A'+i%26)) + string(rune('0'+i/26)), data: append(append([]byte{}, readDICOM(t, "ct_small.dcm")...), noise(uint64(i), 3000)...)})
	}
	good := zipOf(t, entry{name: "inner.zip", data: zipOf(t, append(entries, entry{name: "notes.txt", data: bytes.Repeat([]byte("経過良好\n"), 5000)})...)})
	check(t, "large inner zip", good, "a.zip", want{class: filetype.Zip, mime: "application/zip"})
	bad := zipOf(t, entry{name: "inner.zip", data: zipOf(t, append(entries, entry{name: "zz/photo.jpg", data: peHeader()})...)})
	refusedAt(t, "large inner zip with a program", bad, "a.zip", filetype.CodeExecutable, "inner.zip/zz/photo.jpg")
	xls := zipOf(t, entry{name: "a.xls", data: buildOLE([]oleItem{{path: "Workbook", data: workbookStream(0, false)}, {path: "Pad", data: make([]byte, 8000)}})})
	refusedAt(t, "large compressed OLE2 file", xls, "a.zip", filetype.CodeCompression, "a.xls")
}

// TestEveryEntryIsRead records what Detect reads of a study ZIP: the first
// bytes of every entry, and not much more.
func TestEveryEntryIsRead(t *testing.T) {
	const n = 60
	ct := readDICOM(t, "ct_small.dcm")
	var entries []entry
	for i := range n {
		entries = append(entries, entry{name: "IM" + string(rune('0'+i%10)) + string(rune('a'+i/10)), data: append(append([]byte{}, ct...), noise(uint64(i), 300_000)...), stored: i%2 == 0})
	}
	z := zipOf(t, entries...)
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	r := &recordingReader{b: z}
	if k, err := filetype.Detect(r, int64(len(z)), "study.zip"); err != nil || k.Class != filetype.Zip {
		t.Fatalf("Detect = %+v, %v", k, err)
	}
	checked := 0
	for _, f := range zr.File {
		off, _ := f.DataOffset()
		if r.covered(off, off+min(int64(f.CompressedSize64), 512)) {
			checked++
		}
	}
	t.Logf("entries checked: %d of %d; read %d of %d bytes", checked, n, r.read, len(z))
	if checked != n {
		t.Errorf("the first bytes of %d of %d entries were read", checked, n)
	}
	if limit := (2*n + 4) * 64 << 10; r.read > limit { // a block or two of 64 KiB per entry, and the directory
		t.Errorf("read %d bytes of a %d-byte ZIP, want at most %d", r.read, len(z), limit)
	}
}

// recordingReader notes which bytes were read.
type recordingReader struct {
	b    []byte
	read int
	got  []bool
}

func (r *recordingReader) ReadAt(p []byte, off int64) (int, error) {
	if r.got == nil {
		r.got = make([]bool, len(r.b))
	}
	n, err := bytes.NewReader(r.b).ReadAt(p, off)
	r.read += n
	for i := range n {
		r.got[int(off)+i] = true
	}
	return n, err
}

func (r *recordingReader) covered(from, to int64) bool {
	for i := from; i < to; i++ {
		if !r.got[i] {
			return false
		}
	}
	return true
}
