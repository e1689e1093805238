package featuretest

import (
	"context"
	"errors"
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
	if _, err := w.Auth.ConfirmTOTP(ctx, actor, w.TOTP(e.Secret)); err != nil {
		w.T.Fatalf("confirm TOTP for %s: %v", email, err)
	}
	w.Clock.Advance(30 * time.Second)
	return e.Secret
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
