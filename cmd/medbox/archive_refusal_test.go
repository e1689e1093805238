package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// zipEntry is a member of an archive built by zipBytes.
type zipEntry struct {
	name      string
	data      []byte
	encrypted bool // flag the entry encrypted in the central directory
}

func zipBytes(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if len(e.data) == 0 {
			// Stored: a deflate writer per empty entry is 20,000 allocations of
			// about 1 MB each for the many-entries case (25 s under -race).
			fh.Method = zip.Store
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
		if e.encrypted {
			fh.Flags |= 1
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestHostileArchivesLeaveNothing (issue 14 §1): each archive the attack run
// got accepted, and the other hostile containers, are refused at complete with
// 415, a message in the request's language naming the entry inside, and leave
// no upload, object, key or quota behind.
func TestHostileArchivesLeaveNothing(t *testing.T) {
	program := content(11, 40_000)
	copy(program, "MZ\x90\x00")
	binaryPE(program)
	jpg := jpeg(12, 5000)
	deep := zipBytes(t, zipEntry{name: "photo.jpg", data: jpg})
	for _, name := range []string{"d.zip", "c.zip", "b.zip"} {
		deep = zipBytes(t, zipEntry{name: name, data: deep})
	}
	var many []zipEntry
	for i := range 20_001 {
		many = append(many, zipEntry{name: fmt.Sprintf("f/%05d.txt", i)})
	}
	docm := zipBytes(t, zipEntry{name: "[Content_Types].xml", data: []byte(`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`)},
		zipEntry{name: "word/document.xml", data: []byte("<w:document/>")}, zipEntry{name: "word/vbaProject.bin", data: []byte("x")})
	textThenNoise := append(bytes.Repeat([]byte("経過良好です。\n"), 800), content(13, 20_000)...)
	tests := []struct {
		name, file string
		data       []byte
		reason     string
		entry      string
		lang       string
		says       string // in the message
	}{
		{"program named photo.jpg", "photos.zip", zipBytes(t, zipEntry{name: "photo.jpg", data: program}), "executable", "photo.jpg", "ja", "ファイル内の「photo.jpg」: 実行ファイル"},
		{"zip holding inner.zip holding run.exe", "a.zip", zipBytes(t, zipEntry{name: "inner.zip", data: zipBytes(t, zipEntry{name: "run.exe", data: program})}), "executable", "inner.zip/run.exe", "en", "“inner.zip/run.exe” inside the file: Programs"},
		{"encrypted zip inside a zip", "a.zip", zipBytes(t, zipEntry{name: "inner.zip", data: zipBytes(t, zipEntry{name: "list.csv", data: []byte("a,b\n"), encrypted: true})}), "encrypted", "inner.zip/list.csv", "ja", "「inner.zip/list.csv」: パスワード付き"},
		{"html named page.txt", "a.zip", zipBytes(t, zipEntry{name: "docs/page.txt", data: []byte("<html><body><script>alert(1)</script></body></html>")}), "html", "docs/page.txt", "en", "“docs/page.txt” inside the file: HTML"},
		{"nested four deep", "a.zip", deep, "nested", "b.zip/c.zip/d.zip", "ja", "3階層より深く"},
		{"zip bomb", "a.zip", zipBytes(t, zipEntry{name: "zeros.csv", data: make([]byte, 20<<20)}), "expands", "zeros.csv", "en", "more than 200 times"},
		{"too many entries", "a.zip", zipBytes(t, many...), "entries", "", "ja", "20000個まで"},
		{"macros in a document in a zip", "a.zip", zipBytes(t, zipEntry{name: "letter.docx", data: docm}), "macro", "letter.docx/word/vbaProject.bin", "ja", "マクロ"},
		{"bidi name inside", "a.zip", zipBytes(t, zipEntry{name: "scan\u202Egpj.exe", data: jpg}), "executable", "scangpj.exe", "ja", "「scangpj.exe」"},
		{"text then random bytes", "notes.txt", textThenNoise, "unknown", "", "en", "You can send images"},
	}
	eachDBWith(t, smallChunks, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		before := x.sender.usage()
		var keys, uploads int
		in.db().QueryRowContext(t.Context(), `SELECT count(*) FROM seal_keys`).Scan(&keys)
		var ids []string
		for _, tt := range tests {
			status, u, e := x.sender.createUpload(x.box, tt.file, int64(len(tt.data)))
			must(t, status, http.StatusCreated, "create "+tt.name, e)
			for n := range u.ChunkCount {
				status, body := x.sender.putChunk(u, n, tt.data)
				must(t, status, http.StatusNoContent, "chunk of "+tt.name, string(body))
			}
			ids = append(ids, u.ID)
			status, body, _ := x.sender.do("POST", "/api/v1/uploads/"+u.ID+"/complete", nil, map[string]string{"Accept-Language": tt.lang})
			var got struct {
				Error struct{ Code, Message, Reason, Entry string }
			}
			json.Unmarshal(body, &got)
			g := got.Error
			if status != http.StatusUnsupportedMediaType || g.Code != "type_not_allowed" || g.Reason != tt.reason || g.Entry != tt.entry || !strings.Contains(g.Message, tt.says) {
				t.Errorf("%s: %d %s; want 415 %s at %q saying %q", tt.name, status, body, tt.reason, tt.entry, tt.says)
			}
		}
		in.deliver()
		if got := x.sender.usage(); got != before {
			t.Errorf("usage %d after refusals, want %d", got, before)
		}
		for _, id := range ids {
			if status := x.sender.json("GET", "/api/v1/uploads/"+id, nil, nil); status != http.StatusNotFound {
				t.Errorf("upload %s answers %d after its refusal", id, status)
			}
		}
		var keysAfter int
		in.db().QueryRowContext(t.Context(), `SELECT count(*) FROM uploads`).Scan(&uploads)
		in.db().QueryRowContext(t.Context(), `SELECT count(*) FROM seal_keys`).Scan(&keysAfter)
		if uploads != 0 || keysAfter != keys {
			t.Errorf("after refusals: %d upload rows, %d data keys (%d before)", uploads, keysAfter, keys)
		}
		for _, f := range blobFiles(t, in) {
			if !strings.Contains(f, string(filepath.Separator)+"proofs"+string(filepath.Separator)) {
				t.Errorf("object left after refusal: %s", f)
			}
		}
		var b map[string]any
		x.rcpt.json("GET", "/api/v1/boxes/"+x.box, nil, &b)
		if len(b["files"].([]any)) != 0 {
			t.Errorf("refused files listed: %v", b["files"])
		}
	})
}
