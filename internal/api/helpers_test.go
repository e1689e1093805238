package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// fixture is a World with its whole HTTP handler, a box from sender to rcpt with
// one file, an outsider, a member awaiting review, and a bearer token for each
// of them and the administrator.
type fixture struct {
	*featuretest.World
	t                      *testing.T
	h                      http.Handler
	sender, rcpt, outsider *member.Member
	pending                *member.Member // registered and confirmed, awaiting review
	box                    box.ID
	file                   box.FileID
	tokens                 map[string]string // role → bearer token
}

func newFixture(t *testing.T, w *featuretest.World) *fixture {
	t.Helper()
	srv, err := w.Handler()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{World: w, t: t, h: srv.Handler(), tokens: map[string]string{},
		sender:   w.Member(featuretest.NewMember{Name: "送 信子", NameKana: "そう しんこ"}),
		rcpt:     w.Member(featuretest.NewMember{Name: "受 信男", NameKana: "じゅ しんお"}),
		outsider: w.Member(featuretest.NewMember{}),
	}
	f.box = w.Box(f.sender.ID, f.rcpt.ID).ID
	f.file = w.AddFile(f.sender.ID, f.box, "紹介状.txt", []byte("紹介状\n経過をご報告します。\n")).ID
	for role, m := range map[string]*member.Member{"sender": f.sender, "rcpt": f.rcpt, "outsider": f.outsider} {
		f.tokens[role], _ = w.SignIn(string(m.Email), auth.API, "")
	}
	f.tokens["admin"] = w.AdminSignIn(auth.API)
	f.pending = w.Registered(featuretest.NewMember{})
	f.tokens["pending"], _ = w.SignIn(string(f.pending.Email), auth.API, "")
	return f
}

// call is one request to the API.
type call struct {
	method, path string
	body         any    // JSON-encoded unless an io.Reader or nil
	token        string // bearer token, if any
	header       map[string]string
}

// do sends c through the whole handler and returns the response.
func (f *fixture) do(c call) *http.Response {
	f.t.Helper()
	var body io.Reader
	switch b := c.body.(type) {
	case nil:
	case io.Reader:
		body = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	r := httptest.NewRequest(c.method, c.path, body)
	if c.body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec.Result()
}

// json sends c and decodes the JSON answer into out (if not nil).
func (f *fixture) json(c call, out any) (int, []byte) {
	f.t.Helper()
	resp := f.do(c)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if out != nil && len(b) > 0 {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			f.t.Fatalf("%s %s: Content-Type %q, want JSON: %s", c.method, c.path, ct, b)
		}
		if err := json.Unmarshal(b, out); err != nil {
			f.t.Fatalf("%s %s: %v in %s", c.method, c.path, err, b)
		}
	}
	return resp.StatusCode, b
}
