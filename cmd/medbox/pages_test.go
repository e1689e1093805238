package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// untranslated finds message ids that reached a page: i18n shows the id when a
// message is missing.
var untranslated = regexp.MustCompile(`\b(nav|home|login|register|registered|err|field|done|status|profession|settings|admin|directory|invite|reset|setup|pending|confirm|withdraw|error|step|hint|placeholder|lang|footer|email_confirm)\.[a-z_]+(\.[a-z_]+)*\b`)

// TestEveryPageRenders opens every page as each kind of visitor in both languages:
// no page fails, none shows a raw message id, and every response carries the
// security headers.
func TestEveryPageRenders(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	admin := in.admin()
	_, memberID := in.approvedMember(admin, newMember{Email: "pages@example.jp"})
	pending := in.client()
	pending.registerAPI(newMember{Email: "pending-pages@example.jp"})

	webAs := func(email, password string) *client {
		c := in.client()
		status, body, _ := c.form("/login", "email", email, "password", password)
		must(t, status, http.StatusSeeOther, "web sign-in "+email, body)
		return c
	}
	visitors := map[string]*client{
		"stranger": in.client(),
		"pending":  webAs("pending-pages@example.jp", "correct horse battery"),
		"member":   webAs("pages@example.jp", "correct horse battery"),
		"admin":    webAs(admin.user, admin.pass),
	}
	srv, err := in.app.Handler()
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range srv.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if method != http.MethodGet {
			continue
		}
		path = strings.ReplaceAll(strings.TrimSuffix(path, "{$}"), "{member}", memberID)
		path = strings.ReplaceAll(path, "{lang}", "en")
		for who, c := range visitors {
			for _, lang := range []string{"ja", "en"} {
				status, body, h := c.do("GET", path, nil, map[string]string{"Accept-Language": lang})
				if status >= 500 {
					t.Errorf("%s GET %s (%s): %d", who, path, lang, status)
				}
				if h.Get("Content-Security-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
					t.Errorf("%s GET %s: security headers missing: %v", who, path, h)
				}
				if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
					page := string(body)
					if m := untranslated.FindString(page); m != "" {
						t.Errorf("%s GET %s (%s) shows untranslated id %q", who, path, lang, m)
					}
					if strings.Contains(page, "<script>") || strings.Contains(page, " style=") || strings.Contains(page, " onclick=") {
						t.Errorf("%s GET %s has inline script or style", who, path)
					}
				}
			}
		}
	}
}

func TestAdministratorsPagesAreHiddenFromMembers(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	admin := in.admin()
	member, id := in.approvedMember(admin, newMember{Email: "nosy@example.jp"})
	for _, p := range []string{"/api/v1/admin/members", "/api/v1/admin/members/" + id, "/api/v1/admin/members/" + id + "/proof"} {
		if status, _, _ := member.do("GET", p, nil, nil); status != http.StatusNotFound {
			t.Errorf("member GET %s = %d, want 404", p, status)
		}
	}
	if status := member.json("POST", "/api/v1/admin/members/"+id+"/approve", nil, nil); status != http.StatusNotFound {
		t.Errorf("member approves: %d, want 404", status)
	}
}

// TestCrossOriginPostsRefused: a form posted from another site is refused before
// any handler runs (CSRF, R-X8).
func TestCrossOriginPostsRefused(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	c := in.client()
	status, _, _ := c.do("POST", "/login", strings.NewReader("email=a%40b.jp&password=x"), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if status != http.StatusForbidden {
		t.Errorf("cross-site POST /login = %d, want 403", status)
	}
}
