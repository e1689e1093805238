package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/web"
	"os"
)

// TestMain lets the test binary act as the DICOM worker, for the preview of
// the DICOM file a box page shows.
func TestMain(m *testing.M) { os.Exit(featuretest.Main(m)) }

// visitors are the kinds of browser every page is opened by.
var visitors = []string{"stranger", "owes factor", "owes enrolment", "pending", "member", "outsider", "admin"}

// fixture is a World, administrators held to a second factor as in production,
// with its web server, a box from member to rcpt with a file, and a browser
// session for each kind of visitor.
type fixture struct {
	*featuretest.World
	t       *testing.T
	srv     *web.Server
	h       http.Handler
	member  *member.Member // the sender of the box
	rcpt    *member.Member
	pending *member.Member
	box     box.ID
	file    box.FileID
	cookies map[string]string // visitor → session token
}

func newFixture(t *testing.T, w *featuretest.World) *fixture {
	t.Helper()
	srv, err := w.Handler()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{World: w, t: t, srv: srv, h: srv.Handler(), cookies: map[string]string{},
		member:  w.Member(featuretest.NewMember{Name: "送 信子", NameKana: "そう しんこ"}),
		rcpt:    w.Member(featuretest.NewMember{Name: "受 信男", NameKana: "じゅ しんお"}),
		pending: w.Registered(featuretest.NewMember{}),
	}
	f.box = w.Box(f.member.ID, f.rcpt.ID).ID
	f.file = w.AddFile(f.member.ID, f.box, "紹介状.txt", []byte("紹介状\n経過をご報告します。\n")).ID
	signIn := func(visitor, email, code string) {
		f.cookies[visitor], _ = w.SignIn(email, auth.Web, code)
	}
	signIn("member", string(f.member.Email), "")
	signIn("pending", string(f.pending.Email), "")
	signIn("outsider", string(w.Member(featuretest.NewMember{}).Email), "")
	withFactor := w.Member(featuretest.NewMember{})
	w.EnrolTOTP(string(withFactor.Email))
	signIn("owes factor", string(withFactor.Email), "")
	signIn("owes enrolment", string(w.Admin().Email), "")
	admin, err := w.Members.CreateAdmin(context.Background(), member.NewAdmin{Email: "admin2@hospital.example.jp", Password: featuretest.Password, Name: "管理 次郎"})
	if err != nil {
		t.Fatal(err)
	}
	secret := w.EnrolTOTP(string(admin.Email))
	signIn("admin", string(admin.Email), w.TOTP(secret))
	return f
}

// request is one request of a browser.
type request struct {
	visitor      string
	method, path string
	form         url.Values        // a POST's form, sent from this site
	body         []byte            // or a body of its own, with its Content-Type in header
	header       map[string]string // more headers (Accept-Language …); with Origin, only the headers given say where it comes from
}

// do sends r through the whole handler and returns the response with its body read.
func (f *fixture) do(r request) (*http.Response, string) {
	f.t.Helper()
	var body io.Reader
	switch {
	case r.form != nil:
		body = strings.NewReader(r.form.Encode())
	case r.body != nil:
		body = bytes.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, r.path, body)
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if _, told := r.header["Origin"]; body != nil && !told {
		req.Header.Set("Sec-Fetch-Site", "same-origin") // a browser's form from this site
	}
	if token := f.cookies[r.visitor]; token != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: token})
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// fill puts the fixture's objects into a route's pattern.
func (f *fixture) fill(pattern string) string {
	return strings.NewReplacer("{box}", string(f.box), "{file}", string(f.file), "{member}", string(f.pending.ID),
		"{lang}", "en", "{passkey}", "x", "{$}", "").Replace(pattern)
}
