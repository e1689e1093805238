package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/member"
)

// Re-authentication (R-X8): a sensitive change needs the password, and the
// second factor if the member has one, given within auth.ReauthWindow. The route
// table wraps such handlers in recent; without a recent authentication the
// browser is sent to /reauth, which asks again and returns to the page the form
// was on.

// recent wraps h so that it runs only after a recent authentication. back is the
// page to return to after /reauth (a form cannot be replayed by a redirect); a
// {name} in it is filled from the request's path values.
func (s *Server) recent(back string, h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		ok, err := s.auth.Recent(r.Context(), ActorFrom(r))
		if err != nil {
			return err
		}
		if ok {
			return h(w, r)
		}
		page := back
		for {
			i := strings.IndexByte(page, '{')
			j := strings.IndexByte(page, '}')
			if i < 0 || j < i {
				break
			}
			page = page[:i] + url.PathEscape(r.PathValue(page[i+1:j])) + page[j+1:]
		}
		if r.Method == http.MethodGet {
			page = r.URL.RequestURI()
		}
		return redirect(w, r, "/reauth?next="+url.QueryEscape(page))
	}
}

type reauthPage struct {
	basePage
	Next       string
	Error      string // message id
	NeedFactor bool
	Passkey    template.JS // options for navigator.credentials.get, or empty
}

func (s *Server) reauthPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderReauth(w, r, http.StatusOK, r.URL.Query().Get("next"), "")
}

func (s *Server) renderReauth(w http.ResponseWriter, r *http.Request, status int, next, msg string) error {
	a := ActorFrom(r)
	p := reauthPage{basePage: s.basePartial(r, "mfa.reauth.title"), Next: localPath(next, "/settings"), Error: msg}
	var err error
	if p.NeedFactor, err = s.auth.ReauthNeedsFactor(r.Context(), a, auth.DeviceCookie(r)); err != nil {
		return err
	}
	if p.NeedFactor {
		opts, err := s.auth.BeginPasskeyLogin(r.Context(), a)
		if err != nil {
			return err
		}
		p.Passkey = template.JS(opts) // #nosec G203 -- json.Marshal output (escapes <, > and &) inside <script type=application/json>
	}
	return s.render(w, r, status, "reauth", p)
}

func (s *Server) reauth(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	next := r.PostFormValue("next")
	err := s.auth.Reauthenticate(r.Context(), ActorFrom(r), r.PostFormValue("password"), proofFrom(r), auth.DeviceCookie(r))
	switch {
	case errors.Is(err, member.ErrBadPassword):
		return s.renderReauth(w, r, http.StatusUnauthorized, next, "mfa.err.bad_password")
	case errors.Is(err, auth.ErrBadCode):
		return s.renderReauth(w, r, http.StatusUnauthorized, next, "mfa.err.bad_code")
	case errors.Is(err, auth.ErrTooManyAttempts):
		return s.renderReauth(w, r, http.StatusTooManyRequests, next, "mfa.err.locked")
	case err != nil:
		return err
	}
	return redirect(w, r, localPath(next, "/settings"))
}
