package api_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current answers")

// TestAnswersMatchGolden walks the main routes as members use them and compares
// every status and JSON answer with testdata/answers.golden, the same on both
// engines. Identifiers, addresses, tokens and times are replaced by what they
// stand for, so the file shows the shape of each answer and every value that
// does not change from run to run. A changed answer fails until a person has
// looked at it (-update rewrites the file).
func TestAnswersMatchGolden(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		start := w.Clock.Now()
		var out bytes.Buffer
		var pairs []string // value, what it stands for: filled as objects appear, applied at the end
		name := func(value, as string) { pairs = append(pairs, value, as) }
		for role, m := range map[string]*member.Member{"sender": f.sender, "rcpt": f.rcpt, "outsider": f.outsider, "admin": f.Admin()} {
			name(string(m.ID), "<"+role+">")
			name(string(m.Email), "<"+role+"@>")
			if m.LicenseNumber != "" {
				name(m.LicenseNumber, "<"+role+" licence>")
			}
		}
		name(string(f.pending.ID), "<pending>")
		name(string(f.pending.Email), "<pending@>")
		name(f.pending.LicenseNumber, "<pending licence>")
		name(string(f.box), "<box>")
		name(string(f.file), "<file>")
		step := func(role string, c call) map[string]any {
			t.Helper()
			c.token = f.tokens[role]
			resp := f.do(c)
			body, _ := io.ReadAll(resp.Body)
			fmt.Fprintf(&out, "### %s %s %s\n%d\n", cmp.Or(role, "stranger"), c.method, c.path, resp.StatusCode)
			var v map[string]any
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				if len(body) > 0 {
					fmt.Fprintf(&out, "%s, %d bytes\n", ct, len(body))
				}
			} else if len(body) > 0 {
				if err := json.Unmarshal(body, &v); err != nil {
					t.Fatalf("%s %s: %v: %s", c.method, c.path, err, body)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, body, "", "  "); err != nil {
					t.Fatalf("%s %s: %v: %s", c.method, c.path, err, body)
				}
				out.Write(pretty.Bytes())
			}
			out.WriteString("\n")
			return v
		}
		text := []byte("経過:良好\n")

		step("", call{method: "POST", path: "/api/v1/login", body: map[string]string{"email": string(f.sender.Email), "password": featuretest.Password}})
		step("rcpt", call{method: "GET", path: "/api/v1/me"})
		step("rcpt", call{method: "PATCH", path: "/api/v1/me", body: map[string]any{"department": "循環器内科", "notifications": map[string]bool{"comment": false}}})
		step("rcpt", call{method: "GET", path: "/api/v1/members?q=" + "送"})
		w.Clock.Advance(time.Minute) // the new box is the newer one in lists
		b := step("sender", call{method: "POST", path: "/api/v1/boxes", body: map[string]any{"recipients": []string{string(f.rcpt.ID)}, "message": "ご確認ください", "expires_in_hours": 48}})
		name(b["id"].(string), "<new box>")
		u := step("sender", call{method: "POST", path: "/api/v1/boxes/" + b["id"].(string) + "/uploads", body: map[string]any{"name": "経過.txt", "size": len(text)}})
		name(u["id"].(string), "<upload>")
		uid := u["id"].(string)
		step("sender", call{method: "PUT", path: "/api/v1/uploads/" + uid + "/chunks/0", body: bytes.NewReader(text)})
		step("sender", call{method: "GET", path: "/api/v1/uploads/" + uid})
		done := step("sender", call{method: "POST", path: "/api/v1/uploads/" + uid + "/complete"})
		newFile := done["file"].(map[string]any)["id"].(string)
		name(newFile, "<new file>")
		step("rcpt", call{method: "POST", path: "/api/v1/boxes/" + b["id"].(string) + "/comments", body: map[string]string{"body": "拝見しました"}})
		step("sender", call{method: "POST", path: "/api/v1/boxes/" + b["id"].(string) + "/participants", body: map[string]any{"member_ids": []string{string(f.outsider.ID)}}})
		w.Clock.Advance(time.Minute)
		step("rcpt", call{method: "GET", path: "/api/v1/boxes/" + b["id"].(string)})
		step("rcpt", call{method: "GET", path: "/api/v1/boxes"})
		step("rcpt", call{method: "GET", path: "/api/v1/files/" + newFile + "/content"})
		step("sender", call{method: "GET", path: "/api/v1/boxes/" + b["id"].(string) + "/history"})
		step("sender", call{method: "DELETE", path: "/api/v1/files/" + newFile})
		step("rcpt", call{method: "GET", path: "/api/v1/me/factors"})
		step("rcpt", call{method: "POST", path: "/api/v1/invitations", body: map[string]string{"email": "colleague@c.example.jp", "message": "ぜひ"}})
		step("admin", call{method: "GET", path: "/api/v1/admin/members"}) // the review queue: one member waiting
		step("admin", call{method: "GET", path: "/api/v1/admin/members/" + string(f.rcpt.ID)})
		step("admin", call{method: "GET", path: "/api/v1/admin/audit/verify"})
		step("sender", call{method: "POST", path: "/api/v1/logout"})

		golden := filepath.Join("testdata", "answers.golden")
		got := normalize(strings.NewReplacer(pairs...).Replace(out.String()), start)
		if *update && strings.HasSuffix(t.Name(), "sqlite") {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update to write it, then review it)", err)
		}
		if got != string(want) {
			t.Errorf("answers differ from %s (review, then -update):\n%s", golden, diff(string(want), got))
		}
	})
}

var (
	timeRE  = regexp.MustCompile(`"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"`)
	idRE    = regexp.MustCompile(`\b[a-z2-7]{26}\b`)
	tokenRE = regexp.MustCompile(`"(token|upload_grant)": "[^"]+"`)
	eventRE = regexp.MustCompile(`"(events|unanchored)": \d+`)
)

// normalize writes times as their distance from start and the identifiers not
// named yet as <id>.
func normalize(s string, start time.Time) string {
	s = timeRE.ReplaceAllStringFunc(s, func(m string) string {
		t, err := time.Parse(time.RFC3339Nano, strings.Trim(m, `"`))
		if err != nil {
			return m
		}
		return fmt.Sprintf(`"start%+v"`, t.Sub(start))
	})
	s = tokenRE.ReplaceAllString(s, `"$1": "<token>"`)
	s = eventRE.ReplaceAllString(s, `"$1": <n>`)
	return idRE.ReplaceAllString(s, "<id>")
}

// diff lists the lines only in want (-) and only in got (+), in order.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
