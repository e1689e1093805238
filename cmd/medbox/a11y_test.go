package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEveryPageAccessible opens every page a stranger, a member and an
// administrator can reach in Chromium at 375 px, in Japanese, with real data
// behind it — an exchange with a study, a photo, a
// PDF and a comment, a colleague waiting for review — and runs axe-core on
// each: none may have a serious or critical violation, break its CSP or throw.
func TestEveryPageAccessible(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	x := newExchange(t, in)
	files := map[string]string{
		"study": x.sender.upload(x.box, "mr_10frame.dcm", dicomFile(t, "mr_10frame_native.dcm")),
		"photo": x.sender.upload(x.box, "患部.jpg", jpegWithOrientation(t, halves(600, 400), 6)),
		"pdf":   x.sender.upload(x.box, "紹介状.pdf", previewPDF()),
		"video": x.sender.upload(x.box, "エコー.mp4", testVideo(t)),
	}
	in.previewsMade()
	must(t, x.sender.json("POST", "/api/v1/boxes/"+x.box+"/comments", map[string]string{"body": "ご確認ください"}, nil), http.StatusCreated, "comment")
	in.client().registerAPI(newMember{Email: "waiting@example.jp"})

	srv, err := in.app.Handler()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, rt := range srv.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if method != http.MethodGet || strings.Contains(path, "{lang}") || strings.HasSuffix(path, "/export") || strings.HasSuffix(path, "/proof") {
			continue
		}
		path = strings.TrimSuffix(path, "{$}")
		path = strings.ReplaceAll(path, "{member}", x.rcptID)
		path = strings.ReplaceAll(path, "{box}", x.box)
		if strings.Contains(path, "{file}") {
			for _, f := range files {
				paths = append(paths, strings.ReplaceAll(path, "{file}", f))
			}
			continue
		}
		paths = append(paths, path)
	}
	// Pages in a state of their own: search results, a review queue, a page
	// that does not exist.
	paths = append(paths, "/boxes/new?q=受", "/members?q=受", "/boxes/"+x.box+"?q=部外#people",
		"/admin/members?status=pending", "/no-such-page")

	visitors := []struct{ name, email, password, code string }{
		{"stranger", "", "", ""},
		{"member", "sender@a.example.jp", senderPassword, ""},
		{"admin", x.admin.user, x.admin.pass, x.admin.recovery[0]}, // the second step with a recovery code
	}
	total := 0
	var all []axeViolation
	for _, v := range visitors {
		t.Run(v.name, func(t *testing.T) {
			p := openPage(t, engines[0], phone)
			if v.email != "" {
				p.open(in.url + "/login")
				p.typeInto(`input[name=email]`, v.email)
				p.typeInto(`input[name=password]`, v.password)
				if v.code == "" {
					p.follow(`form[action="/login"] button`, "/")
				} else {
					p.follow(`form[action="/login"] button`, "/login/2fa")
					p.typeInto(`input[name=code]`, v.code)
					p.follow(`form[action="/login/2fa"] button[type=submit]`, "/admin")
				}
			}
			seen := map[string]bool{}
			for _, path := range paths {
				p.open(in.url + path)
				p.waitFor("page loaded", `document.readyState === 'complete'`, 10*time.Second)
				key := path
				if at := js[string](p, "location.pathname"); !strings.HasPrefix(path, at) {
					key = at // sent elsewhere (to sign in, say): check that page once
				}
				if seen[key] {
					continue
				}
				seen[key] = true
				p.accessible(path)
				p.clean(path)
				p.fitsWidth(path)
				p.screenshot(strings.Trim(strings.NewReplacer("/", "-", "?", "-", "=", "-", "#", "-").Replace(key), "-"))
			}
			all = append(all, p.axeLog...)
			total += p.pages
		})
	}
	t.Logf("axe-core on %d pages: %s", total, axeCounts(all))
}

// TestAxeFindsViolations makes sure the checker is awake: a page with an
// unlabelled field and an image without a text is not passed.
func TestAxeFindsViolations(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	p := openPage(t, engines[0], phone)
	p.open(in.url + "/login")
	js[bool](p, `(() => { const m = document.querySelector('main'); m.insertAdjacentHTML('beforeend', '<input type="text"><img src="/static/icon.svg">'); return true; })()`)
	got := map[string]string{}
	for _, v := range p.axeCheck() {
		got[v.ID] = v.Impact
	}
	for _, id := range []string{"label", "image-alt"} {
		if got[id] != "critical" {
			t.Errorf("axe-core did not report %s as critical: %v", id, got)
		}
	}
}
