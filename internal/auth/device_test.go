package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
)

// TestRememberedDevice (R-X2): a browser remembered at the second step skips it
// for 30 days, for its member only, until the member forgets their devices,
// signs out everywhere or removes their last factor.
func TestRememberedDevice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		then     func(t *testing.T, w *featuretest.World, u *totpUser, a *auth.Actor)
		other    bool // another member signs in on the device
		wantNeed auth.Need
	}{
		{"next sign-in", nil, false, auth.NeedNothing},
		{"29 days later", func(_ *testing.T, w *featuretest.World, _ *totpUser, _ *auth.Actor) {
			w.Clock.Advance(29 * 24 * time.Hour)
		}, false, auth.NeedNothing},
		{"30 days later", func(_ *testing.T, w *featuretest.World, _ *totpUser, _ *auth.Actor) {
			w.Clock.Advance(auth.DeviceLifetime)
		}, false, auth.NeedSecondFactor},
		{"another member", nil, true, auth.NeedSecondFactor},
		{"devices forgotten", func(t *testing.T, w *featuretest.World, _ *totpUser, a *auth.Actor) {
			if err := w.Auth.ForgetDevices(t.Context(), a); err != nil {
				t.Fatal(err)
			}
		}, false, auth.NeedSecondFactor},
		{"app removed", func(t *testing.T, w *featuretest.World, u *totpUser, a *auth.Actor) {
			if err := w.Auth.RemoveTOTP(t.Context(), a); err != nil {
				t.Fatal(err)
			}
			e, err := w.Auth.BeginTOTP(t.Context(), a) // enrolled again: the old device stays forgotten
			if err != nil {
				t.Fatal(err)
			}
			u.secret = e.Secret
			if _, err := w.Auth.ConfirmTOTP(t.Context(), a, u.code(t, w, 0)); err != nil {
				t.Fatal(err)
			}
		}, false, auth.NeedSecondFactor},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				u := withTOTP(t, w)
				token, device, err := w.Auth.CompleteSecondFactor(ctx, partial(t, w, u.Member), auth.Proof{Code: u.code(t, w, 0)}, true, "test")
				if err != nil || device == "" {
					t.Fatalf("CompleteSecondFactor(remember) = %q, %v; want a device token", device, err)
				}
				a := authenticate(t, w, token, auth.Web)
				if f, _ := w.Auth.Factors(ctx, u.Member); f.Devices != 1 {
					t.Errorf("%d remembered devices, want 1", f.Devices)
				}
				if tt.then != nil {
					tt.then(t, w, u, a)
				}
				who := u.Member
				if tt.other {
					who = withTOTP(t, w).Member
				}
				at := attempt(who, pw, newAddr(), auth.Web)
				at.Device = device
				_, _, need, err := w.Auth.SignInWith(ctx, at)
				if err != nil || need != tt.wantNeed {
					t.Errorf("sign-in on the device = %q, %v; want %q", need, err, tt.wantNeed)
				}
			})
		}
	})
}

// TestPurgeDevices: the periodic purge deletes devices past their 30 days.
func TestPurgeDevices(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		u := withTOTP(t, w)
		if _, _, err := w.Auth.CompleteSecondFactor(t.Context(), partial(t, w, u.Member), auth.Proof{Code: u.code(t, w, 0)}, true, "test"); err != nil {
			t.Fatal(err)
		}
		w.Clock.Advance(auth.DeviceLifetime)
		if err := w.Auth.PurgeDevices(t.Context(), w.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		if n := count(t, w, `SELECT count(*) FROM remembered_devices WHERE member_id = $1`, u.ID); n != 0 {
			t.Errorf("%d expired devices left", n)
		}
	})
}

// TestRemoveLastFactor: a member who need not have a factor may remove their
// app; their recovery codes and devices go with it, and they are mailed.
func TestRemoveLastFactor(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		u := withTOTP(t, w)
		a, _ := signInFull(t, w, u, true)
		if err := w.Auth.RemoveTOTP(ctx, a); err != nil {
			t.Fatalf("RemoveTOTP() = %v", err)
		}
		f, err := w.Auth.Factors(ctx, u.Member)
		if err != nil || f.Any() || f.RecoveryLeft != 0 || f.Devices != 0 {
			t.Errorf("Factors() after removal = %+v, %v; want none, no recovery codes, no devices", f, err)
		}
		if n := count(t, w, `SELECT count(*) FROM mfa_totp WHERE member_id = $1`, u.ID); n != 0 {
			t.Errorf("%d TOTP rows left", n)
		}
		if n := mailedKind(w, string(u.Email), "mfa_totp_removed"); n != 1 {
			t.Errorf("%d mfa_totp_removed mails, want 1", n)
		}
		if _, _, need, err := w.Auth.SignInWith(ctx, attempt(u.Member, pw, newAddr(), auth.Web)); err != nil || need != auth.NeedNothing {
			t.Errorf("sign-in without a factor: %q, %v", need, err)
		}
		if _, err := w.Auth.NewRecoveryCodes(ctx, a); !errors.Is(err, auth.ErrNoEnrolment) {
			t.Errorf("NewRecoveryCodes() without a factor = %v, want ErrNoEnrolment", err)
		}
	})
}

// signInFull signs u in with a code and returns the actor and, with remember,
// the device token.
func signInFull(t *testing.T, w *featuretest.World, u *totpUser, remember bool) (*auth.Actor, string) {
	t.Helper()
	w.Clock.Advance(30 * time.Second)
	token, device, err := w.Auth.CompleteSecondFactor(t.Context(), partial(t, w, u.Member), auth.Proof{Code: u.code(t, w, 0)}, remember, "test")
	if err != nil {
		t.Fatal(err)
	}
	return authenticate(t, w, token, auth.Web), device
}

// TestNewRecoveryCodes: new codes replace the old ones.
func TestNewRecoveryCodes(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		u := withTOTP(t, w)
		a, _ := signInFull(t, w, u, false)
		codes, err := w.Auth.NewRecoveryCodes(ctx, a)
		if err != nil || len(codes) != 10 {
			t.Fatalf("NewRecoveryCodes() = %d codes, %v", len(codes), err)
		}
		if _, _, err := w.Auth.CompleteSecondFactor(ctx, partial(t, w, u.Member), auth.Proof{Code: u.recovery[0]}, false, ""); !errors.Is(err, auth.ErrBadCode) {
			t.Errorf("an old recovery code: %v, want ErrBadCode", err)
		}
		if _, _, err := w.Auth.CompleteSecondFactor(ctx, partial(t, w, u.Member), auth.Proof{Code: codes[9]}, false, ""); err != nil {
			t.Errorf("a new recovery code: %v", err)
		}
		if n := mailedKind(w, string(u.Email), "mfa_recovery_renewed"); n != 1 {
			t.Errorf("%d mfa_recovery_renewed mails, want 1", n)
		}
	})
}
