package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/i18n"
)

// TestFormsRefuseBadInput: a form with something wrong in it changes nothing and
// comes back with its status and, beside the field at fault, what is wrong, in
// the visitor's language; a form that cannot even be read gets the error page.
func TestFormsRefuseBadInput(t *testing.T) {
	long := strings.Repeat("長", 5000)
	tests := []struct {
		name       string
		req        func(f *fixture) request
		wantStatus int
		wantError  string // i18n id of the message the page must show
		unchanged  func(t *testing.T, f *fixture)
	}{
		{"a box without recipients", func(f *fixture) request {
			return request{visitor: "member", method: "POST", path: "/boxes", form: url.Values{"message": {"ご確認ください"}}}
		}, 400, "err.choose_recipient", boxesOf("member", 1)},
		{"a box for someone who may not receive it", func(f *fixture) request {
			return request{visitor: "member", method: "POST", path: "/boxes", form: url.Values{"to": {string(f.pending.ID)}}}
		}, 400, "err.unknown_recipient", boxesOf("member", 1)},
		{"a storage period out of range", func(f *fixture) request {
			return request{visitor: "member", method: "POST", path: "/boxes", form: url.Values{"to": {string(f.rcpt.ID)}, "expiry": {"100000"}}}
		}, 400, "err.expiry_range", boxesOf("member", 1)},
		{"a message too long", func(f *fixture) request {
			return request{visitor: "member", method: "POST", path: "/boxes", form: url.Values{"to": {string(f.rcpt.ID)}, "message": {long}}}
		}, 400, "err.too_long", boxesOf("member", 1)},
		{"an empty comment", func(f *fixture) request {
			return request{visitor: "rcpt", method: "POST", path: "/boxes/" + string(f.box) + "/comments", form: url.Values{"body": {"  "}}}
		}, 400, "err.required", commentsIn(0)},
		{"a comment too long", func(f *fixture) request {
			return request{visitor: "rcpt", method: "POST", path: "/boxes/" + string(f.box) + "/comments", form: url.Values{"body": {long}}}
		}, 400, "err.too_long", commentsIn(0)},
		{"a recipient from outside the directory", func(f *fixture) request {
			return request{visitor: "member", method: "POST", path: "/boxes/" + string(f.box) + "/participants", form: url.Values{"to": {"nobody"}}}
		}, 400, "err.unknown_recipient", nil},
		{"a wrong password at sign-in", func(f *fixture) request {
			return request{method: "POST", path: "/login", form: url.Values{"email": {string(f.member.Email)}, "password": {"not the password"}}}
		}, 401, "err.bad_credentials", nil},
		{"new passwords that differ", func(f *fixture) request {
			return request{visitor: "member", method: "POST", path: "/settings/password",
				form: url.Values{"current": {featuretest.Password}, "password": {"a new password 1"}, "password2": {"a new password 2"}}}
		}, 400, "err.password_mismatch", nil},
		{"a reset with passwords that differ", func(f *fixture) request {
			return request{method: "POST", path: "/reset/new", form: url.Values{"token": {"x"}, "password": {"a new password 1"}, "password2": {"a new password 2"}}}
		}, 400, "err.password_mismatch", nil},
		{"set-up with passwords that differ", func(f *fixture) request {
			return request{method: "POST", path: "/setup", form: url.Values{"token": {"x"}, "email": {"a@b.jp"}, "password": {"a new password 1"}, "password2": {"a new password 2"}}}
		}, 400, "err.password_mismatch", nil},
		{"a profile without a workplace", func(f *fixture) request {
			return request{visitor: "member", method: "POST", path: "/settings/profile", form: url.Values{"workplace": {""}, "lang": {"ja"}}}
		}, 400, "err.required", nil},
		{"an invitation to no address", func(f *fixture) request {
			return request{visitor: "member", method: "POST", path: "/invite", form: url.Values{"email": {"not an address"}}}
		}, 400, "err.invalid_email", nil},
		{"a registration with fields missing", func(f *fixture) request {
			return registration(f, map[string]string{"email": "new@c.example.jp", "password": featuretest.Password, "password2": featuretest.Password})
		}, 400, "err.required", nil},
		{"a registration with passwords that differ", func(f *fixture) request {
			return registration(f, map[string]string{"email": "new@c.example.jp", "password": featuretest.Password, "password2": "something else entirely",
				"name": "新 規", "name_kana": "しん き", "profession": "doctor", "license_number": "999999", "workplace": "西病院"})
		}, 400, "err.password_mismatch", nil},
		{"a form too large to read", func(f *fixture) request {
			return request{visitor: "member", method: "POST", path: "/boxes", form: url.Values{"message": {strings.Repeat("x", 70_000)}}}
		}, 400, "err.bad_form", boxesOf("member", 1)},
		{"a registration that is not a multipart form", func(f *fixture) request {
			return request{method: "POST", path: "/register", form: url.Values{"email": {"x@y.jp"}}}
		}, 400, "err.bad_form", nil},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		f.cookies["rcpt"], _ = f.SignIn(string(f.rcpt.Email), auth.Web, "")
		for _, tt := range tests {
			for _, lang := range i18n.Langs {
				t.Run(tt.name+"/"+string(lang), func(t *testing.T) {
					f.t = t
					r := tt.req(f)
					if r.header == nil {
						r.header = map[string]string{}
					}
					r.header["Accept-Language"] = string(lang)
					resp, page := f.do(r)
					if resp.StatusCode != tt.wantStatus {
						t.Fatalf("%s %s = %d, want %d", r.method, r.path, resp.StatusCode, tt.wantStatus)
					}
					if msg := i18n.T(lang, tt.wantError); !strings.Contains(page, msg) {
						t.Errorf("the page does not say %q (%s)", msg, tt.wantError)
					}
					if tt.unchanged != nil {
						tt.unchanged(t, f)
					}
				})
			}
		}
	})
}

// registration is a registration form from a stranger, multipart as the page
// sends it, with a licence image.
func registration(f *fixture, fields map[string]string) request {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("proof", "licence.png")
	fw.Write(featuretest.ProofPNG(f.t))
	mw.Close()
	return request{method: "POST", path: "/register", body: b.Bytes(), header: map[string]string{"Content-Type": mw.FormDataContentType()}}
}

// boxesOf checks that the visitor's member still has n boxes.
func boxesOf(visitor string, n int) func(t *testing.T, f *fixture) {
	return func(t *testing.T, f *fixture) {
		_, sent, err := f.Boxes.List(context.Background(), f.member.ID)
		if err != nil || len(sent) != n {
			t.Errorf("the member has sent %d boxes (%v), want %d", len(sent), err, n)
		}
	}
}

// commentsIn checks that the fixture's box has n comments.
func commentsIn(n int) func(t *testing.T, f *fixture) {
	return func(t *testing.T, f *fixture) {
		b, err := f.Boxes.Get(context.Background(), f.member.ID, f.box)
		if err != nil || len(b.Comments) != n {
			t.Errorf("the box has %d comments (%v), want %d", len(b.Comments), err, n)
		}
	}
}
