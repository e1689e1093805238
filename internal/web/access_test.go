package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/guard"
)

// refused is what the cross-origin protection answers.
const refused = "cross-origin request refused"

// TestCrossOriginPostsRefused (R-X8): a form posted from another site — every
// POST of the pages and the API's writes alike, with the member's own session —
// is refused before any handler runs and changes nothing; the same request from
// this site gets through.
func TestCrossOriginPostsRefused(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		var targets []string
		for _, rt := range f.srv.Routes() {
			if method, _, _ := strings.Cut(rt.Pattern, " "); method == http.MethodPost {
				targets = append(targets, rt.Pattern)
			}
		}
		for _, rt := range w.APIRoutes() {
			if method, _, _ := strings.Cut(rt.Pattern, " "); method != http.MethodGet {
				targets = append(targets, rt.Pattern)
			}
		}
		sites := []struct {
			name   string
			header map[string]string
		}{
			{"cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
			{"same-site, other origin", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://upload.example.com"}},
			{"an older browser, other origin", map[string]string{"Origin": "https://evil.example"}},
		}
		visitor := map[bool]string{true: "admin", false: "member"}
		before := counts(t, f)
		for _, target := range targets {
			method, pattern, _ := strings.Cut(target, " ")
			for _, site := range sites {
				t.Run(target+"/"+site.name, func(t *testing.T) {
					f.t = t
					resp, body := f.do(request{visitor: visitor[strings.Contains(pattern, "/admin/")], method: method, path: f.fill(pattern),
						body: []byte("a=1"), header: site.header})
					if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, refused) {
						t.Errorf("%s from %s: %d %q, want 403 refused", target, site.name, resp.StatusCode, body)
					}
				})
			}
		}
		if after := counts(t, f); after != before {
			t.Errorf("refused requests changed the instance: %v, before %v", after, before)
		}
		// From this site the same kind of request reaches its handler.
		f.t = t
		resp, body := f.do(request{visitor: "member", method: "POST", path: "/boxes/" + string(f.box) + "/comments",
			form: url.Values{"body": {"拝見しました"}}, header: map[string]string{"Origin": "http://example.com"}})
		if resp.StatusCode != http.StatusSeeOther || strings.Contains(body, refused) {
			t.Errorf("a comment from this site: %d %q", resp.StatusCode, body)
		}
	})
}

// counts sums what a refused request could have changed.
func counts(t *testing.T, f *fixture) [4]int {
	t.Helper()
	var c [4]int
	for i, table := range []string{"boxes", "comments", "participants", "audit_events"} {
		if err := f.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&c[i]); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestAdministratorsPagesAreHidden: every administrator's page and form is not
// there (404, the error page) for members, outsiders and members awaiting
// review, and is there for an administrator.
func TestAdministratorsPagesAreHidden(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		for _, rt := range f.srv.Routes() {
			if rt.Access != guard.Admins {
				continue
			}
			method, pattern, _ := strings.Cut(rt.Pattern, " ")
			for _, v := range []string{"member", "outsider", "pending", "admin"} {
				if v == "admin" && method != http.MethodGet {
					continue // what an administrator's POSTs do is their features' to test
				}
				t.Run(rt.Pattern+"/"+v, func(t *testing.T) {
					f.t = t
					r := request{visitor: v, method: method, path: f.fill(pattern)}
					if method == http.MethodPost {
						r.form = url.Values{"reason": {"x"}}
					}
					resp, page := f.do(r)
					if v == "admin" {
						if resp.StatusCode != http.StatusOK {
							t.Errorf("%s as an administrator: %d", rt.Pattern, resp.StatusCode)
						}
						return
					}
					if resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "<title>") {
						t.Errorf("%s as %s: %d, want the 404 page", rt.Pattern, v, resp.StatusCode)
					}
				})
			}
		}
		if m, _ := f.Members.Get(context.Background(), f.pending.ID); m.CanExchange() {
			t.Error("a member approved someone")
		}
	})
}
