package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestRecent (R-X8): signing in counts as a fresh authentication for 10 minutes
// on the moved clock.
func TestRecent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		after time.Duration
		want  bool
	}{
		{0, true},
		{auth.ReauthWindow - time.Second, true},
		{auth.ReauthWindow, false},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.after.String(), func(t *testing.T) {
				a, _ := signIn(t, w, w.Member(featuretest.NewMember{}), auth.API)
				w.Clock.Advance(tt.after)
				if got, err := w.Auth.Recent(t.Context(), a); got != tt.want || err != nil {
					t.Errorf("Recent() %v after sign-in = %v, %v; want %v", tt.after, got, err, tt.want)
				}
			})
		}
		if ok, _ := w.Auth.Recent(t.Context(), &auth.Actor{}); ok {
			t.Error("an actor without a session is recent")
		}
	})
}

// TestReauthenticate (R-X8): a sensitive change more than 10 minutes after
// sign-in needs the password again, and the second factor of a member who has
// one unless on a remembered device. Wrong answers count towards the lock.
func TestReauthenticate(t *testing.T) {
	t.Parallel()
	type setup struct {
		factor   bool // the member has an authenticator app
		remember bool // and signed in on a remembered device
	}
	tests := []struct {
		name       string
		setup      setup
		password   string
		proof      func(t *testing.T, w *featuretest.World, u *totpUser) auth.Proof
		wantFactor bool
		wantErr    error
	}{
		{"password", setup{}, pw, nil, false, nil},
		{"wrong password", setup{}, "wrong password", nil, false, member.ErrBadPassword},
		{"password without the code", setup{factor: true}, pw, nil, true, auth.ErrBadCode},
		{"password and code", setup{factor: true}, pw, func(t *testing.T, w *featuretest.World, u *totpUser) auth.Proof {
			return auth.Proof{Code: u.code(t, w, 0)}
		}, true, nil},
		{"password and recovery code", setup{factor: true}, pw, func(_ *testing.T, _ *featuretest.World, u *totpUser) auth.Proof {
			return auth.Proof{Code: u.recovery[2]}
		}, true, nil},
		{"wrong password, right code", setup{factor: true}, "wrong password", func(t *testing.T, w *featuretest.World, u *totpUser) auth.Proof {
			return auth.Proof{Code: u.code(t, w, 0)}
		}, true, member.ErrBadPassword},
		{"password on a remembered device", setup{factor: true, remember: true}, pw, nil, false, nil},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				var a *auth.Actor
				var u *totpUser
				device := ""
				if tt.setup.factor {
					u = withTOTP(t, w)
					a, device = signInFull(t, w, u, tt.setup.remember)
				} else {
					a, _ = signIn(t, w, w.Member(featuretest.NewMember{}), auth.Web)
				}
				w.Clock.Advance(auth.ReauthWindow + 30*time.Second)
				if ok, _ := w.Auth.Recent(ctx, a); ok {
					t.Fatal("recent 10 minutes after sign-in")
				}
				if need, err := w.Auth.ReauthNeedsFactor(ctx, a, device); need != tt.wantFactor || err != nil {
					t.Errorf("ReauthNeedsFactor() = %v, %v; want %v", need, err, tt.wantFactor)
				}
				var p auth.Proof
				if tt.proof != nil {
					p = tt.proof(t, w, u)
				}
				if err := w.Auth.Reauthenticate(ctx, a, tt.password, p, device); !errors.Is(err, tt.wantErr) {
					t.Fatalf("Reauthenticate() = %v, want %v", err, tt.wantErr)
				}
				if ok, _ := w.Auth.Recent(ctx, a); ok != (tt.wantErr == nil) {
					t.Errorf("Recent() after Reauthenticate = %v, want %v", ok, tt.wantErr == nil)
				}
				result := "ok"
				if tt.wantErr != nil {
					result = "failed"
				}
				if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'auth.reauth' AND actor = $1 AND result = $2`, a.ID(), result); n != 1 {
					t.Errorf("%d auth.reauth events with result %s, want 1", n, result)
				}
			})
		}
	})
}

// TestReauthenticateLocks: five wrong answers lock the account like wrong
// passwords at sign-in; while locked, even the right password is refused.
func TestReauthenticateLocks(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		u := withTOTP(t, w)
		a, _ := signInFull(t, w, u, false)
		for i := range 4 {
			wrong := []error{member.ErrBadPassword, auth.ErrBadCode}[i%2]
			password := []string{"wrong password", pw}[i%2]
			if err := w.Auth.Reauthenticate(ctx, a, password, auth.Proof{}, ""); !errors.Is(err, wrong) {
				t.Fatalf("wrong answer %d: %v, want %v", i+1, err, wrong)
			}
		}
		if err := w.Auth.Reauthenticate(ctx, a, "wrong password", auth.Proof{}, ""); !errors.Is(err, auth.ErrTooManyAttempts) {
			t.Fatalf("fifth wrong answer: %v, want ErrTooManyAttempts", err)
		}
		w.Clock.Advance(30 * time.Second)
		if err := w.Auth.Reauthenticate(ctx, a, pw, auth.Proof{Code: u.code(t, w, 0)}, ""); !errors.Is(err, auth.ErrTooManyAttempts) {
			t.Errorf("right answer while locked: %v, want ErrTooManyAttempts", err)
		}
		if _, _, _, err := w.Auth.SignInWith(ctx, attempt(u.Member, pw, newAddr(), auth.Web)); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("sign-in while locked: %v, want ErrBadCredentials", err)
		}
	})
}
