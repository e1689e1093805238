package filetype_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/filetype"
)

// detect runs Detect on b.
func detect(b []byte, name string) (filetype.Kind, error) {
	return filetype.Detect(bytes.NewReader(b), int64(len(b)), name)
}

// want is an expected outcome: a Class and MIME, or a refusal code.
type want struct {
	class filetype.Class
	mime  string
	code  string
}

func check(t *testing.T, name string, b []byte, fileName string, w want) {
	t.Helper()
	k, err := detect(b, fileName)
	if w.code != "" {
		var rf *filetype.Refusal
		if !errors.As(err, &rf) || !errors.Is(err, filetype.ErrNotAllowed) {
			t.Errorf("%s: Detect = %+v, %v; want refusal %q", name, k, err, w.code)
			return
		}
		if rf.Code != w.code {
			t.Errorf("%s: refused with %q (%s), want %q", name, rf.Code, rf.Detail, w.code)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: Detect = %v; want %s", name, err, w.mime)
		return
	}
	if k.Class != w.class || k.MIME != w.mime {
		t.Errorf("%s: Detect = %+v; want class %s, MIME %s", name, k, w.class, w.mime)
	}
	if k.Inline != (w.class == filetype.Image || w.class == filetype.Video) { // never PDF, whose script must not run here
		t.Errorf("%s: Inline = %v for class %s", name, k.Inline, k.Class)
	}
}

func TestDetect(t *testing.T) {
	heic, err := os.ReadFile(filepath.Join("testdata", "sample.heic"))
	if err != nil {
		t.Fatal(err)
	}
	ct := readDICOM(t, "ct_small.dcm")
	docx := "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	tests := []struct {
		name     string
		data     []byte
		fileName string
		want     want
	}{
		// Images, PDF.
		{"jpeg", encodeJPEG(t), "photo.jpg", want{class: filetype.Image, mime: "image/jpeg"}},
		{"png", encodePNG(t), "x.png", want{class: filetype.Image, mime: "image/png"}},
		{"gif", encodeGIF(t), "x.gif", want{class: filetype.Image, mime: "image/gif"}},
		{"tiff", encodeTIFF(t), "scan.tif", want{class: filetype.Image, mime: "image/tiff"}},
		{"heic", heic, "IMG_0001.HEIC", want{class: filetype.Image, mime: "image/heic"}},
		{"pdf", minimalPDF(), "letter.pdf", want{class: filetype.PDF, mime: "application/pdf"}},
		{"jpeg named .txt", encodeJPEG(t), "notes.txt", want{class: filetype.Image, mime: "image/jpeg"}},
		{"jpeg without a name", encodeJPEG(t), "", want{class: filetype.Image, mime: "image/jpeg"}},

		// DICOM, also where the preamble looks like TIFF, and without preamble.
		{"dicom", readDICOM(t, "mr_prostate.dcm"), "IM0001", want{class: filetype.DICOM, mime: "application/dicom"}},
		{"dicom with TIFF preamble", ct, "ct.dcm", want{class: filetype.DICOM, mime: "application/dicom"}},
		{"dicom without preamble", withoutPreamble(ct), "", want{class: filetype.DICOM, mime: "application/dicom"}},
		{"dicom bare implicit dataset", withoutMeta(readDICOM(t, "mr_small_implicit.dcm")), "", want{class: filetype.DICOM, mime: "application/dicom"}},
		{"dicom bare explicit dataset", withoutMeta(readDICOM(t, "mr_prostate.dcm")), "", want{class: filetype.DICOM, mime: "application/dicom"}},
		{"DICOMDIR", readDICOMDIR(t), "DICOMDIR", want{class: filetype.DICOM, mime: "application/dicom"}},

		// Text.
		{"utf-8 text", []byte("紹介状\n患者様の経過をご報告します。\n"), "memo.txt", want{class: filetype.Text, mime: "text/plain; charset=utf-8"}},
		{"shift_jis text", shiftJIS(t, "紹介状\r\n患者様の経過をご報告します。\r\n"), "memo.txt", want{class: filetype.Text, mime: "text/plain; charset=shift_jis"}},
		{"utf-8 csv", []byte("id,name,value\n1,山田,3.2\n2,佐藤,4.5\n3,鈴木,5.0\n"), "lab.csv", want{class: filetype.Text, mime: "text/csv; charset=utf-8"}},
		{"shift_jis csv", shiftJIS(t, "id,name,value\r\n1,山田,3.2\r\n2,佐藤,4.5\r\n3,鈴木,5.0\r\n"), "lab.csv", want{class: filetype.Text, mime: "text/csv; charset=shift_jis"}},
		{"empty", nil, "empty.txt", want{class: filetype.Text, mime: "text/plain; charset=utf-8"}},
		{"binary noise", bytes.Repeat([]byte{0x00, 0x13, 0xfe, 0x07}, 300), "data.bin", want{code: filetype.CodeUnknown}},
		{"rtf", []byte(`{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0\pard Hi\par}`), "x.rtf", want{code: filetype.CodeUnknown}},

		// Office Open XML.
		{"docx", ooxml(t, ctDocx, "word/document.xml"), "letter.docx", want{class: filetype.Office, mime: docx}},
		{"xlsx", ooxml(t, strings.ReplaceAll(ctDocx, "/word/document.xml", "/xl/workbook.xml"), "xl/workbook.xml"), "a.xlsx",
			want{class: filetype.Office, mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
		{"pptx", ooxml(t, ctDocx, "ppt/presentation.xml"), "a.pptx",
			want{class: filetype.Office, mime: "application/vnd.openxmlformats-officedocument.presentationml.presentation"}},
		{"docm content type", ooxml(t, ctDocm, "word/document.xml"), "letter.docx", want{code: filetype.CodeMacro}},
		{"docx with vbaProject.bin", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/vbaProject.bin", data: buildOLE([]oleItem{{path: "VBA", storage: true}})}), "letter.docx", want{code: filetype.CodeMacro}},
		{"docx with ActiveX", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/activeX/activeX1.xml", data: []byte("<ax/>")}), "letter.docx", want{code: filetype.CodeMacro}},
		{"docx embedding a program", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/embeddings/oleObject1.bin", data: peHeader()}), "letter.docx", want{code: filetype.CodeExecutable}},
		{"docx embedding a packaged program", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/embeddings/oleObject1.bin",
			data: buildOLE([]oleItem{{path: "\x01Ole10Native", data: packaged("setup.exe", peHeader())}})}), "letter.docx", want{code: filetype.CodeExecutable}},
		{"docx embedding a packaged PDF", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/embeddings/oleObject1.bin",
			data: buildOLE([]oleItem{{path: "\x01Ole10Native", data: packaged("report.pdf", minimalPDF())}})}), "letter.docx", want{class: filetype.Office, mime: docx}},
		{"docx embedding a macro workbook", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/embeddings/Microsoft_Excel_Macro-Enabled_Worksheet.xlsm", data: []byte("PK")}), "letter.docx", want{code: filetype.CodeMacro}},
		{"docx named .docm", ooxml(t, ctDocx, "word/document.xml"), "letter.docm", want{code: filetype.CodeMacro}},
		{"docx with encrypted part", ooxml(t, ctDocx, "word/document.xml", zipFile{name: "word/media/x.bin", data: []byte("x"), encrypted: true}), "a.docx", want{code: filetype.CodeEncrypted}},
		{"open xml, not office", ooxml(t, ctDocx, "visio/document.xml"), "a.vsdx", want{code: filetype.CodeUnknown}},

		// Legacy Office (OLE2).
		{"doc", buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 5000)}, {path: "1Table", data: make([]byte, 300)}}), "a.doc",
			want{class: filetype.Office, mime: "application/msword"}},
		{"doc, small streams", buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 600)}, {path: "\x05SummaryInformation", data: make([]byte, 200)}}), "a.doc",
			want{class: filetype.Office, mime: "application/msword"}},
		{"doc with macros", buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 5000)}, {path: "Macros", storage: true},
			{path: "Macros/VBA", storage: true}, {path: "Macros/VBA/dir", data: make([]byte, 100)}}), "a.doc", want{code: filetype.CodeMacro}},
		{"encrypted doc", buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0x0100, 5000)}}), "a.doc", want{code: filetype.CodeEncrypted}},
		{"doc packaging a program", buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 5000)}, {path: "ObjectPool", storage: true},
			{path: "ObjectPool/_1234", storage: true}, {path: "ObjectPool/_1234/\x01Ole10Native", data: packaged("invoice.pdf.js", []byte("WScript.Echo(1)"))}}), "a.doc", want{code: filetype.CodeScript}},
		{"xls", buildOLE([]oleItem{{path: "Workbook", data: workbookStream(0, false)}}), "a.xls", want{class: filetype.Office, mime: "application/vnd.ms-excel"}},
		{"xls with Excel 4.0 macro sheet", buildOLE([]oleItem{{path: "Workbook", data: workbookStream(1, false)}}), "a.xls", want{code: filetype.CodeMacro}},
		{"xls with VBA", buildOLE([]oleItem{{path: "Workbook", data: workbookStream(0, false)}, {path: "_VBA_PROJECT_CUR", storage: true}}), "a.xls", want{code: filetype.CodeMacro}},
		{"encrypted xls", buildOLE([]oleItem{{path: "Workbook", data: workbookStream(0, true)}}), "a.xls", want{code: filetype.CodeEncrypted}},
		{"ppt", buildOLE([]oleItem{{path: "PowerPoint Document", data: make([]byte, 5000)}, {path: "Current User", data: make([]byte, 60)}}), "a.ppt",
			want{class: filetype.Office, mime: "application/vnd.ms-powerpoint"}},
		{"encrypted docx", buildOLE([]oleItem{{path: "EncryptionInfo", data: make([]byte, 200)}, {path: "EncryptedPackage", data: make([]byte, 5000)}}), "a.docx", want{code: filetype.CodeEncrypted}},
		{"other OLE2 file", buildOLE([]oleItem{{path: "__substg1.0_0037001F", data: make([]byte, 100)}}), "mail.msg", want{code: filetype.CodeUnknown}},
		{"truncated OLE2", buildOLE([]oleItem{{path: "WordDocument", data: wordStream(0, 5000)}})[:1024], "a.doc", want{code: filetype.CodeUnknown}},

		// ZIP.
		{"zip of DICOM", buildZip(t, zipFile{name: "study/DICOMDIR", data: readDICOMDIR(t)}, zipFile{name: "study/IM1", data: ct}), "study.zip", want{class: filetype.Zip, mime: "application/zip"}},
		{"zip holding a program", buildZip(t, zipFile{name: "docs/readme.txt", data: []byte("hi")}, zipFile{name: "docs/Setup.EXE", data: peHeader()}), "a.zip", want{code: filetype.CodeExecutable}},
		{"zip holding a script", buildZip(t, zipFile{name: "run.ps1", data: []byte("Write-Host 1")}), "a.zip", want{code: filetype.CodeScript}},
		{"encrypted zip", buildZip(t, zipFile{name: "patients.csv", data: []byte("a,b"), encrypted: true}), "a.zip", want{code: filetype.CodeEncrypted}},
		{"zip escaping its folder", buildZip(t, zipFile{name: "../../etc/cron.d/x", data: []byte("x")}), "a.zip", want{code: filetype.CodeUnknown}},
		{"jar", buildZip(t, zipFile{name: "META-INF/MANIFEST.MF", data: []byte("Manifest-Version: 1.0\n")}, zipFile{name: "a/B.class", data: []byte{0xCA, 0xFE, 0xBA, 0xBE}}), "a.zip", want{code: filetype.CodeExecutable}},
		{"odt", buildZip(t, zipFile{name: "mimetype", data: []byte("application/vnd.oasis.opendocument.text")}, zipFile{name: "content.xml", data: []byte("<x/>")}), "a.odt", want{code: filetype.CodeUnknown}},
		{"corrupt zip", buildZip(t, zipFile{name: "a.txt", data: []byte("x")})[:40], "a.zip", want{code: filetype.CodeUnknown}},

		// Programs and scripts, however named.
		{"elf", elfHeader(), "tool", want{code: filetype.CodeExecutable}},
		{"pe", peHeader(), "setup.exe", want{code: filetype.CodeExecutable}},
		{"pe named .jpg", peHeader(), "photo.jpg", want{code: filetype.CodeExecutable}},
		{"pe named .pdf", append(peHeader(), minimalPDF()...), "letter.pdf", want{code: filetype.CodeExecutable}},
		{"self-extracting zip", append(peHeader(), buildZip(t, zipFile{name: "a.txt", data: []byte("x")})...), "a.zip", want{code: filetype.CodeExecutable}},
		{"mach-o", machOHeader(), "app", want{code: filetype.CodeExecutable}},
		{"java class", []byte{0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 0x34}, "A.class", want{code: filetype.CodeExecutable}},
		{"shell script", []byte("#!/bin/sh\nrm -rf /\n"), "notes.txt", want{code: filetype.CodeScript}},
		{"script with BOM", []byte("\xEF\xBB\xBF#!/usr/bin/env python3\nprint(1)\n"), "notes.txt", want{code: filetype.CodeScript}},
		{"php", []byte("<?php echo 1; ?>\n"), "a.txt", want{code: filetype.CodeScript}},
		{"jpeg named .exe", encodeJPEG(t), "photo.exe", want{code: filetype.CodeExecutable}},
		{"jpeg named .jpg.exe. ", encodeJPEG(t), `C:\Users\a\photo.jpg.exe. `, want{code: filetype.CodeExecutable}},
		{"text named .js", []byte("alert(1)\n"), "a.js", want{code: filetype.CodeScript}},
		{"text named .bat", []byte("echo hi\r\n"), "run.bat", want{code: filetype.CodeScript}},
		{"text named .ps1", []byte("Write-Host hi\n"), "run.PS1", want{code: filetype.CodeScript}},
		{"text named .vbs", []byte("MsgBox 1\n"), "a.vbs", want{code: filetype.CodeScript}},
		{"pdf named .html", minimalPDF(), "a.html", want{code: filetype.CodeHTML}},

		// Markup.
		{"html", []byte("<!DOCTYPE html><html><body>hi</body></html>"), "a.txt", want{code: filetype.CodeHTML}},
		{"html without doctype", []byte("  <div onclick=x()>hi</div>"), "a.txt", want{code: filetype.CodeHTML}},
		{"xhtml", []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>`), "a.txt", want{code: filetype.CodeHTML}},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>`), "a.png", want{code: filetype.CodeSVG}},
		{"svg with script", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "a.png", want{code: filetype.CodeSVG}},
		{"xml with script", []byte(`<?xml version="1.0"?><doc><script>alert(1)</script></doc>`), "a.txt", want{code: filetype.CodeScript}},
		{"plain xml", []byte(`<?xml version="1.0"?><lab><result>3.2</result></lab>`), "lab.txt", want{code: filetype.CodeUnknown}},
	}
	for _, tt := range tests {
		check(t, tt.name, tt.data, tt.fileName, tt.want)
	}
}

// TestEveryDICOMFile runs every DICOM file of the test data: the single files
// and the DICOMDIR study (whose image files have no extension).
func TestEveryDICOMFile(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "dicom")
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		inStudy := strings.HasPrefix(filepath.ToSlash(rel), "dicomdir_study/") && !strings.HasSuffix(rel, ".txt") && !strings.Contains(rel, "README")
		if !inStudy && (strings.Contains(rel, string(filepath.Separator)) || !strings.HasSuffix(rel, ".dcm")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		check(t, path, b, filepath.Base(path), want{class: filetype.DICOM, mime: "application/dicom"})
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Errorf("checked %d DICOM files, want the whole test data", n)
	}
}

func readDICOMDIR(t *testing.T) []byte {
	return readDICOM(t, filepath.Join("dicomdir_study", "DICOMDIR"))
}

// TestDetectReadsOnlyWhatItNeeds: a large ZIP of DICOM files is judged by its
// directory and the first bytes of each entry.
func TestDetectReadsOnlyWhatItNeeds(t *testing.T) {
	big := append(readDICOM(t, "ct_small.dcm"), noise(7, 2_200_000)...)
	z := buildZip(t, zipFile{name: "a/IM1", data: big}, zipFile{name: "a/IM2", data: big})
	r := &boundedReader{b: z}
	k, err := filetype.Detect(r, int64(len(z)), "a.zip")
	if err != nil || k.Class != filetype.Zip {
		t.Fatalf("Detect = %+v, %v", k, err)
	}
	if r.read > 6*64<<10 {
		t.Errorf("Detect read %d bytes of a %d-byte ZIP; want only its head, directory and the heads of its entries", r.read, len(z))
	}
}

type boundedReader struct {
	b    []byte
	read int
}

func (r *boundedReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := bytes.NewReader(r.b).ReadAt(p, off)
	r.read += n
	return n, err
}
