package api_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/guard"
)

// TestWhatACallerMayNotSeeIsNotThere (R-S1): every route about a box, a file or
// an upload answers a member outside the box exactly as it answers for one that
// does not exist: 404 not_found, the same body. An administrator, who exchanges
// nothing, is told so (403 not_approved) whether the box exists or not. An
// administrator's route is not there for anyone else.
func TestWhatACallerMayNotSeeIsNotThere(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		upload := f.upload(10)
		fill := func(pattern string, real bool) string {
			box, file, up, m := string(f.box), string(f.file), upload, string(f.pending.ID)
			if !real {
				box, file, up, m = "aaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccc", "dddddddddddddddddddddddddd"
			}
			return strings.NewReplacer("{box}", box, "{file}", file, "{id}", up, "{n}", "0", "{member}", m, "{passkey}", "x").Replace(pattern)
		}
		for _, rt := range w.APIRoutes() {
			method, pattern, _ := strings.Cut(rt.Pattern, " ")
			scoped := strings.ContainsAny(pattern, "{") && !strings.Contains(pattern, "{member}") && !strings.Contains(pattern, "{passkey}")
			var who []string
			switch {
			case rt.Access == guard.Admins:
				who = []string{"rcpt", "pending"}
			case scoped:
				who = []string{"outsider", "admin"}
			default:
				continue
			}
			for _, role := range who {
				t.Run(rt.Pattern+"/"+role, func(t *testing.T) {
					f.t = t
					var body []byte
					if method != http.MethodGet && method != http.MethodDelete {
						body = []byte("{}")
					}
					try := func(real bool) (int, string) {
						status, b := f.json(call{method: method, path: fill(pattern, real), body: bytes.NewReader(body), token: f.tokens[role]}, nil)
						return status, string(b)
					}
					status, got := try(true)
					want, code := http.StatusNotFound, "not_found"
					if role == "admin" {
						want, code = http.StatusForbidden, "not_approved"
					}
					if status != want || !strings.Contains(got, `"code":"`+code+`"`) {
						t.Fatalf("%s as %s: %d %s, want %d %s", rt.Pattern, role, status, got, want, code)
					}
					if rt.Access != guard.Admins {
						if _, none := try(false); got != none {
							t.Errorf("%s as %s: %s; for nothing there: %s", rt.Pattern, role, got, none)
						}
					}
				})
			}
		}
		// Nothing was changed by any of it.
		c, err := f.Boxes.OpenContent(t.Context(), f.rcpt.ID, f.file)
		if err != nil {
			t.Fatalf("the file after outsiders tried every route: %v", err)
		}
		c.Close()
	})
}

// TestTokens: a script's bearer token and a browser's session cookie each work
// only as what they are; a token ends with sign-out, with idleness and with the
// member's suspension; and a second factor is asked for, or its enrolment.
func TestTokens(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		srv, err := w.Handler()
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name       string
			request    func(t *testing.T, w *fixture) call // for GET /api/v1/me unless it says otherwise
			wantStatus int
			wantCode   string
		}{
			{"a bearer token", func(t *testing.T, w *fixture) call {
				token, _ := w.SignIn(string(w.Member(featuretest.NewMember{}).Email), auth.API, "")
				return call{token: token}
			}, 200, ""},
			{"a browser's session cookie", func(t *testing.T, w *fixture) call {
				token, _ := w.SignIn(string(w.Member(featuretest.NewMember{}).Email), auth.Web, "")
				return call{header: map[string]string{"Cookie": auth.CookieName + "=" + token}}
			}, 200, ""},
			{"a bearer token as a cookie", func(t *testing.T, w *fixture) call {
				token, _ := w.SignIn(string(w.Member(featuretest.NewMember{}).Email), auth.API, "")
				return call{header: map[string]string{"Cookie": auth.CookieName + "=" + token}}
			}, 401, "unauthorized"},
			{"a browser's session as a bearer token", func(t *testing.T, w *fixture) call {
				token, _ := w.SignIn(string(w.Member(featuretest.NewMember{}).Email), auth.Web, "")
				return call{token: token}
			}, 401, "unauthorized"},
			{"after signing out", func(t *testing.T, w *fixture) call {
				token, _ := w.SignIn(string(w.Member(featuretest.NewMember{}).Email), auth.API, "")
				if s := w.do(call{method: "POST", path: "/api/v1/logout", token: token}); s.StatusCode != http.StatusNoContent {
					t.Fatalf("logout: %d", s.StatusCode)
				}
				return call{token: token}
			}, 401, "unauthorized"},
			{"idle past the timeout", func(t *testing.T, w *fixture) call {
				token, _ := w.SignIn(string(w.Member(featuretest.NewMember{}).Email), auth.API, "")
				w.Clock.Advance(w.Config.Auth.IdleTimeout + time.Second)
				return call{token: token}
			}, 401, "unauthorized"},
			{"suspended", func(t *testing.T, w *fixture) call {
				m := w.Member(featuretest.NewMember{})
				token, _ := w.SignIn(string(m.Email), auth.API, "")
				if err := w.Members.Suspend(t.Context(), w.Admin().ID, m.ID, featuretest.Addr); err != nil {
					t.Fatal(err)
				}
				return call{token: token}
			}, 401, "unauthorized"},
			{"sign-in without the second factor", func(t *testing.T, w *fixture) call {
				m := w.Member(featuretest.NewMember{})
				w.EnrolTOTP(string(m.Email))
				return call{method: "POST", path: "/api/v1/login", body: map[string]string{"email": string(m.Email), "password": featuretest.Password}}
			}, 401, "second_factor_required"},
			{"sign-in with a wrong code", func(t *testing.T, w *fixture) call {
				m := w.Member(featuretest.NewMember{})
				w.EnrolTOTP(string(m.Email))
				return call{method: "POST", path: "/api/v1/login", body: map[string]string{"email": string(m.Email), "password": featuretest.Password, "otp": "000000"}}
			}, 401, "bad_credentials"},
			{"sign-in with the code", func(t *testing.T, w *fixture) call {
				m := w.Member(featuretest.NewMember{})
				secret := w.EnrolTOTP(string(m.Email))
				return call{method: "POST", path: "/api/v1/login", body: map[string]string{"email": string(m.Email), "password": featuretest.Password, "otp": w.TOTP(secret)}}
			}, 200, ""},
			{"an administrator who has not enrolled a factor", func(t *testing.T, w *fixture) call {
				token, _ := w.SignIn(string(w.Admin().Email), auth.API, "")
				return call{path: "/api/v1/admin/members", token: token}
			}, 403, "second_factor_enrolment_required"},
			{"…may enrol one", func(t *testing.T, w *fixture) call {
				token, _ := w.SignIn(string(w.Admin().Email), auth.API, "")
				return call{path: "/api/v1/me/factors", token: token}
			}, 200, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := &fixture{World: w.For(t), t: t, h: srv.Handler()}
				c := tt.request(t, f)
				if c.path == "" {
					c.path = "/api/v1/me"
				}
				if c.method == "" {
					c.method = "GET"
				}
				var e errorBody
				status, body := f.json(c, &e)
				if status != tt.wantStatus || e.Error.Code != tt.wantCode {
					t.Errorf("%s %s = %d %q, want %d %q: %s", c.method, c.path, status, e.Error.Code, tt.wantStatus, tt.wantCode, body)
				}
			})
		}
	})
}

// TestReauthRequired (R-X8): a sensitive change needs a recent sign-in. Ten
// minutes after it, each answers 403 reauth_required and changes nothing; a
// fresh sign-in, whose token counts as recent, lets the same call through.
func TestReauthRequired(t *testing.T) {
	tests := []struct {
		name       string
		as         string
		call       func(f *fixture) call
		wantStatus int // with a fresh token
		unchanged  func(t *testing.T, f *fixture)
	}{
		{"change the e-mail address", "rcpt", func(f *fixture) call {
			return call{method: "PATCH", path: "/api/v1/me", body: map[string]string{"email": "new-" + string(f.rcpt.Email), "password": featuretest.Password}}
		}, 200, nil},
		{"start an authenticator", "rcpt", func(f *fixture) call { return call{method: "POST", path: "/api/v1/me/totp"} }, 201, nil},
		{"new recovery codes", "rcpt", func(f *fixture) call { return call{method: "POST", path: "/api/v1/me/recovery-codes"} },
			409, nil}, // past the check, the handler finds no factor to make codes for
		{"approve a member", "admin", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/admin/members/" + string(f.pending.ID) + "/approve"}
		}, 204, func(t *testing.T, f *fixture) {
			if m, _ := f.Members.Get(t.Context(), f.pending.ID); m.CanExchange() {
				t.Error("approved without a recent sign-in")
			}
		}},
		{"suspend a member", "admin", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/admin/members/" + string(f.outsider.ID) + "/suspend"}
		}, 204, func(t *testing.T, f *fixture) {
			if m, _ := f.Members.Get(t.Context(), f.outsider.ID); !m.CanExchange() {
				t.Error("suspended without a recent sign-in")
			}
		}},
		{"reset a member", "admin", func(f *fixture) call {
			return call{method: "POST", path: "/api/v1/admin/members/" + string(f.outsider.ID) + "/reset"}
		}, 204, nil},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, w.For(t))
				f.Clock.Advance(auth.ReauthWindow + time.Minute)
				c := tt.call(f)
				c.token = f.tokens[tt.as]
				var e errorBody
				if status, body := f.json(c, &e); status != http.StatusForbidden || e.Error.Code != "reauth_required" {
					t.Fatalf("%s %s with a token %v old = %d %s, want 403 reauth_required", c.method, c.path, auth.ReauthWindow+time.Minute, status, body)
				}
				if tt.unchanged != nil {
					tt.unchanged(t, f)
				}
				if tt.as == "admin" {
					c.token = f.AdminSignIn(auth.API)
				} else {
					c.token, _ = f.SignIn(string(f.rcpt.Email), auth.API, "")
				}
				if status, body := f.json(c, nil); status != tt.wantStatus {
					t.Errorf("%s %s with a fresh token = %d %s, want %d", c.method, c.path, status, body, tt.wantStatus)
				}
			})
		}
	})
}
