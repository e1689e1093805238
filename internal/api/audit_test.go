package api_test

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/featuretest"
)

// TestAuditExport (R-X5): an administrator exports one member's history or a
// period's, as JSON lines or CSV; a period is days in Japan; the export holds
// what was asked for and nothing else; members cannot export.
func TestAuditExport(t *testing.T) {
	type line struct{ Actor, Target, Action string }
	tests := []struct {
		name       string
		as         string
		query      func(f *fixture) string
		wantStatus int
		wantType   string
		check      func(t *testing.T, f *fixture, body string)
	}{
		{"a member's history as JSON lines", "admin", func(f *fixture) string { return "?member=" + string(f.rcpt.ID) }, 200, "application/x-ndjson",
			func(t *testing.T, f *fixture, body string) {
				n := 0
				sc := bufio.NewScanner(strings.NewReader(body))
				for sc.Scan() {
					var e line
					if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
						t.Fatalf("line %q: %v", sc.Text(), err)
					}
					if e.Actor != string(f.rcpt.ID) && e.Target != string(f.rcpt.ID) {
						t.Errorf("the member's export holds %+v", e)
					}
					n++
				}
				if n < 3 { // registered, confirmed, approved, signed in …
					t.Errorf("%d events for the member", n)
				}
			}},
		{"today as CSV", "admin", func(f *fixture) string { return "?format=csv&since=" + f.Clock.Now().Format("2006-01-02") }, 200, "text/csv",
			func(t *testing.T, f *fixture, body string) {
				if !strings.HasPrefix(body, "seq,at,actor,action") {
					t.Errorf("no CSV header: %.60q", body)
				}
				if rows := strings.Count(body, "\n") - 1; rows < 10 {
					t.Errorf("%d events today", rows)
				}
			}},
		{"a period after every event", "admin", func(f *fixture) string {
			return "?format=csv&since=" + f.Clock.Now().Add(48*time.Hour).Format("2006-01-02")
		}, 200, "text/csv", func(t *testing.T, f *fixture, body string) {
			if strings.Count(body, "\n") != 1 {
				t.Errorf("export: %q, want the header alone", body)
			}
		}},
		{"a date that is none", "admin", func(f *fixture) string { return "?since=2026-13-45" }, 400, "application/json", nil},
		{"a member exports", "sender", func(f *fixture) string { return "" }, 404, "application/json", nil},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f.t = t
				resp := f.do(call{method: "GET", path: "/api/v1/admin/audit/export" + tt.query(f), token: f.tokens[tt.as]})
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tt.wantStatus || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.wantType) {
					t.Fatalf("%d %s, want %d %s: %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.wantStatus, tt.wantType, body)
				}
				if tt.check != nil {
					tt.check(t, f, string(body))
				}
			})
		}
	})
}
