package web_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/web"
)

var update = web.UpdateGolden // -update: rewrite testdata/*.golden from the current answers

// untranslated finds message ids that reached a page: i18n shows the id when a
// message is missing.
var untranslated = regexp.MustCompile(`\b(nav|home|login|register|registered|err|field|done|status|profession|settings|admin|directory|invite|reset|setup|pending|confirm|withdraw|error|step|hint|placeholder|lang|footer|email_confirm|box|box_new|boxes|viewer|mfa|kind)\.[a-z_]+(\.[a-z_]+)*\b`)

// linkRE finds the addresses in a page, whose file names look like message ids;
// scriptTextRE the message tables given to scripts, keyed by message id.
var (
	linkRE       = regexp.MustCompile(`(?:src|href|action)="[^"]*"`)
	scriptTextRE = regexp.MustCompile(`(?s)<script type="application/json"[^>]*>.*?</script>`)
)

var titleRE = regexp.MustCompile(`<title>(.*) — MedBox</title>`)

// titles maps each page template to the message id of its title, by which a
// test tells which page it got.
var titles = map[string]string{
	"admin_audit": "admin.audit.title", "admin_member": "admin.member.title", "admin_members": "admin.members.title",
	"box": "box.title", "box_new": "box_new.title", "boxes": "boxes.title", "confirm": "confirm.title",
	"directory": "directory.title", "email_confirm": "email_confirm.title", "error": "error.title", "home": "home.title",
	"invite": "invite.title", "login": "login.title", "mfa_recovery": "mfa.recovery.title", "mfa_settings": "mfa.settings.title",
	"mfa_totp": "mfa.totp.title", "mfa_verify": "mfa.verify.title", "pending": "pending.title", "reauth": "mfa.reauth.title",
	"register": "register.title", "registered": "registered.title", "reset": "reset.title", "settings": "settings.title",
	"setup": "setup.title", "viewer": "viewer.title", "withdraw": "withdraw.title", "ask": "ask.title",
}

// TestEveryPageRenders opens every page of the route table as every kind of
// visitor, in both languages, and then the pages that only links and forms
// reach: no page fails, none shows a message id or inline script or style, every
// answer carries the security headers, and every template is rendered. Who gets
// which answer is compared with testdata/pages.golden (-update rewrites it).
func TestEveryPageRenders(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		seen := map[string]bool{} // title ids
		open := func(t *testing.T, r request) (*http.Response, string) {
			t.Helper()
			var resp *http.Response
			var page string
			for _, lang := range i18n.Langs {
				r.header = maps.Clone(r.header)
				if r.header == nil {
					r.header = map[string]string{}
				}
				r.header["Accept-Language"] = string(lang)
				resp, page = f.do(r)
				checkPage(t, r, resp, page)
				if m := titleRE.FindStringSubmatch(page); m != nil {
					for name, id := range titles {
						if m[1] == i18n.T(lang, id) {
							seen[name] = true
						}
					}
				}
			}
			return resp, page
		}
		var matrix strings.Builder
		fmt.Fprintf(&matrix, "%-36s %s\n", "# page", strings.Join(visitors, " | "))
		for _, rt := range f.srv.Routes() {
			method, pattern, _ := strings.Cut(rt.Pattern, " ")
			if method != http.MethodGet {
				continue
			}
			var cells []string
			for _, v := range visitors {
				resp, _ := open(t, request{visitor: v, method: "GET", path: f.fill(pattern)})
				cell := fmt.Sprint(resp.StatusCode)
				if loc := resp.Header.Get("Location"); loc != "" {
					cell += " " + strings.SplitN(loc, "?", 2)[0]
				}
				cells = append(cells, cell)
			}
			fmt.Fprintf(&matrix, "%-36s %s\n", pattern, strings.Join(cells, " | "))
		}
		golden := filepath.Join("testdata", "pages.golden")
		if *update && strings.HasSuffix(t.Name(), "sqlite") {
			os.MkdirAll("testdata", 0o755)
			if err := os.WriteFile(golden, []byte(matrix.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if want, err := os.ReadFile(golden); err != nil || string(want) != matrix.String() {
			t.Errorf("who gets which page differs from %s (%v; review, then -update):\n%s", golden, err, matrix.String())
		}

		// The pages that links from mail and forms lead to.
		ctx := context.Background()
		link := func(addr, path string) string { return path + w.LinkToken(addr, path) }
		if err := f.Members.Invite(ctx, f.member.ID, "colleague@c.example.jp", "", featuretest.Addr); err != nil {
			t.Fatal(err)
		}
		open(t, request{method: "GET", path: link("colleague@c.example.jp", "/register?invite=")})
		reg := registration(f, map[string]string{"email": "new@c.example.jp", "password": featuretest.Password, "password2": featuretest.Password,
			"name": "新 規", "name_kana": "しん き", "profession": "doctor", "license_number": "999999", "workplace": "西病院"})
		if resp, _ := open(t, request{method: "POST", path: "/register", body: reg.body, header: reg.header}); resp.StatusCode != http.StatusOK {
			t.Errorf("registration: %d", resp.StatusCode)
		}
		open(t, request{method: "GET", path: link("new@c.example.jp", "/confirm?token=")})
		if err := f.Members.RequestReset(ctx, string(f.rcpt.Email), featuretest.Addr); err != nil {
			t.Fatal(err)
		}
		open(t, request{method: "GET", path: link(string(f.rcpt.Email), "/reset?token=")})
		setup, err := f.Members.SetupLink(ctx)
		if err != nil {
			t.Fatal(err)
		}
		open(t, request{method: "GET", path: strings.TrimPrefix(setup, f.Config.BaseURL)})
		if err := f.Members.RequestEmailChange(ctx, f.member.ID, featuretest.Password, "moved@a.example.jp", featuretest.Addr); err != nil {
			t.Fatal(err)
		}
		open(t, request{method: "GET", path: link("moved@a.example.jp", "/settings/email?token=")})
		open(t, request{visitor: "member", method: "GET", path: "/boxes/new?q=" + url.QueryEscape("受") + "&to=" + string(f.rcpt.ID)})
		open(t, request{visitor: "admin", method: "GET", path: "/admin/members?status=active"})
		// The question before an irreversible action (nothing is done without confirmed=yes).
		open(t, request{visitor: "member", method: "POST", path: "/settings/signout-everywhere", form: url.Values{}})
		// An authenticator, from the start to the recovery codes.
		if resp, _ := f.do(request{visitor: "member", method: "POST", path: "/settings/2fa/totp", form: url.Values{}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("begin TOTP: %d", resp.StatusCode)
		}
		open(t, request{visitor: "member", method: "GET", path: "/settings/2fa/totp"})
		actor, err := f.Auth.Authenticate(ctx, f.cookies["member"], auth.Web, featuretest.Addr)
		if err != nil {
			t.Fatal(err)
		}
		e, err := f.Auth.PendingTOTP(ctx, actor)
		if err != nil {
			t.Fatal(err)
		}
		if resp, _ := f.do(request{visitor: "member", method: "POST", path: "/settings/2fa/totp/confirm", form: url.Values{"code": {w.TOTP(e.Secret)}},
			header: map[string]string{"Accept-Language": "en"}}); resp.StatusCode != http.StatusOK {
			t.Errorf("confirm TOTP: %d", resp.StatusCode)
		} else {
			seen["mfa_recovery"] = true
		}

		templates, err := filepath.Glob(filepath.Join("templates", "*.html"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range templates {
			name := strings.TrimSuffix(filepath.Base(p), ".html")
			if name == "layout" {
				continue
			}
			if _, ok := titles[name]; !ok {
				t.Errorf("template %s has no title in this test's list", name)
			} else if !seen[name] {
				t.Errorf("no page rendered template %s", name)
			}
		}
	})
}

// checkPage checks what every answer must be.
func checkPage(t *testing.T, r request, resp *http.Response, page string) {
	t.Helper()
	what := fmt.Sprintf("%s %s %s (%s)", r.visitor, r.method, r.path, r.header["Accept-Language"])
	if resp.StatusCode >= 500 {
		t.Errorf("%s: %d", what, resp.StatusCode)
	}
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") && !strings.Contains(csp, "sandbox") || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s: security headers missing: %v", what, h)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || resp.StatusCode/100 == 3 {
		return
	}
	if m := untranslated.FindString(scriptTextRE.ReplaceAllString(linkRE.ReplaceAllString(page, ""), "")); m != "" {
		t.Errorf("%s shows the message id %q", what, m)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") || strings.Contains(page, " onclick=") {
		t.Errorf("%s has inline script or style", what)
	}
	if want := `lang="` + r.header["Accept-Language"] + `"`; !strings.Contains(page, want) {
		t.Errorf("%s: no %s in the page", what, want)
	}
}
