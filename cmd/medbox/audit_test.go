package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBoxAccessHistory (R-X5): participants see who opened and downloaded what in
// their box; nobody else can.
func TestBoxAccessHistory(t *testing.T) {
	eachDBWith(t, smallChunks, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		file := x.sender.upload(x.box, "a.jpg", jpeg(70, 3000))
		must(t, x.rcpt.json("GET", "/api/v1/boxes/"+x.box, nil, nil), http.StatusOK, "open")
		must(t, mustStatus(x.rcpt.do2("GET", "/api/v1/files/"+file+"/content")), http.StatusOK, "download")
		var h struct {
			Events []struct {
				Who    struct{ Name string }
				Action string
			}
		}
		must(t, x.sender.json("GET", "/api/v1/boxes/"+x.box+"/history", nil, &h), http.StatusOK, "history")
		seen := map[string]bool{}
		for _, e := range h.Events {
			seen[e.Who.Name+" "+e.Action] = true
		}
		for _, want := range []string{"受 信男 box.view", "受 信男 file.download", "送 信子 file.upload", "送 信子 box.create"} {
			if !seen[want] {
				t.Errorf("history lacks %q: %v", want, seen)
			}
		}
		if status := x.outside.json("GET", "/api/v1/boxes/"+x.box+"/history", nil, nil); status != http.StatusNotFound {
			t.Errorf("outsider reads history: %d", status)
		}
		web := in.client()
		web.form("/login", "email", "sender@a.example.jp", "password", "correct horse battery")
		if _, page := web.get("/boxes/" + x.box); !strings.Contains(page, "アクセス履歴") || !strings.Contains(page, "ダウンロード") {
			t.Error("the box page shows no access history")
		}
	})
}

// TestAdministratorsVerifyAndExport: administrators verify the chain and export a
// member's or a period's history; members cannot.
func TestAdministratorsVerifyAndExport(t *testing.T) {
	in := startInstance(t, instanceOptions{env: smallChunks})
	x := newExchange(t, in)
	var v map[string]any
	must(t, x.admin.json("GET", "/api/v1/admin/audit/verify", nil, &v), http.StatusOK, "verify")
	if v["ok"] != true || v["events"].(float64) < 10 || v["problems"] == nil || v["checkpoint"] == nil {
		t.Errorf("verify = %v", v)
	}
	status, body, _ := x.admin.do("GET", "/api/v1/admin/audit/export?member="+x.rcptID, nil, nil)
	if status != http.StatusOK {
		t.Fatalf("export: %d", status)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var e struct{ Actor, Target string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		if e.Actor != x.rcptID && e.Target != x.rcptID {
			t.Errorf("export for one member holds %+v", e)
		}
		n++
	}
	if n < 3 {
		t.Errorf("export has %d events for the member", n)
	}
	today := in.clock.Now().Format("2006-01-02")
	status, body, h := x.admin.do("GET", "/api/v1/admin/audit/export?format=csv&since="+today, nil, nil)
	if status != http.StatusOK || !strings.HasPrefix(string(body), "seq,at,actor,action") || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Errorf("CSV export: %d %q", status, string(body[:min(60, len(body))]))
	}
	if rows := strings.Count(string(body), "\n") - 1; rows < n {
		t.Errorf("CSV export since %s: %d events, want at least the member's %d", today, rows, n)
	}
	tomorrow := in.clock.Now().Add(48 * time.Hour).Format("2006-01-02")
	if _, body, _ := x.admin.do("GET", "/api/v1/admin/audit/export?format=csv&since="+tomorrow, nil, nil); strings.Count(string(body), "\n") != 1 {
		t.Errorf("CSV export since %s (after every event): %q, want the header alone", tomorrow, body)
	}
	if status, _, _ := x.sender.do("GET", "/api/v1/admin/audit/export", nil, nil); status != http.StatusNotFound {
		t.Errorf("member exports the audit log: %d", status)
	}
	web := in.client()
	web.form("/login", "email", x.admin.user, "password", x.admin.pass)
	status, page, _ := web.form("/admin/audit/verify")
	if status != http.StatusOK || !strings.Contains(page, "改ざんはありません") || !strings.Contains(page, "チェックポイント") {
		t.Errorf("web verify: %d", status)
	}
}
