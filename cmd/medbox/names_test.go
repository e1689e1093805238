package main

import (
	"archive/zip"
	"bytes"
	"html"
	"mime"
	"net/http"
	"strings"
	"testing"
)

// TestFileNamesShowNoControls (issue 14 §4): a name with bidirectional or
// invisible characters is shown and offered for download without them on
// every path — upload JSON, box JSON, box page, viewer page,
// Content-Disposition, the box ZIP — also for a name stored before the fix.
func TestFileNamesShowNoControls(t *testing.T) {
	eachDBWith(t, smallChunks, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		archive := zipBytes(t, zipEntry{name: "a.jpg", data: jpeg(21, 3000)})
		status, u, e := x.sender.createUpload(x.box, "scan\u202Egpj.zip", int64(len(archive)))
		must(t, status, http.StatusCreated, "create", e)
		var up map[string]any
		x.sender.json("GET", "/api/v1/uploads/"+u.ID, nil, &up)
		if up["name"] != "scangpj.zip" {
			t.Errorf("upload name %+q, want %q", up["name"], "scangpj.zip")
		}
		spoof := x.sender.finishUpload(u, "scan.zip", archive)
		old := x.sender.upload(x.box, "old.pdf", jpeg(22, 2000))
		// A name as it was stored before invisible characters were removed on upload.
		if _, err := in.db().ExecContext(t.Context(), `UPDATE files SET name = $1 WHERE id = $2`, "\u200Bkarte\u2066\u202E\uFEFFfdp.exe\u2069.jpg", old); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{spoof: "scangpj.zip", old: "kartefdp.exe.jpg"}

		var b struct{ Files []struct{ ID, Name string } }
		x.rcpt.json("GET", "/api/v1/boxes/"+x.box, nil, &b)
		for _, f := range b.Files {
			if f.Name != want[f.ID] {
				t.Errorf("box JSON: name %+q, want %q", f.Name, want[f.ID])
			}
		}
		browser := webSignIn(t, in, x.rcpt)
		_, page := browser.get("/boxes/" + x.box)
		for id, name := range want {
			_, viewer := browser.get("/boxes/" + x.box + "/files/" + id)
			for what, p := range map[string]string{"box page": page, "viewer page": viewer} {
				if !strings.Contains(p, html.EscapeString(name)) {
					t.Errorf("%s does not show %q", what, name)
				}
			}
			_, _, h := x.rcpt.do("GET", "/api/v1/files/"+id+"/content", nil, nil)
			if disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition")); err != nil || disp != "attachment" || params["filename"] != name {
				t.Errorf("Content-Disposition %q, want an attachment named %q", h.Get("Content-Disposition"), name)
			}
		}
		if strings.ContainsAny(page, "\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200B\u200E\u200F\uFEFF") {
			t.Errorf("box page holds an invisible or bidirectional character")
		}
		_, body, _ := x.rcpt.do("GET", "/api/v1/boxes/"+x.box+"/zip", nil, nil)
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		if got := strings.Join(names, " "); got != "scangpj.zip kartefdp.exe.jpg" {
			t.Errorf("box ZIP holds %+q", got)
		}
	})
}
