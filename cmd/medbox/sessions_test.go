package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var sessionRE = regexp.MustCompile(`name="session" value="([0-9a-f]+)"`)

// TestMembersSeeAndEndTheirSessions (issue 14 §5): a member's settings list every
// device they are signed in on — kind of device, when last used, from where —
// marks this one, and signs out any one of them; nobody can end another member's
// session that way.
func TestMembersSeeAndEndTheirSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		signIn := func(ua string) *client {
			c := in.client()
			status, _, _ := c.do("POST", "/login", strings.NewReader("email=sender%40a.example.jp&password="+urlEscape(senderPassword)),
				map[string]string{"Content-Type": "application/x-www-form-urlencoded", "User-Agent": ua, "Origin": in.url, "Sec-Fetch-Site": "same-origin"})
			must(t, status, http.StatusSeeOther, "sign in with "+ua)
			return c
		}
		laptop := signIn("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36 Edg/156.0")
		phone := signIn("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1")
		_, page := laptop.get("/settings")
		for _, want := range []string{"Edge(Windows)", "Safari(iPhone)", "この端末", "この端末をログアウト"} {
			if !strings.Contains(page, want) {
				t.Errorf("the sessions list lacks %q", want)
			}
		}
		ids := sessionRE.FindAllStringSubmatch(page, -1)
		if len(ids) < 3 { // the laptop, the phone, and the exchange's API client
			t.Fatalf("%d sessions listed, want at least 3", len(ids))
		}
		// The outsider cannot end the sender's sessions with their hashes.
		web := in.client()
		web.form("/login", "email", "outside@c.example.jp", "password", senderPassword)
		for _, id := range ids {
			web.form("/settings/sessions/end", "session", id[1])
		}
		if status, _ := phone.get("/boxes"); status != http.StatusOK {
			t.Fatalf("the phone's session ended by someone else's request: %d", status)
		}
		// The laptop ends the phone's session: the one that is not "this device".
		_, phonePage := phone.get("/settings")
		mine := sessionRE.FindStringSubmatch(phonePage[strings.Index(phonePage, "この端末</span>"):])
		if mine == nil {
			t.Fatal("cannot find the phone's own session on its settings page")
		}
		if status, _, h := laptop.form("/settings/sessions/end", "session", mine[1]); status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "session_ended") {
			t.Fatalf("end the phone's session: %d %s", status, h.Get("Location"))
		}
		if status, _ := phone.get("/boxes"); status == http.StatusOK {
			t.Error("the phone is still signed in after the laptop signed it out")
		}
		if status, _ := laptop.get("/boxes"); status != http.StatusOK {
			t.Errorf("the laptop lost its own session: %d", status)
		}
		if n := in.countRows(`SELECT count(*) FROM audit_events WHERE action = 'auth.end_session' AND actor = $1`, x.senderID); n != 1 {
			t.Errorf("%d auth.end_session events by the sender, want 1", n)
		}
	})
}
