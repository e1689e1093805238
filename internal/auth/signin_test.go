package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// lock makes five wrong password attempts at m's account, which lock it.
func lock(t *testing.T, w *featuretest.World, m *member.Member) {
	t.Helper()
	for i := range 5 {
		if _, _, _, err := w.Auth.SignInWith(t.Context(), attempt(m, "wrong password", newAddr(), auth.Web)); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("wrong password %d: %v, want ErrBadCredentials", i+1, err)
		}
	}
}

// TestSignInAnswers (R-X1): an unknown address, a wrong password and a locked
// account get one and the same answer, so it tells an attacker nothing; the
// audit log alone knows which it was.
func TestSignInAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		setup      func(t *testing.T, w *featuretest.World, m *member.Member)
		email      func(m *member.Member) string
		password   string
		wantErr    error
		wantReason string
	}{
		{"right password", nil, nil, pw, nil, "web"},
		{"address in capitals", nil, func(m *member.Member) string { return " " + strings.ToUpper(string(m.Email)) }, pw, nil, "web"},
		{"unknown address", nil, func(*member.Member) string { return "nobody@example.jp" }, pw, auth.ErrBadCredentials, "unknown_account"},
		{"wrong password", nil, nil, "wrong password", auth.ErrBadCredentials, "wrong_password"},
		{"locked, right password", lock, nil, pw, auth.ErrBadCredentials, "locked"},
		{"locked, wrong password", lock, nil, "wrong password", auth.ErrBadCredentials, "locked"},
		{"suspended, right password", suspend, nil, pw, auth.ErrSuspended, "suspended"},
		{"suspended, wrong password", suspend, nil, "wrong password", auth.ErrBadCredentials, "wrong_password"},
		{"awaiting review", nil, nil, pw, nil, "web"}, // the pages then say what is pending
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		var unknownMessage string
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := w.Member(featuretest.NewMember{})
				if strings.HasPrefix(tt.name, "awaiting review") {
					m = w.Registered(featuretest.NewMember{})
				}
				if tt.setup != nil {
					tt.setup(t, w, m)
				}
				at := attempt(m, tt.password, newAddr(), auth.Web)
				if tt.email != nil {
					at.Email = tt.email(m)
				}
				token, got, _, err := w.Auth.SignInWith(t.Context(), at)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("SignInWith() = %v, want %v", err, tt.wantErr)
				}
				switch {
				case err == nil && (token == "" || got.ID != m.ID):
					t.Errorf("SignInWith() = %q, %v; want a token for %s", token, got, m.ID)
				case err != nil && token != "":
					t.Errorf("a refused sign-in got a token")
				}
				if errors.Is(err, auth.ErrBadCredentials) {
					if unknownMessage == "" {
						unknownMessage = err.Error()
					}
					if err.Error() != unknownMessage {
						t.Errorf("answer %q differs from another refusal's %q", err, unknownMessage)
					}
				}
				if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'auth.signin' AND addr = $1 AND detail LIKE $2`,
					at.Addr, `%"reason":"`+tt.wantReason+`%`); n != 1 {
					t.Errorf("%d auth.signin events with reason %s, want 1", n, tt.wantReason)
				}
			})
		}
	})
}

func suspend(t *testing.T, w *featuretest.World, m *member.Member) {
	t.Helper()
	if err := w.Members.Suspend(t.Context(), w.Admin().ID, m.ID, ""); err != nil {
		t.Fatal(err)
	}
}

// TestLockout (R-X1): five wrong passwords in a row lock an account for 15
// minutes on the moved clock; each further lock within a day lasts twice as long,
// and a quiet day starts again from 15 minutes. While locked, even the right
// password is refused.
func TestLockout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		before  int           // locks the account has had
		quiet   time.Duration // time between the last of them and this one
		wantFor time.Duration
	}{
		{"first lock", 0, 0, 15 * time.Minute},
		{"second lock", 1, 0, 30 * time.Minute},
		{"third lock", 2, 0, time.Hour},
		{"fourth lock", 3, 0, 2 * time.Hour},
		{"after a quiet day", 2, 24*time.Hour + time.Minute, 15 * time.Minute},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				m := w.Member(featuretest.NewMember{})
				for range tt.before {
					lock(t, w, m)
					until, _ := w.Auth.Locked(ctx, m.ID)
					w.Clock.Advance(until.Sub(w.Clock.Now()))
				}
				w.Clock.Advance(tt.quiet)
				lock(t, w, m)
				until, err := w.Auth.Locked(ctx, m.ID)
				if want := w.Clock.Now().Add(tt.wantFor); err != nil || !until.Equal(want) {
					t.Fatalf("Locked() = %v, %v; want %v (%v from now)", until, err, want, tt.wantFor)
				}
				w.Clock.Advance(tt.wantFor - time.Second)
				if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, pw, newAddr(), auth.Web)); !errors.Is(err, auth.ErrBadCredentials) {
					t.Errorf("right password a second before the lock ends: %v, want ErrBadCredentials", err)
				}
				w.Clock.Advance(time.Second)
				if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, pw, newAddr(), auth.Web)); err != nil {
					t.Errorf("right password when the lock ends: %v", err)
				}
				if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'auth.lock' AND target = $1`, m.ID); n != tt.before+1 {
					t.Errorf("%d auth.lock events, want %d", n, tt.before+1)
				}
			})
		}
	})
}

// TestLockoutCountsInARow: a right password starts the count again.
func TestLockoutCountsInARow(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		m := w.Member(featuretest.NewMember{})
		for range 2 {
			for range 4 {
				w.Auth.SignInWith(ctx, attempt(m, "wrong password", newAddr(), auth.Web))
			}
			if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, pw, newAddr(), auth.Web)); err != nil {
				t.Fatalf("right password after four wrong ones: %v", err)
			}
		}
		if until, _ := w.Auth.Locked(ctx, m.ID); !until.IsZero() {
			t.Errorf("locked until %v after eight wrong passwords never five in a row", until)
		}
	})
}

// TestUnlock: an administrator lifts a lock; no one else can.
func TestUnlock(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		m := w.Member(featuretest.NewMember{})
		lock(t, w, m)
		other := w.Member(featuretest.NewMember{})
		if err := w.Auth.Unlock(ctx, other, m.ID, ""); !errors.Is(err, member.ErrNotFound) {
			t.Errorf("Unlock() by a member = %v, want ErrNotFound", err)
		}
		if err := w.Auth.Unlock(ctx, w.Admin(), "nobody", ""); !errors.Is(err, member.ErrNotFound) {
			t.Errorf("Unlock(stranger) = %v, want ErrNotFound", err)
		}
		if until, _ := w.Auth.Locked(ctx, m.ID); until.IsZero() {
			t.Fatal("refused unlocks lifted the lock")
		}
		if err := w.Auth.Unlock(ctx, w.Admin(), m.ID, "192.0.2.9"); err != nil {
			t.Fatalf("Unlock() by the administrator = %v", err)
		}
		if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, pw, newAddr(), auth.Web)); err != nil {
			t.Errorf("sign-in after the unlock: %v", err)
		}
		if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'auth.unlock' AND target = $1 AND actor = $2`, m.ID, w.Admin().ID); n != 1 {
			t.Errorf("%d auth.unlock events, want 1", n)
		}
	})
}

// TestThrottle (R-X1): 30 failed sign-ins from one address within 15 minutes —
// on any accounts, known or not — make that address wait until the window ends,
// even with a right password; other addresses are not held up.
func TestThrottle(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		addr := newAddr()
		m := w.Member(featuretest.NewMember{})
		start := w.Clock.Now()
		for i := range 30 {
			at := auth.Attempt{Email: "nobody@example.jp", Password: pw, Addr: addr, Kind: auth.API}
			if i%3 == 0 {
				at = attempt(w.Member(featuretest.NewMember{}), "wrong password", addr, auth.API)
			}
			if _, _, _, err := w.Auth.SignInWith(ctx, at); !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("failure %d: %v, want ErrBadCredentials", i+1, err)
			}
			w.Clock.Advance(10 * time.Second)
		}
		_, _, _, err := w.Auth.SignInWith(ctx, attempt(m, pw, addr, auth.Web))
		var te *auth.ThrottledError
		if want := start.Add(15 * time.Minute).Sub(w.Clock.Now()); !errors.As(err, &te) || te.RetryAfter != want {
			t.Fatalf("right password from the address = %v, want a ThrottledError to retry in %v", err, want)
		}
		if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, pw, newAddr(), auth.Web)); err != nil {
			t.Errorf("from another address: %v", err)
		}
		w.Clock.Advance(te.RetryAfter)
		if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, pw, addr, auth.Web)); err != nil {
			t.Errorf("when the window has ended: %v", err)
		}
		if err := w.Auth.PurgeThrottle(ctx, w.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		if n := count(t, w, `SELECT count(*) FROM throttle WHERE key = $1`, "signin:"+addr); n != 0 {
			t.Errorf("the ended window of %s was not purged", addr)
		}
	})
}
