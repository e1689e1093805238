package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestSessionLifetime (R-X1): a session ends after 30 minutes without a request
// or 12 hours after sign-in however busy, on the moved clock; web sessions and
// API tokens alike.
func TestSessionLifetime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		kind     auth.Kind
		gap      time.Duration // between requests
		requests int           // the last one is answered want, the others with the actor
		want     error
	}{
		{"idle 29 minutes", auth.Web, 29 * time.Minute, 1, nil},
		{"idle 30 minutes", auth.Web, 30 * time.Minute, 1, auth.ErrNoSession},
		{"API token idle 30 minutes", auth.API, 30 * time.Minute, 1, auth.ErrNoSession},
		{"busy for 11 hours 40 minutes", auth.Web, 25 * time.Minute, 28, nil},
		{"busy for 12 hours", auth.Web, 24 * time.Minute, 30, auth.ErrNoSession},
		{"API token busy for 12 hours", auth.API, 24 * time.Minute, 30, auth.ErrNoSession},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := w.Member(featuretest.NewMember{})
				_, token := signIn(t, w, m, tt.kind)
				for i := 1; i <= tt.requests; i++ {
					w.Clock.Advance(tt.gap)
					want := error(nil)
					if i == tt.requests {
						want = tt.want
					}
					if _, err := w.Auth.Authenticate(t.Context(), token, tt.kind, ""); !errors.Is(err, want) {
						t.Fatalf("request %v after sign-in: %v, want %v", time.Duration(i)*tt.gap, err, want)
					}
				}
				if tt.want != nil {
					if n := count(t, w, `SELECT count(*) FROM sessions WHERE member_id = $1`, m.ID); n != 0 {
						t.Errorf("%d ended sessions left", n)
					}
				}
			})
		}
	})
}

// TestSessions: every sign-in opens a session of its own with a new token; a
// web token is no API token nor the other way round; signing out ends one
// session; a suspension ends them all at once.
func TestSessions(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		m := w.Member(featuretest.NewMember{})
		phone, phoneToken := signIn(t, w, m, auth.Web)
		_, pcToken := signIn(t, w, m, auth.Web)
		_, apiToken := signIn(t, w, m, auth.API)
		if phoneToken == pcToken {
			t.Fatal("two sign-ins got the same token")
		}
		if phone.Member.ID != m.ID || phone.Session.Member != m.ID || phone.Session.Kind != auth.Web {
			t.Errorf("actor %s with session of %s (%s), want %s web", phone.ID(), phone.Session.Member, phone.Session.Kind, m.ID)
		}
		if _, err := w.Auth.Authenticate(ctx, pcToken, auth.API, ""); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("web token as bearer token: %v, want ErrNoSession", err)
		}
		if _, err := w.Auth.Authenticate(ctx, apiToken, auth.Web, ""); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("API token as cookie: %v, want ErrNoSession", err)
		}
		if _, err := w.Auth.Authenticate(ctx, "", auth.Web, ""); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("no token: %v, want ErrNoSession", err)
		}
		if list, err := w.Auth.Sessions(ctx, m.ID); err != nil || len(list) != 3 {
			t.Errorf("Sessions() = %d, %v; want 3", len(list), err)
		}
		if err := w.Auth.SignOut(ctx, phone); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Auth.Authenticate(ctx, phoneToken, auth.Web, ""); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("after sign-out: %v, want ErrNoSession", err)
		}
		authenticate(t, w, pcToken, auth.Web)
		authenticate(t, w, apiToken, auth.API)

		suspend(t, w, m)
		for _, s := range []struct {
			token string
			kind  auth.Kind
		}{{pcToken, auth.Web}, {apiToken, auth.API}} {
			if _, err := w.Auth.Authenticate(ctx, s.token, s.kind, ""); !errors.Is(err, auth.ErrNoSession) {
				t.Errorf("%s session of a suspended member: %v, want ErrNoSession", s.kind, err)
			}
		}
	})
}

// TestPurgeSessions: the periodic purge deletes ended sessions only.
func TestPurgeSessions(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		m := w.Member(featuretest.NewMember{})
		signIn(t, w, m, auth.Web)
		w.Clock.Advance(31 * time.Minute)
		_, live := signIn(t, w, m, auth.API)
		if err := w.Auth.PurgeSessions(t.Context(), w.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		if n := count(t, w, `SELECT count(*) FROM sessions WHERE member_id = $1`, m.ID); n != 1 {
			t.Errorf("%d sessions after the purge, want the live one", n)
		}
		authenticate(t, w, live, auth.API)
	})
}

// TestSignOutEverywhere (R-X4): for a lost device, every session and API token
// of the member ends at once, remembered devices are forgotten, and the old
// password opens nothing: a new one must be set through a mailed link. The
// member may do it, and an administrator for them; no one else.
func TestSignOutEverywhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		by      func(t *testing.T, w *featuretest.World, self *auth.Actor) *auth.Actor
		wantErr error
	}{
		{"the member", func(_ *testing.T, _ *featuretest.World, self *auth.Actor) *auth.Actor { return self }, nil},
		{"an administrator", func(_ *testing.T, w *featuretest.World, _ *auth.Actor) *auth.Actor {
			return &auth.Actor{Member: w.Admin()}
		}, nil},
		{"another member", func(t *testing.T, w *featuretest.World, _ *auth.Actor) *auth.Actor {
			a, _ := signIn(t, w, w.Member(featuretest.NewMember{}), auth.Web)
			return a
		}, member.ErrNotFound},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				m := w.Member(featuretest.NewMember{})
				u, _ := signIn(t, w, m, auth.Web)
				enrolled := enrol(t, w, u)
				w.Clock.Advance(time.Minute)
				p := partial(t, w, m)
				full, device, err := w.Auth.CompleteSecondFactor(ctx, p, auth.Proof{Code: enrolled.code(t, w, 0)}, true, "test")
				if err != nil {
					t.Fatal(err)
				}
				apiToken, _, _, err := w.Auth.SignInWith(ctx, auth.Attempt{Email: string(m.Email), Password: pw, Code: enrolled.recovery[0], Kind: auth.API})
				if err != nil {
					t.Fatal(err)
				}
				err = w.Auth.SignOutEverywhere(ctx, tt.by(t, w, authenticate(t, w, full, auth.Web)), m.ID)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("SignOutEverywhere() = %v, want %v", err, tt.wantErr)
				}
				ended := tt.wantErr == nil
				for _, s := range []struct {
					token string
					kind  auth.Kind
				}{{full, auth.Web}, {apiToken, auth.API}} {
					_, err := w.Auth.Authenticate(ctx, s.token, s.kind, "")
					if got := errors.Is(err, auth.ErrNoSession); got != ended {
						t.Errorf("%s session afterwards: %v, want ended %v", s.kind, err, ended)
					}
				}
				if remembered, _ := w.Auth.DeviceRemembered(ctx, u, device); remembered == ended {
					t.Errorf("device remembered afterwards: %v, want %v", remembered, !ended)
				}
				if !ended {
					return
				}
				resets := mailedKind(w, string(m.Email), "reset")
				_, _, _, err = w.Auth.SignInWith(ctx, attempt(m, pw, newAddr(), auth.Web))
				if !errors.Is(err, auth.ErrNewPassword) {
					t.Fatalf("old password afterwards: %v, want ErrNewPassword", err)
				}
				if n := mailedKind(w, string(m.Email), "reset"); n != resets+1 {
					t.Fatalf("%d reset links mailed at the sign-in, want 1", n-resets)
				}
				if err := w.Auth.ResetPassword(ctx, w.LinkToken(string(m.Email), "/reset?token="), "a brand new secret", ""); err != nil {
					t.Fatalf("ResetPassword() = %v", err)
				}
				if _, _, need, err := w.Auth.SignInWith(ctx, auth.Attempt{Email: string(m.Email), Password: "a brand new secret",
					Device: device, Kind: auth.Web}); err != nil || need != auth.NeedSecondFactor {
					t.Errorf("new password on the once remembered device: %v, %q; want the second factor asked for", err, need)
				}
				if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'auth.signout_everywhere' AND target = $1`, m.ID); n != 1 {
					t.Errorf("%d auth.signout_everywhere events, want 1", n)
				}
			})
		}
	})
}

// TestResetPassword: a reset link sets a new password once, within an hour, if
// the new one meets the policy; it ends every session and lifts a lock.
func TestResetPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		before    func(t *testing.T, w *featuretest.World, token string)
		password  string
		wantErr   error
		wantField string
	}{
		{"fresh link", nil, "a brand new secret", nil, ""},
		{"59 minutes later", func(_ *testing.T, w *featuretest.World, _ string) { w.Clock.Advance(59 * time.Minute) }, "a brand new secret", nil, ""},
		{"an hour later", func(_ *testing.T, w *featuretest.World, _ string) { w.Clock.Advance(time.Hour) }, "a brand new secret", member.ErrBadToken, ""},
		{"used before", func(t *testing.T, w *featuretest.World, token string) {
			if err := w.Auth.ResetPassword(t.Context(), token, "the first new secret", ""); err != nil {
				t.Fatal(err)
			}
		}, "a brand new secret", member.ErrBadToken, ""},
		{"weak password", nil, "short", nil, "password"},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				m := w.Member(featuretest.NewMember{})
				_, session := signIn(t, w, m, auth.API)
				lock(t, w, m)                // which mails a reset link of its own …
				w.Clock.Advance(time.Second) // … older than the one asked for now
				if err := w.Members.RequestReset(ctx, string(m.Email), ""); err != nil {
					t.Fatal(err)
				}
				token := w.LinkToken(string(m.Email), "/reset?token=")
				if tt.before != nil {
					tt.before(t, w, token)
				}
				err := w.Auth.ResetPassword(ctx, token, tt.password, "")
				switch {
				case tt.wantField != "":
					var fe member.FieldErrors
					if !errors.As(err, &fe) || fe[tt.wantField] == "" {
						t.Fatalf("ResetPassword() = %v, want a problem with %s", err, tt.wantField)
					}
					if !w.Members.ResetLinkValid(ctx, token) {
						t.Error("a refused password used the link up")
					}
				case !errors.Is(err, tt.wantErr):
					t.Fatalf("ResetPassword() = %v, want %v", err, tt.wantErr)
				}
				if err != nil {
					if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, tt.password, newAddr(), auth.Web)); err == nil {
						t.Error("the refused password opens the account")
					}
					return
				}
				if _, err := w.Auth.Authenticate(ctx, session, auth.API, ""); !errors.Is(err, auth.ErrNoSession) {
					t.Errorf("session from before the reset: %v, want ErrNoSession", err)
				}
				if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, tt.password, newAddr(), auth.Web)); err != nil {
					t.Errorf("new password on the locked account: %v; the link proved who they are", err)
				}
				if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, pw, newAddr(), auth.Web)); !errors.Is(err, auth.ErrBadCredentials) {
					t.Errorf("old password: %v, want ErrBadCredentials", err)
				}
			})
		}
	})
}

// TestChangePassword: a signed-in member who knows the current password sets a
// new one; their other sessions end, this one stays.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		current   string
		password  string
		wantErr   error
		wantField string
	}{
		{"right current password", pw, "a brand new secret", nil, ""},
		{"wrong current password", "wrong password", "a brand new secret", member.ErrBadPassword, ""},
		{"weak new password", pw, "password123", nil, "password"},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				m := w.Member(featuretest.NewMember{})
				here, hereToken := signIn(t, w, m, auth.Web)
				_, elsewhere := signIn(t, w, m, auth.API)
				err := w.Auth.ChangePassword(ctx, here, tt.current, tt.password)
				var fe member.FieldErrors
				switch {
				case tt.wantField != "":
					if !errors.As(err, &fe) || fe[tt.wantField] == "" {
						t.Fatalf("ChangePassword() = %v, want a problem with %s", err, tt.wantField)
					}
				case !errors.Is(err, tt.wantErr):
					t.Fatalf("ChangePassword() = %v, want %v", err, tt.wantErr)
				}
				changed := err == nil
				authenticate(t, w, hereToken, auth.Web)
				if _, err := w.Auth.Authenticate(ctx, elsewhere, auth.API, ""); errors.Is(err, auth.ErrNoSession) != changed {
					t.Errorf("the other session: %v, want ended %v", err, changed)
				}
				want := pw
				if changed {
					want = tt.password
				}
				if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, want, newAddr(), auth.Web)); err != nil {
					t.Errorf("sign-in with %q: %v", want, err)
				}
			})
		}
	})
}
