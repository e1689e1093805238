package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/medbox-jp/medbox/internal/auth"
)

// 設定 → 二段階認証: enrol an authenticator app (a QR code and the secret in
// text, confirmed with a first code), add and remove passkeys, renew recovery
// codes (shown once), and forget remembered devices. Every page and change here
// needs a recent authentication.

type factorsPage struct {
	basePage
	Factors           *auth.Factors
	PasskeysAvailable bool
	Register          template.JS // options for navigator.credentials.create, or empty
	Error             string      // message id
}

func (s *Server) factorsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderFactors(w, r, http.StatusOK, "")
}

func (s *Server) renderFactors(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	a := ActorFrom(r)
	f, err := s.auth.Factors(r.Context(), a.Member)
	if err != nil {
		return err
	}
	p := factorsPage{basePage: s.basePartial(r, "mfa.settings.title"), Factors: f, PasskeysAvailable: s.auth.PasskeysAvailable(), Error: msg}
	if p.PasskeysAvailable {
		opts, err := s.auth.BeginPasskeyRegistration(r.Context(), a)
		if err != nil {
			return err
		}
		p.Register = template.JS(opts) // #nosec G203 -- json.Marshal output (escapes <, > and &) inside <script type=application/json>
	}
	return s.render(w, r, status, "mfa_settings", p)
}

func (s *Server) beginTOTP(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.auth.BeginTOTP(r.Context(), ActorFrom(r)); err != nil {
		return err
	}
	return redirect(w, r, "/settings/2fa/totp")
}

type totpPage struct {
	basePage
	Secret string
	QR     template.URL // data: URL of the PNG
	Link   template.URL // otpauth:// link, for an app on the same phone
	Error  string       // message id
}

func (s *Server) totpPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderTOTP(w, r, http.StatusOK, "")
}

func (s *Server) renderTOTP(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	e, err := s.auth.PendingTOTP(r.Context(), ActorFrom(r))
	if errors.Is(err, auth.ErrNoEnrolment) {
		return redirect(w, r, "/settings/2fa")
	}
	if err != nil {
		return err
	}
	return s.render(w, r, status, "mfa_totp", totpPage{basePage: s.basePartial(r, "mfa.totp.title"), Secret: e.Secret,
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QR)), Link: template.URL(e.URL), Error: msg}) // #nosec G203 -- a data: URL of our own PNG and the TOTP library's otpauth: URL (needs template.URL for its scheme; still attribute-escaped)
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	codes, err := s.auth.ConfirmTOTP(r.Context(), ActorFrom(r), r.PostFormValue("code"))
	switch {
	case errors.Is(err, auth.ErrBadCode):
		return s.renderTOTP(w, r, http.StatusBadRequest, "mfa.err.bad_code")
	case errors.Is(err, auth.ErrNoEnrolment):
		return redirect(w, r, "/settings/2fa")
	case err != nil:
		return err
	}
	return s.showRecovery(w, r, codes, "totp_added")
}

type recoveryPage struct {
	basePage
	Codes []string
	Next  string
}

// showRecovery shows new recovery codes, once; without any, it returns to the
// factors page with the notice done.
func (s *Server) showRecovery(w http.ResponseWriter, r *http.Request, codes []string, done string) error {
	if len(codes) == 0 {
		return redirect(w, r, "/settings/2fa?done="+done)
	}
	p := recoveryPage{basePage: s.base(r, "mfa.recovery.title"), Codes: codes, Next: "/settings/2fa?done=" + done}
	if owes(r) == auth.NeedEnrolment {
		p.Next = "/" // the enrolment that was owed is done: on to the service
	}
	return s.render(w, r, http.StatusOK, "mfa_recovery", p)
}

func (s *Server) removeTOTP(w http.ResponseWriter, r *http.Request) error {
	err := s.auth.RemoveTOTP(r.Context(), ActorFrom(r))
	if errors.Is(err, auth.ErrLastFactor) {
		return s.renderFactors(w, r, http.StatusConflict, "mfa.err.last_factor")
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/settings/2fa?done=totp_removed")
}

func (s *Server) addPasskey(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	codes, err := s.auth.FinishPasskeyRegistration(r.Context(), ActorFrom(r), r.PostFormValue("name"), []byte(r.PostFormValue("credential")))
	switch {
	case errors.Is(err, auth.ErrBadCode):
		return s.renderFactors(w, r, http.StatusBadRequest, "mfa.err.passkey_failed")
	case errors.Is(err, auth.ErrNoPasskeys):
		return s.renderFactors(w, r, http.StatusBadRequest, "mfa.settings.passkeys_unavailable")
	case err != nil:
		return err
	}
	return s.showRecovery(w, r, codes, "passkey_added")
}

func (s *Server) removePasskey(w http.ResponseWriter, r *http.Request) error {
	err := s.auth.RemovePasskey(r.Context(), ActorFrom(r), r.PathValue("passkey"))
	if errors.Is(err, auth.ErrLastFactor) {
		return s.renderFactors(w, r, http.StatusConflict, "mfa.err.last_factor")
	}
	if err != nil {
		return err // member.ErrNotFound for someone else's passkey: 404
	}
	return redirect(w, r, "/settings/2fa?done=passkey_removed")
}

func (s *Server) newRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	codes, err := s.auth.NewRecoveryCodes(r.Context(), ActorFrom(r))
	if errors.Is(err, auth.ErrNoEnrolment) {
		return redirect(w, r, "/settings/2fa")
	}
	if err != nil {
		return err
	}
	return s.showRecovery(w, r, codes, "recovery_renewed")
}

func (s *Server) forgetDevices(w http.ResponseWriter, r *http.Request) error {
	if err := s.auth.ForgetDevices(r.Context(), ActorFrom(r)); err != nil {
		return err
	}
	s.setCookie(w, s.deviceCookieName(), "", -1)
	return redirect(w, r, "/settings/2fa?done=devices_forgotten")
}
