package web

import (
	"errors"
	"net/http"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/guard"
)

// passkeyTicket is the cookie that binds a browser to its passwordless ceremony
// between asking for the options and answering them.
const passkeyTicket = "medbox_passkey"

// passkeyOptions starts a passwordless sign-in (auth.BeginPasswordless): the
// options for navigator.credentials.get as JSON, and the ticket in a five-minute
// cookie. passkey.js asks for them when the member taps パスキーでログイン.
func (s *Server) passkeyOptions(w http.ResponseWriter, r *http.Request) error {
	options, ticket, err := s.auth.BeginPasswordless(r.Context())
	if errors.Is(err, auth.ErrNoPasskeys) {
		return guard.ErrNotFound
	}
	if err != nil {
		return err
	}
	s.setCookie(w, passkeyTicket, ticket, 300)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err = w.Write(options)
	return err
}

// passkeySignIn finishes it: a whole session, as after a password and a second
// factor, or the sign-in page again with one message for every failure.
func (s *Server) passkeySignIn(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	ticket := ""
	if c, err := r.Cookie(passkeyTicket); err == nil {
		ticket = c.Value
	}
	s.setCookie(w, passkeyTicket, "", -1)
	next := r.PostFormValue("next")
	token, _, err := s.auth.SignInWithPasskey(r.Context(), ticket, []byte(r.PostFormValue("passkey")),
		auth.Attempt{Addr: auth.Addr(r.Context()), UserAgent: r.UserAgent(), Kind: auth.Web})
	p := loginPage{basePage: s.base(r, "login.title"), Next: next, Passkeys: s.auth.PasskeysAvailable()}
	switch {
	case errors.Is(err, auth.ErrNoPasskeys):
		return guard.ErrNotFound
	case err == nil:
		s.setSessionCookie(w, token)
		return redirect(w, r, localPath(next, "/"))
	case errors.Is(err, auth.ErrSuspended):
		p.Error = "err.suspended"
		return s.render(w, r, http.StatusForbidden, "login", p)
	case errors.Is(err, auth.ErrNewPassword):
		p.Error = "err.new_password_required"
		return s.render(w, r, http.StatusForbidden, "login", p)
	case errors.Is(err, auth.ErrPasskeyRefused):
		p.Error = "err.passkey_signin"
		return s.render(w, r, http.StatusUnauthorized, "login", p)
	default:
		return err
	}
}
