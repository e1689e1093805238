package auth_test

import (
	"bytes"
	"encoding/base32"
	"errors"
	"image/png"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
)

var recoveryRE = regexp.MustCompile(`^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$`)

// TestTOTPEnrolment (R-X2): an authenticator app is enrolled with a QR code or
// the typed secret and confirmed by a first code; a wrong code is refused without
// counting towards the lock. The first factor brings ten single-use recovery
// codes; the secret is sealed at rest under a data key of its own; the member is
// mailed.
func TestTOTPEnrolment(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		m := w.Member(featuretest.NewMember{})
		a, _ := signIn(t, w, m, auth.Web)
		e, err := w.Auth.BeginTOTP(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.URL, "otpauth://totp/MedBox:") || !strings.Contains(e.URL, "secret="+strings.ReplaceAll(e.Secret, " ", "")) {
			t.Errorf("otpauth URL %q does not carry the secret %q", e.URL, e.Secret)
		}
		if img, err := png.Decode(bytes.NewReader(e.QR)); err != nil || img.Bounds().Dx() < 200 {
			t.Errorf("QR code is not a usable PNG: %v", err)
		}
		if f, _ := w.Auth.Factors(ctx, m); !f.TOTPPending || f.TOTP || f.Any() {
			t.Errorf("factors while the enrolment waits: %+v", f)
		}
		u := &totpUser{Member: m, secret: e.Secret}
		for range 6 {
			if _, err := w.Auth.ConfirmTOTP(ctx, a, u.code(t, w, 5*time.Minute)); !errors.Is(err, auth.ErrBadCode) {
				t.Fatalf("ConfirmTOTP(wrong code) = %v, want ErrBadCode", err)
			}
		}
		if until, _ := w.Auth.Locked(ctx, m.ID); !until.IsZero() {
			t.Error("wrong codes at enrolment locked the account")
		}
		recovery, err := w.Auth.ConfirmTOTP(ctx, a, " "+u.code(t, w, 0)[:3]+" "+u.code(t, w, 0)[3:])
		if err != nil {
			t.Fatalf("ConfirmTOTP() = %v", err)
		}
		seen := map[string]bool{}
		for _, c := range recovery {
			if !recoveryRE.MatchString(c) || seen[c] {
				t.Errorf("recovery code %q is malformed or repeated", c)
			}
			seen[c] = true
		}
		if len(seen) != 10 {
			t.Errorf("%d recovery codes, want 10", len(seen))
		}
		f, err := w.Auth.Factors(ctx, m)
		if err != nil || !f.TOTP || f.TOTPPending || f.RecoveryLeft != 10 || !f.TOTPSince.Equal(w.Clock.Now()) {
			t.Errorf("Factors() = %+v, %v; want an app since now and 10 recovery codes", f, err)
		}
		if n := mailedKind(w, string(m.Email), "mfa_totp_added"); n != 1 {
			t.Errorf("%d mfa_totp_added mails, want 1", n)
		}
		raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(e.Secret, " ", ""))
		var keyID string
		var sealed []byte
		if err := w.DB.QueryRowContext(ctx, `SELECT key_id, secret FROM mfa_totp WHERE member_id = $1 AND state = 'active'`, m.ID).Scan(&keyID, &sealed); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, raw[:8]) || bytes.Contains(sealed, []byte(strings.ReplaceAll(e.Secret, " ", "")[:8])) {
			t.Error("the stored TOTP secret holds the plaintext")
		}
		if n := count(t, w, `SELECT count(*) FROM seal_keys WHERE id = $1`, keyID); n != 1 {
			t.Errorf("the data key of the secret is in seal_keys %d times, want 1", n)
		}
		if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'auth.factor.add' AND target = $1`, m.ID); n != 1 {
			t.Errorf("%d auth.factor.add events, want 1", n)
		}
	})
}

// TestTOTPNewPhone: a second enrolment keeps the old app working until the new
// one is confirmed, then only the new one works; it brings no new recovery codes.
func TestTOTPNewPhone(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		old := withTOTP(t, w)
		token, _, err := w.Auth.CompleteSecondFactor(ctx, partial(t, w, old.Member), auth.Proof{Code: old.code(t, w, 0)}, false, "test")
		if err != nil {
			t.Fatal(err)
		}
		actor := authenticate(t, w, token, auth.Web)
		e, err := w.Auth.BeginTOTP(ctx, actor)
		if err != nil {
			t.Fatal(err)
		}
		w.Clock.Advance(30 * time.Second)
		if _, _, err := w.Auth.CompleteSecondFactor(ctx, partial(t, w, old.Member), auth.Proof{Code: old.code(t, w, 0)}, false, "test"); err != nil {
			t.Errorf("the old app while the new one waits: %v", err)
		}
		renewed := &totpUser{Member: old.Member, secret: e.Secret}
		w.Clock.Advance(30 * time.Second)
		recovery, err := w.Auth.ConfirmTOTP(ctx, actor, renewed.code(t, w, 0))
		if err != nil || recovery != nil {
			t.Fatalf("ConfirmTOTP(new phone) = %v, %v; want no new recovery codes", recovery, err)
		}
		w.Clock.Advance(30 * time.Second)
		if _, _, err := w.Auth.CompleteSecondFactor(ctx, partial(t, w, old.Member), auth.Proof{Code: old.code(t, w, 0)}, false, "test"); !errors.Is(err, auth.ErrBadCode) {
			t.Errorf("the old app after the new one is confirmed: %v, want ErrBadCode", err)
		}
		if _, _, err := w.Auth.CompleteSecondFactor(ctx, partial(t, w, old.Member), auth.Proof{Code: renewed.code(t, w, 0)}, false, "test"); err != nil {
			t.Errorf("the new app: %v", err)
		}
		if _, _, err := w.Auth.CompleteSecondFactor(ctx, partial(t, w, old.Member), auth.Proof{Code: old.recovery[0]}, false, "test"); err != nil {
			t.Errorf("a recovery code from the first enrolment: %v", err)
		}
	})
}

// TestSecondStep (R-X2): after the right password a member with an app gets a
// partial session that reaches nothing until a code completes it. A code is good
// for its 30-second step and one step either side, once, and never after a later
// step's; a recovery code is good once; spaces, hyphens, capitals and full-width
// digits are forgiven.
func TestSecondStep(t *testing.T) {
	t.Parallel()
	code := func(offset time.Duration) func(*testing.T, *featuretest.World, *totpUser) string {
		return func(t *testing.T, w *featuretest.World, u *totpUser) string { return u.code(t, w, offset) }
	}
	used := func(first, then func(*testing.T, *featuretest.World, *totpUser) string) func(*testing.T, *featuretest.World, *totpUser) string {
		return func(t *testing.T, w *featuretest.World, u *totpUser) string {
			if _, _, err := w.Auth.CompleteSecondFactor(t.Context(), partial(t, w, u.Member), auth.Proof{Code: first(t, w, u)}, false, "test"); err != nil {
				t.Fatalf("first use: %v", err)
			}
			return then(t, w, u)
		}
	}
	recovery := func(i int) func(*testing.T, *featuretest.World, *totpUser) string {
		return func(_ *testing.T, _ *featuretest.World, u *totpUser) string { return u.recovery[i] }
	}
	tests := []struct {
		name    string
		proof   func(t *testing.T, w *featuretest.World, u *totpUser) string
		wantErr error
	}{
		{"current code", code(0), nil},
		{"code of the step before", code(-30 * time.Second), nil},
		{"code of the step after", code(30 * time.Second), nil},
		{"code of two steps before", code(-65 * time.Second), auth.ErrBadCode},
		{"code of two steps after", code(65 * time.Second), auth.ErrBadCode},
		{"code used before", used(code(0), code(0)), auth.ErrBadCode},
		{"earlier step after a later one", used(code(0), code(-30*time.Second)), auth.ErrBadCode},
		{"code with spaces", func(t *testing.T, w *featuretest.World, u *totpUser) string {
			c := u.code(t, w, 0)
			return " " + c[:3] + " " + c[3:] + " "
		}, nil},
		{"code in full-width digits", func(t *testing.T, w *featuretest.World, u *totpUser) string {
			return strings.Map(func(r rune) rune { return r - '0' + '０' }, u.code(t, w, 0))
		}, nil},
		{"recovery code", recovery(3), nil},
		{"recovery code in capitals", func(_ *testing.T, _ *featuretest.World, u *totpUser) string {
			return strings.ToUpper(u.recovery[3])
		}, nil},
		{"recovery code without hyphens", func(_ *testing.T, _ *featuretest.World, u *totpUser) string {
			return strings.ReplaceAll(u.recovery[3], "-", "")
		}, nil},
		{"recovery code used before", used(recovery(3), recovery(3)), auth.ErrBadCode},
		{"another member's recovery code", func(t *testing.T, w *featuretest.World, _ *totpUser) string {
			return withTOTP(t, w).recovery[0]
		}, auth.ErrBadCode},
		{"nothing", func(*testing.T, *featuretest.World, *totpUser) string { return "" }, auth.ErrBadCode},
		{"letters", func(*testing.T, *featuretest.World, *totpUser) string { return "abcdef" }, auth.ErrBadCode},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				u := withTOTP(t, w)
				proof := tt.proof(t, w, u)
				p, partialToken := partialToken(t, w, u.Member)
				if ok, _ := w.Auth.Recent(ctx, p); ok {
					t.Error("a partial session counts as a recent authentication")
				}
				token, _, err := w.Auth.CompleteSecondFactor(ctx, p, auth.Proof{Code: proof}, false, "test")
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("CompleteSecondFactor(%q) = %v, want %v", proof, err, tt.wantErr)
				}
				_, err = w.Auth.Authenticate(ctx, partialToken, auth.Web, "")
				var pe *auth.PartialError
				if tt.wantErr != nil {
					if !errors.As(err, &pe) {
						t.Errorf("the partial session after a refused proof: %v, want it still partial", err)
					}
					return
				}
				if !errors.Is(err, auth.ErrNoSession) {
					t.Errorf("the partial session's token after the second factor: %v, want ErrNoSession", err)
				}
				if ok, _ := w.Auth.Recent(ctx, authenticate(t, w, token, auth.Web)); !ok {
					t.Error("the completed sign-in does not count as recent")
				}
			})
		}
	})
}

// TestAPISignInWithCode: an API client of a member with a second factor gives
// the code with the password and gets no token without a valid one.
func TestAPISignInWithCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		code    func(t *testing.T, w *featuretest.World, u *totpUser) string
		wantErr error
	}{
		{"no code", func(*testing.T, *featuretest.World, *totpUser) string { return "" }, auth.ErrSecondFactorRequired},
		{"wrong code", func(t *testing.T, w *featuretest.World, u *totpUser) string { return u.code(t, w, 5*time.Minute) }, auth.ErrBadCredentials},
		{"right code", func(t *testing.T, w *featuretest.World, u *totpUser) string { return u.code(t, w, 0) }, nil},
		{"code used before", func(t *testing.T, w *featuretest.World, u *totpUser) string {
			c := u.code(t, w, 0)
			if _, _, _, err := w.Auth.SignInWith(t.Context(), auth.Attempt{Email: string(u.Email), Password: pw, Code: c, Kind: auth.API}); err != nil {
				t.Fatal(err)
			}
			return c
		}, auth.ErrBadCredentials},
		{"recovery code", func(_ *testing.T, _ *featuretest.World, u *totpUser) string { return u.recovery[5] }, nil},
		{"remembered device is for browsers", func(t *testing.T, w *featuretest.World, u *totpUser) string {
			_, device, err := w.Auth.CompleteSecondFactor(t.Context(), partial(t, w, u.Member), auth.Proof{Code: u.code(t, w, 0)}, true, "test")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := w.Auth.SignInWith(t.Context(), auth.Attempt{Email: string(u.Email), Password: pw, Device: device, Kind: auth.API}); !errors.Is(err, auth.ErrSecondFactorRequired) {
				t.Errorf("API sign-in with a remembered device: %v, want ErrSecondFactorRequired", err)
			}
			return u.recovery[1]
		}, nil},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := withTOTP(t, w)
				token, _, need, err := w.Auth.SignInWith(t.Context(), auth.Attempt{Email: string(u.Email), Password: pw, Code: tt.code(t, w, u),
					Addr: newAddr(), Kind: auth.API})
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("SignInWith() = %v, want %v", err, tt.wantErr)
				}
				if err != nil {
					if token != "" {
						t.Error("a refused sign-in got a token")
					}
					return
				}
				if need != auth.NeedNothing {
					t.Errorf("API sign-in owes %q", need)
				}
				authenticate(t, w, token, auth.API)
			})
		}
	})
}

// TestSecondFactorFailuresLock (R-X2): wrong codes count towards the account lock
// like wrong passwords — the right password in between does not wipe them out.
// At the fifth, the partial session ends and even the right code and password
// are refused until the lock lifts; through the API the same.
func TestSecondFactorFailuresLock(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		u := withTOTP(t, w)
		wrong := auth.Proof{Code: u.code(t, w, 5*time.Minute)}
		p, first := partialToken(t, w, u.Member)
		for i := range 4 {
			if _, _, err := w.Auth.CompleteSecondFactor(ctx, p, wrong, false, "test"); !errors.Is(err, auth.ErrBadCode) {
				t.Fatalf("wrong code %d: %v, want ErrBadCode", i+1, err)
			}
		}
		second, secondToken := partialToken(t, w, u.Member) // a right password in between
		if _, _, err := w.Auth.CompleteSecondFactor(ctx, second, wrong, false, "test"); !errors.Is(err, auth.ErrTooManyAttempts) {
			t.Fatalf("fifth wrong code: %v, want ErrTooManyAttempts", err)
		}
		if _, err := w.Auth.Authenticate(ctx, secondToken, auth.Web, ""); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("the partial session after the lock: %v, want ErrNoSession", err)
		}
		if _, err := w.Auth.Authenticate(ctx, first, auth.Web, ""); err == nil {
			t.Error("the first partial session is a full one")
		}
		if _, _, err := w.Auth.CompleteSecondFactor(ctx, p, auth.Proof{Code: u.code(t, w, 0)}, false, "test"); !errors.Is(err, auth.ErrTooManyAttempts) {
			t.Errorf("right code on the locked account: %v, want ErrTooManyAttempts", err)
		}
		if _, _, _, err := w.Auth.SignInWith(ctx, attempt(u.Member, pw, newAddr(), auth.Web)); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("right password on the locked account: %v, want ErrBadCredentials", err)
		}
		if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'auth.lock' AND target = $1`, u.ID); n != 1 {
			t.Errorf("%d auth.lock events, want 1", n)
		}
		// Through the API, after the lock lifts: five wrong codes lock it again, for twice as long.
		w.Clock.Advance(15 * time.Minute)
		for i := range 5 {
			at := auth.Attempt{Email: string(u.Email), Password: pw, Code: u.code(t, w, 5*time.Minute), Addr: newAddr(), Kind: auth.API}
			if _, _, _, err := w.Auth.SignInWith(ctx, at); !errors.Is(err, auth.ErrBadCredentials) {
				t.Fatalf("API wrong code %d: %v, want ErrBadCredentials", i+1, err)
			}
		}
		if until, _ := w.Auth.Locked(ctx, u.ID); !until.Equal(w.Clock.Now().Add(30 * time.Minute)) {
			t.Errorf("locked until %v, want 30 minutes from now", until)
		}
		if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'auth.second_factor' AND target = $1 AND result = 'failed'`, u.ID); n != 10 {
			t.Errorf("%d failed auth.second_factor events, want 10", n)
		}
		if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'auth.second_factor' AND detail LIKE $1`, "%"+wrong.Code+"%"); n != 0 {
			t.Error("the audit log holds a code")
		}
	})
}
