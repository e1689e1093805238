package featuretest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
)

// SignIn signs the account with address email in with Password and code (a
// TOTP or recovery code, or ""), as a browser (auth.Web) or a script (auth.API).
// It returns the session token and what the session still owes.
func (w *World) SignIn(email string, kind auth.Kind, code string) (string, auth.Need) {
	w.T.Helper()
	token, _, need, err := w.Auth.SignInWith(context.Background(), auth.Attempt{Email: email, Password: Password, Code: code,
		Addr: Addr, UserAgent: "featuretest", Kind: kind})
	if err != nil {
		w.T.Fatalf("sign in as %s: %v", email, err)
	}
	return token, need
}

// EnrolTOTP enrols an authenticator app for the account with address email and
// returns its secret. The clock then moves on by a TOTP period, so that the
// next code is not the one that confirmed the enrolment.
func (w *World) EnrolTOTP(email string) string {
	w.T.Helper()
	secret, _ := w.enrolTOTP(email)
	w.Clock.Advance(30 * time.Second)
	return secret
}

// adminKeys is what the World's administrator keeps of their second factor.
type adminKeys struct {
	mu       sync.Mutex
	secret   string   // their authenticator app's; "" until AdminSignIn enrols one
	recovery []string // their unused recovery codes
}

// AdminSignIn signs the World's administrator in as kind, with a second factor
// as every administrator needs, and returns the session token. The first call
// enrols an authenticator app for them. Each sign-in spends one of their
// recovery codes (ten more are made when they run out): a test's clock stands
// still, and an authenticator's code is accepted once per 30-second step.
func (w *World) AdminSignIn(kind auth.Kind) string {
	w.T.Helper()
	admin := w.Admin()
	k := w.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.secret == "" {
		k.secret, k.recovery = w.enrolTOTP(string(admin.Email))
	}
	code := k.recovery[0]
	k.recovery = k.recovery[1:]
	token, need := w.SignIn(string(admin.Email), kind, code)
	if need != auth.NeedNothing {
		w.T.Fatalf("administrator's sign-in with a recovery code still needs %q", need)
	}
	if len(k.recovery) == 0 {
		actor, err := w.Auth.Authenticate(context.Background(), token, kind, Addr)
		if err == nil {
			k.recovery, err = w.Auth.NewRecoveryCodes(context.Background(), actor)
		}
		if err != nil {
			w.T.Fatalf("new recovery codes for the administrator: %v", err)
		}
	}
	return token
}

// enrolTOTP enrols an authenticator app for the account with address email and
// returns its secret and recovery codes.
func (w *World) enrolTOTP(email string) (string, []string) {
	w.T.Helper()
	ctx := context.Background()
	token, _ := w.SignIn(email, auth.Web, "")
	actor, err := w.Auth.Authenticate(ctx, token, auth.Web, Addr)
	var partial *auth.PartialError
	if errors.As(err, &partial) {
		actor, err = partial.Actor, nil
	}
	if err != nil {
		w.T.Fatalf("session of %s: %v", email, err)
	}
	e, err := w.Auth.BeginTOTP(ctx, actor)
	if err != nil {
		w.T.Fatalf("begin TOTP for %s: %v", email, err)
	}
	recovery, err := w.Auth.ConfirmTOTP(ctx, actor, w.TOTP(e.Secret))
	if err != nil {
		w.T.Fatalf("confirm TOTP for %s: %v", email, err)
	}
	return e.Secret, recovery
}

// TOTP returns the code an authenticator app with secret shows now.
func (w *World) TOTP(secret string) string {
	w.T.Helper()
	code, err := auth.TOTPCode(secret, w.Clock.Now())
	if err != nil {
		w.T.Fatal(err)
	}
	return code
}
