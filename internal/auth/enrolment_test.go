package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestEnrolmentOwed (R-X2): an administrator, and every member under
// MEDBOX_REQUIRE_2FA, must enrol a factor before anything else: the session they
// sign in to is partial, owing the enrolment, until they do. Their last factor
// cannot be removed.
func TestEnrolmentOwed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		who      func(t *testing.T, w *featuretest.World) *member.Member
		wantNeed auth.Need
	}{
		{"administrator", nil, func(_ *testing.T, w *featuretest.World) *member.Member { return w.Admin() }, auth.NeedEnrolment},
		{"member", nil, func(_ *testing.T, w *featuretest.World) *member.Member { return w.Member(featuretest.NewMember{}) }, auth.NeedNothing},
		{"member under MEDBOX_REQUIRE_2FA", map[string]string{"MEDBOX_REQUIRE_2FA": "true"},
			func(_ *testing.T, w *featuretest.World) *member.Member { return w.Member(featuretest.NewMember{}) }, auth.NeedEnrolment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			featuretest.Each(t, featuretest.Options{Env: tt.env}, func(t *testing.T, w *featuretest.World) {
				ctx := t.Context()
				m := tt.who(t, w)
				for _, kind := range []auth.Kind{auth.API, auth.Web} { // the API first: after the web enrols, it owes a code
					token, _, need, err := w.Auth.SignInWith(ctx, attempt(m, pw, newAddr(), kind))
					if err != nil || need != tt.wantNeed {
						t.Fatalf("%s sign-in = %q, %v; want %q", kind, need, err, tt.wantNeed)
					}
					a, err := w.Auth.Authenticate(ctx, token, kind, "")
					var pe *auth.PartialError
					switch {
					case tt.wantNeed == auth.NeedNothing && err != nil:
						t.Fatalf("%s session: %v", kind, err)
					case tt.wantNeed == auth.NeedNothing:
						continue
					case !errors.As(err, &pe) || pe.Need != auth.NeedEnrolment || a != nil:
						t.Fatalf("%s session before enrolment: %v, %v; want only a PartialError owing the enrolment", kind, a, err)
					}
					if kind == auth.API {
						continue
					}
					if ok, _ := w.Auth.Recent(ctx, pe.Actor); !ok {
						t.Error("the password just given does not count as recent for the enrolment")
					}
					u := enrol(t, w, pe.Actor) // through the partial session, as the enrolment pages do
					if _, err := w.Auth.Authenticate(ctx, token, kind, ""); err != nil {
						t.Errorf("the same session after enrolment: %v", err)
					}
					if f, _ := w.Auth.Factors(ctx, m); !f.Required {
						t.Errorf("Factors().Required = false")
					}
					if err := w.Auth.RemoveTOTP(ctx, pe.Actor); !errors.Is(err, auth.ErrLastFactor) {
						t.Errorf("RemoveTOTP(last factor) = %v, want ErrLastFactor", err)
					}
					w.Clock.Advance(time.Minute)
					if _, _, need, err := w.Auth.SignInWith(ctx, auth.Attempt{Email: string(m.Email), Password: pw, Code: u.code(t, w, 0), Kind: auth.API}); err != nil || need != auth.NeedNothing {
						t.Errorf("API sign-in with a code after enrolment: %q, %v", need, err)
					}
				}
			})
		})
	}
}

// TestResetFactors (R-X4): for a member who lost their phone, an administrator
// removes every factor with the data key of the secret, ends every session and
// demands a new password; the member is mailed and, with a new password, signs
// in to enrol again. No one else may.
func TestResetFactors(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{Env: map[string]string{"MEDBOX_REQUIRE_2FA": "true"}}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		m := w.Member(featuretest.NewMember{})
		token, _, _, err := w.Auth.SignInWith(ctx, attempt(m, pw, "", auth.Web))
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.Auth.Authenticate(ctx, token, auth.Web, "")
		var pe *auth.PartialError
		if !errors.As(err, &pe) {
			t.Fatalf("Authenticate() = %v, want a PartialError", err)
		}
		enrol(t, w, pe.Actor)
		var keyID string
		if err := w.DB.QueryRowContext(ctx, `SELECT key_id FROM mfa_totp WHERE member_id = $1`, m.ID).Scan(&keyID); err != nil {
			t.Fatal(err)
		}
		other := &auth.Actor{Member: w.Member(featuretest.NewMember{})}
		if err := w.Auth.ResetFactors(ctx, other, m.ID); !errors.Is(err, member.ErrNotFound) {
			t.Errorf("ResetFactors() by a member = %v, want ErrNotFound", err)
		}
		if err := w.Auth.ResetFactors(ctx, &auth.Actor{Member: w.Admin(), Addr: "192.0.2.9"}, m.ID); err != nil {
			t.Fatalf("ResetFactors() = %v", err)
		}
		for _, table := range []string{"mfa_totp", "mfa_recovery", "remembered_devices", "sessions"} {
			if n := count(t, w, `SELECT count(*) FROM `+table+` WHERE member_id = $1`, m.ID); n != 0 {
				t.Errorf("%d rows left in %s", n, table)
			}
		}
		if n := count(t, w, `SELECT count(*) FROM seal_keys WHERE id = $1`, keyID); n != 0 {
			t.Error("the data key of the secret is left")
		}
		if n := mailedKind(w, string(m.Email), "mfa_reset"); n != 1 {
			t.Errorf("%d mfa_reset mails, want 1", n)
		}
		if _, _, _, err := w.Auth.SignInWith(ctx, attempt(m, pw, "", auth.Web)); !errors.Is(err, auth.ErrNewPassword) {
			t.Fatalf("old password: %v, want ErrNewPassword", err)
		}
		if err := w.Auth.ResetPassword(ctx, w.LinkToken(string(m.Email), "/reset?token="), "after the loss 2026", ""); err != nil {
			t.Fatal(err)
		}
		if _, _, need, err := w.Auth.SignInWith(ctx, auth.Attempt{Email: string(m.Email), Password: "after the loss 2026", Kind: auth.Web}); err != nil || need != auth.NeedEnrolment {
			t.Errorf("sign-in with the new password: %q, %v; want the enrolment owed", need, err)
		}
		if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'auth.factor.reset' AND target = $1`, m.ID); n != 1 {
			t.Errorf("%d auth.factor.reset events, want 1", n)
		}
	})
}
