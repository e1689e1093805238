package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/member"
)

// home sends each kind of visitor where they belong.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	a := ActorFrom(r)
	switch {
	case a == nil:
		return s.render(w, r, http.StatusOK, "home", s.base(r, "home.title"))
	case a.Member.IsAdmin():
		return redirect(w, r, "/admin/members?status=pending")
	case a.Member.CanExchange():
		return redirect(w, r, "/boxes")
	default:
		return redirect(w, r, "/pending")
	}
}

// setLang stores the chosen language in a cookie and returns to the page.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) error {
	l := i18n.Parse(r.PathValue("lang"))
	s.setCookie(w, "lang", string(l), 365*24*3600)
	return redirect(w, r, localPath(r.URL.Query().Get("next"), "/"))
}

type loginPage struct {
	basePage
	Email    string
	Next     string
	Error    string // message id
	Passkeys bool   // offer the passwordless sign-in
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	if ActorFrom(r) != nil {
		return redirect(w, r, localPath(r.URL.Query().Get("next"), "/"))
	}
	return s.render(w, r, http.StatusOK, "login", loginPage{basePage: s.base(r, "login.title"), Next: r.URL.Query().Get("next"),
		Passkeys: s.auth.PasskeysAvailable()})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	email, next := r.PostFormValue("email"), r.PostFormValue("next")
	token, _, need, err := s.auth.SignInWith(r.Context(), auth.Attempt{Email: email, Password: r.PostFormValue("password"),
		Device: auth.DeviceCookie(r), Addr: auth.Addr(r.Context()), UserAgent: r.UserAgent(), Kind: auth.Web})
	p := loginPage{basePage: s.base(r, "login.title"), Email: email, Next: next, Passkeys: s.auth.PasskeysAvailable()}
	var te *auth.ThrottledError
	switch {
	case err == nil:
		s.setSessionCookie(w, token)
		switch need {
		case auth.NeedSecondFactor:
			return redirect(w, r, "/login/2fa?next="+url.QueryEscape(localPath(next, "/")))
		case auth.NeedEnrolment:
			return redirect(w, r, "/settings/2fa")
		}
		return redirect(w, r, localPath(next, "/"))
	case errors.Is(err, auth.ErrBadCredentials):
		p.Error = "err.bad_credentials"
		return s.render(w, r, http.StatusUnauthorized, "login", p)
	case errors.Is(err, auth.ErrSuspended):
		p.Error = "err.suspended"
		return s.render(w, r, http.StatusForbidden, "login", p)
	case errors.Is(err, auth.ErrNewPassword):
		p.Error = "err.new_password_required"
		return s.render(w, r, http.StatusForbidden, "login", p)
	case errors.As(err, &te):
		p.Error = "err.throttled"
		w.Header().Set("Retry-After", retryAfter(te.RetryAfter))
		return s.render(w, r, http.StatusTooManyRequests, "login", p)
	default:
		return err
	}
}

func retryAfter(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second)+1, 10)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.auth.SignOut(r.Context(), ActorFrom(r)); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	return redirect(w, r, "/login?done=signed_out")
}

func (s *Server) cookieName() string {
	if s.secure {
		return auth.SecureCookieName
	}
	return auth.CookieName
}

// setCookie sets (maxAge > 0: for that many seconds; 0: for the browser session)
// or, with maxAge < 0, deletes a cookie of this site: always HttpOnly and
// SameSite=Lax, and Secure whenever the base URL is https.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, // #nosec G124 -- Secure follows the base URL's scheme (https); HttpOnly and SameSite=Lax are always set
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) setSessionCookie(w http.ResponseWriter, token string) {
	s.setCookie(w, s.cookieName(), token, 0)
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	s.setCookie(w, s.cookieName(), "", -1)
}

type resetPage struct {
	basePage
	Token  string // set on the "choose a new password" step
	Sent   bool
	Errors member.FieldErrors
}

// resetPage asks for an address, or, with a token from a mailed link, for a new
// password. Opening the link changes nothing; only the form's POST does, so mail
// scanners that follow links cannot use it up.
func (s *Server) resetPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if token != "" && !s.members.ResetLinkValid(r.Context(), token) {
		return member.ErrBadToken
	}
	return s.render(w, r, http.StatusOK, "reset", resetPage{basePage: s.base(r, "reset.title"), Token: token})
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if err := s.members.RequestReset(r.Context(), r.PostFormValue("email"), auth.Addr(r.Context())); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "reset", resetPage{basePage: s.base(r, "reset.title"), Sent: true})
}

func (s *Server) resetNew(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	token := r.PostFormValue("token")
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		return s.render(w, r, http.StatusBadRequest, "reset", resetPage{basePage: s.base(r, "reset.title"), Token: token,
			Errors: member.FieldErrors{"password2": "password_mismatch"}})
	}
	err := s.auth.ResetPassword(r.Context(), token, pw, auth.Addr(r.Context()))
	var fe member.FieldErrors
	if errors.As(err, &fe) {
		return s.render(w, r, http.StatusBadRequest, "reset", resetPage{basePage: s.base(r, "reset.title"), Token: token, Errors: fe})
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/login?done=password_reset")
}

type setupPage struct {
	basePage
	Token  string
	Email  string
	Name   string
	Errors member.FieldErrors
}

func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if !s.members.SetupLinkValid(r.Context(), token) {
		return member.ErrBadToken
	}
	return s.render(w, r, http.StatusOK, "setup", setupPage{basePage: s.base(r, "setup.title"), Token: token})
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	p := setupPage{basePage: s.base(r, "setup.title"), Token: r.PostFormValue("token"),
		Email: r.PostFormValue("email"), Name: r.PostFormValue("name")}
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		p.Errors = member.FieldErrors{"password2": "password_mismatch"}
		return s.render(w, r, http.StatusBadRequest, "setup", p)
	}
	_, err := s.members.CompleteSetup(r.Context(), p.Token, member.NewAdmin{Email: p.Email, Password: r.PostFormValue("password"),
		Name: p.Name, Lang: string(p.Lang)}, auth.Addr(r.Context()))
	if errors.As(err, &p.Errors) {
		return s.render(w, r, http.StatusBadRequest, "setup", p)
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/login?done=admin_created")
}

// parseForm reads a urlencoded form of bounded size.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return errBadForm
	}
	return nil
}
