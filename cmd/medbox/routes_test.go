package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var updateRoutes = flag.Bool("update-routes", false, "rewrite testdata/routes.golden from the current answers")

// roles are the kinds of caller every route is tried as.
var roles = []string{"stranger", "pending", "suspended", "outsider", "recipient", "sender", "admin"}

// walker holds one instance with an account for every role and makes fresh
// objects for each call, so destructive routes do not disturb the next call.
type walker struct {
	t     *testing.T
	in    *instance
	x     *exchange
	creds map[string][2]string // role → email, password
	n     int

	suspended      []*http.Cookie // the suspended member's web session, from before the suspension
	suspendedToken string         // and their API token
}

func newWalker(t *testing.T) *walker {
	in := startInstance(t, instanceOptions{env: smallChunks})
	w := &walker{t: t, in: in, x: newExchange(t, in), creds: map[string][2]string{}}
	pw := "correct horse battery"
	w.creds["sender"] = [2]string{"sender@a.example.jp", pw}
	w.creds["recipient"] = [2]string{"rcpt@b.example.jp", pw}
	w.creds["outsider"] = [2]string{"outside@c.example.jp", pw}
	w.creds["admin"] = [2]string{w.x.admin.user, w.x.admin.pass}
	c := in.client()
	c.registerAPI(newMember{Email: "pending@d.example.jp"})
	in.confirmFromMail("pending@d.example.jp")
	w.creds["pending"] = [2]string{"pending@d.example.jp", pw}
	// The suspended member signs in on the web and through the API first, so the
	// walk goes with the session and token they really had when suspended.
	sc, sid := in.approvedMember(w.x.admin, newMember{Email: "suspended@e.example.jp"})
	web := in.client()
	if status, body, _ := web.form("/login", "email", "suspended@e.example.jp", "password", pw); status != http.StatusSeeOther {
		t.Fatalf("sign in as the member to be suspended: %d %s", status, body)
	}
	w.suspended = web.http.Jar.Cookies(mustURL(in.url))
	w.suspendedToken = sc.tok
	must(t, w.x.admin.json("POST", "/api/v1/admin/members/"+sid+"/suspend", nil, nil), http.StatusNoContent, "suspend")
	w.creds["suspended"] = [2]string{"suspended@e.example.jp", pw}
	return w
}

// as returns a client for role, signed in through the web form (its cookie also
// authenticates API calls). The suspended member cannot sign in any more, so it
// carries the session cookie and the API token it had before the suspension,
// alternately.
func (w *walker) as(role string) *client {
	c := w.in.client()
	if role == "stranger" {
		return c
	}
	cr := w.creds[role]
	if role == "suspended" {
		if w.n%2 == 0 {
			c.http.Jar.SetCookies(mustURL(w.in.url), w.suspended)
		} else {
			c.tok = w.suspendedToken
		}
		return c
	}
	if role == "admin" {
		return w.in.webAs(w.x.admin) // on a PC they had the service remember
	}
	status, body, _ := c.form("/login", "email", cr[0], "password", cr[1])
	if status != http.StatusSeeOther {
		w.t.Fatalf("sign in as %s: %d %s", role, status, body)
	}
	return c
}

// fill replaces the route's wildcards with objects made fresh for this call.
func (w *walker) fill(pattern string) string {
	w.n++
	path := pattern
	if strings.Contains(path, "{file}") || strings.Contains(path, "{id}") {
		// A box of its own, so the per-send file limit never interferes.
		w.x.sender.relogin()
		box := w.x.newBox(w.t, w.x.rcptID)
		path = strings.ReplaceAll(path, "{box}", box)
		if strings.Contains(path, "{file}") {
			path = strings.ReplaceAll(path, "{file}", w.x.sender.upload(box, fmt.Sprintf("walk%d.jpg", w.n), jpeg(uint64(100+w.n), 2000)))
		}
		if strings.Contains(path, "{id}") {
			status, u, e := w.x.sender.createUpload(box, fmt.Sprintf("walk%d.jpg", w.n), 2000)
			must(w.t, status, http.StatusCreated, "walker upload", e)
			path = strings.ReplaceAll(path, "{id}", u.ID)
		}
	}
	if strings.Contains(path, "{member}") {
		email := fmt.Sprintf("walk%d@f.example.jp", w.n)
		c := w.in.client()
		c.registerAPI(newMember{Email: email})
		w.in.confirmFromMail(email)
		var id string
		w.in.db().QueryRowContext(context.Background(), `SELECT id FROM members WHERE email = $1`, email).Scan(&id)
		path = strings.ReplaceAll(path, "{member}", id)
	}
	if path == "/" {
		return "/no/such/page" // the catch-all: any path no other route takes
	}
	path = strings.ReplaceAll(path, "{box}", w.x.box)
	path = strings.ReplaceAll(path, "{n}", "0")
	path = strings.ReplaceAll(path, "{lang}", "en")
	return strings.ReplaceAll(path, "{$}", "")
}

// TestRouteWalker calls every route of the web and API tables as every role and
// compares the statuses with testdata/routes.golden: a new route, or a changed
// answer, fails until a person has looked at it (-update-routes rewrites the file).
// Whatever the golden file says, some things must always hold: no route fails
// with 500; a stranger never gets a 2xx from a closed route; administrators' routes
// are 404 to everyone else; box, file and upload routes are 404 to members outside
// the box and to administrators; and every answer carries the security headers.
func TestRouteWalker(t *testing.T) {
	w := newWalker(t)
	srv, err := w.in.app.Handler()
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		pattern string
		open    bool
	}
	var entries []entry
	for _, rt := range srv.Routes() {
		entries = append(entries, entry{rt.Pattern, rt.Access == 0})
	}
	for _, rt := range w.in.app.APIRoutes() {
		entries = append(entries, entry{rt.Pattern, rt.Access == 0})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].pattern < entries[j].pattern })
	var got strings.Builder
	fmt.Fprintf(&got, "# route%s\n", strings.Repeat(" ", 50-len("# route"))+strings.Join(roles, " "))
	for _, e := range entries {
		method, pattern, ok := strings.Cut(e.pattern, " ")
		if !ok { // a route for every method: walked with GET
			method, pattern = http.MethodGet, e.pattern
		}
		line := fmt.Sprintf("%-50s", e.pattern)
		for _, role := range roles {
			c := w.as(role)
			path := w.fill(pattern)
			var body []byte
			hdr := map[string]string{}
			if method != http.MethodGet {
				if strings.HasPrefix(path, "/api/") {
					body, hdr["Content-Type"] = []byte("{}"), "application/json"
				} else {
					hdr["Content-Type"], hdr["Origin"], hdr["Sec-Fetch-Site"] = "application/x-www-form-urlencoded", w.in.url, "same-origin"
				}
			}
			status, resp, h := c.do(method, path, bytes.NewReader(body), hdr)
			line += fmt.Sprintf(" %d", status)
			w.check(e.pattern, role, e.open, status, resp, h)
			if strings.Contains(e.pattern, "signout-everywhere") || strings.Contains(e.pattern, "/reset") {
				w.in.db().ExecContext(context.Background(), `UPDATE members SET must_change_password = FALSE`)
			}
		}
		got.WriteString(line + "\n")
	}
	golden := filepath.Join("testdata", "routes.golden")
	if *updateRoutes {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-routes to create it, then review it)", err)
	}
	if got.String() != string(want) {
		t.Errorf("route answers differ from %s (review, then -update-routes):\n%s", golden, diffLines(string(want), got.String()))
	}
}

func (w *walker) check(pattern, role string, open bool, status int, body []byte, h http.Header) {
	t := w.t
	if status >= 500 {
		t.Errorf("%s as %s: %d", pattern, role, status)
	}
	if h.Get("Content-Security-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Referrer-Policy") == "" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") && !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("%s as %s: security headers missing: %v", pattern, role, h)
	}
	if h.Get("Cache-Control") != "no-store" && !strings.HasPrefix(pattern, "GET /static") {
		t.Errorf("%s as %s: Cache-Control %q, want no-store", pattern, role, h.Get("Cache-Control"))
	}
	stranger := role == "stranger" || role == "suspended"
	if stranger && !open && status < 300 {
		t.Errorf("%s as %s: %d, a closed route answered a stranger", pattern, role, status)
	}
	admin := strings.Contains(pattern, "/admin/")
	if admin && !stranger && role != "admin" && status != http.StatusNotFound {
		t.Errorf("%s as %s: %d, want 404 (administrators' route)", pattern, role, status)
	}
	scoped := strings.Contains(pattern, "{box}") || strings.Contains(pattern, "{file}") || strings.Contains(pattern, "{id}")
	if scoped && (role == "outsider" || role == "admin") && status != http.StatusNotFound && status != http.StatusForbidden {
		t.Errorf("%s as %s: %d, want 404 (not in the box)", pattern, role, status)
	}
	if scoped && role == "outsider" && status != http.StatusNotFound {
		t.Errorf("%s as outsider: %d, want 404", pattern, status)
	}
	_ = body
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	wm := map[string]bool{}
	for _, l := range w {
		wm[l] = true
	}
	gm := map[string]bool{}
	for _, l := range g {
		gm[l] = true
	}
	var b strings.Builder
	for _, l := range w {
		if !gm[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if !wm[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
