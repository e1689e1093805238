package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/guard"
)

// The second step of signing in (R-X2): a session that has passed the password
// and owes its second factor reaches only /login/2fa and sign-out; one whose
// member must enrol a factor first reaches only the enrolment pages.

type owesKey struct{}

// owes returns what the partial session of r still owes, or auth.NeedNothing.
func owes(r *http.Request) auth.Need {
	n, _ := r.Context().Value(owesKey{}).(auth.Need)
	return n
}

// owed sends a partial session to the step it owes: a page view is redirected,
// anything else is refused as if signed out.
func (s *Server) owed(w http.ResponseWriter, r *http.Request, need auth.Need) error {
	if r.Method != http.MethodGet {
		return guard.ErrUnauthorized
	}
	if need == auth.NeedEnrolment {
		return redirect(w, r, "/settings/2fa")
	}
	return redirect(w, r, "/login/2fa?next="+url.QueryEscape(r.URL.RequestURI()))
}

// basePartial is the frame of a page a partial session sees: its navigation is
// that of a stranger, since nothing else is open to it yet.
func (s *Server) basePartial(r *http.Request, title string) basePage {
	b := s.base(r, title)
	if owes(r) != auth.NeedNothing {
		b.Actor = nil
	}
	return b
}

type secondFactorPage struct {
	basePage
	Next     string
	Error    string      // message id
	Passkey  template.JS // options for navigator.credentials.get, or empty
	Remember bool
}

func (s *Server) secondFactorPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderSecondFactor(w, r, http.StatusOK, r.URL.Query().Get("next"), "")
}

func (s *Server) renderSecondFactor(w http.ResponseWriter, r *http.Request, status int, next, msg string) error {
	switch owes(r) {
	case auth.NeedNothing:
		return redirect(w, r, localPath(next, "/"))
	case auth.NeedEnrolment:
		return redirect(w, r, "/settings/2fa")
	}
	p := secondFactorPage{basePage: s.basePartial(r, "mfa.verify.title"), Next: next, Error: msg,
		Remember: r.PostFormValue("remember") == "on"}
	opts, err := s.auth.BeginPasskeyLogin(r.Context(), ActorFrom(r))
	if err != nil {
		return err
	}
	p.Passkey = template.JS(opts) // #nosec G203 -- json.Marshal output (escapes <, > and &) inside <script type=application/json>
	return s.render(w, r, status, "mfa_verify", p)
}

// secondFactor takes a TOTP code, a recovery code or a passkey assertion and, if
// it holds, turns the partial session into a full one under a new cookie.
func (s *Server) secondFactor(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	next := r.PostFormValue("next")
	if owes(r) != auth.NeedSecondFactor {
		return s.renderSecondFactor(w, r, http.StatusOK, next, "")
	}
	proof := proofFrom(r)
	remember := r.PostFormValue("remember") == "on"
	token, device, err := s.auth.CompleteSecondFactor(r.Context(), ActorFrom(r), proof, remember, r.UserAgent())
	switch {
	case errors.Is(err, auth.ErrBadCode):
		return s.renderSecondFactor(w, r, http.StatusUnauthorized, next, "mfa.err.bad_code")
	case errors.Is(err, auth.ErrTooManyAttempts):
		s.clearSessionCookie(w)
		return s.render(w, r, http.StatusUnauthorized, "login", loginPage{basePage: s.basePartial(r, "login.title"), Error: "mfa.err.too_many"})
	case err != nil:
		return err
	}
	s.setSessionCookie(w, token)
	if device != "" {
		s.setDeviceCookie(w, device)
	}
	return redirect(w, r, localPath(next, "/"))
}

// proofFrom reads a second factor from a form: a typed code, or the passkey
// assertion passkey.js put in a hidden field.
func proofFrom(r *http.Request) auth.Proof {
	p := auth.Proof{Code: strings.TrimSpace(r.PostFormValue("code"))}
	if pk := r.PostFormValue("passkey"); pk != "" {
		p.Passkey = []byte(pk)
	}
	return p
}

func (s *Server) deviceCookieName() string {
	if s.secure {
		return auth.SecureDeviceCookieName
	}
	return auth.DeviceCookieName
}

// setDeviceCookie keeps a remembered device's token for auth.DeviceLifetime.
func (s *Server) setDeviceCookie(w http.ResponseWriter, token string) {
	s.setCookie(w, s.deviceCookieName(), token, int(auth.DeviceLifetime.Seconds()))
}
