package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/guard"
)

// Second factors through the API (R-X2). A script signs in with
// {"email","password","otp"}, where otp is a TOTP code or a recovery code;
// passkeys need a browser and are managed on the web pages, though they can be
// listed and removed here. Sensitive routes need a recent authentication: an API
// client that gets 403 reauth_required signs in again, and the fresh token counts
// as recent for auth.ReauthWindow.

var (
	errSecondFactorRequired = &guard.Problem{Status: http.StatusUnauthorized, Code: "second_factor_required"}
	errEnrolmentRequired    = &guard.Problem{Status: http.StatusForbidden, Code: "second_factor_enrolment_required"}
	errReauthRequired       = &guard.Problem{Status: http.StatusForbidden, Code: "reauth_required"}
)

// recent wraps h so that it runs only after a recent authentication.
func (s *Server) recent(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		ok, err := s.auth.Recent(r.Context(), actorFrom(r))
		if err != nil {
			return err
		}
		if !ok {
			return errReauthRequired
		}
		return h(w, r)
	}
}

// mfaError maps the errors of second-factor operations to API errors.
func mfaError(err error) error {
	switch {
	case errors.Is(err, auth.ErrBadCode):
		return &guard.Problem{Status: http.StatusBadRequest, Code: "bad_code"}
	case errors.Is(err, auth.ErrLastFactor):
		return &guard.Problem{Status: http.StatusConflict, Code: "last_factor"}
	case errors.Is(err, auth.ErrNoEnrolment):
		return &guard.Problem{Status: http.StatusConflict, Code: "no_enrolment"}
	}
	return err
}

type passkeyJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used_at,omitempty"`
}

func (s *Server) factors(w http.ResponseWriter, r *http.Request) error {
	f, err := s.auth.Factors(r.Context(), actorFrom(r).Member)
	if err != nil {
		return err
	}
	out := struct {
		Required     bool          `json:"required"`
		TOTP         bool          `json:"totp"`
		TOTPPending  bool          `json:"totp_pending"`
		Passkeys     []passkeyJSON `json:"passkeys"`
		RecoveryLeft int           `json:"recovery_codes_left"`
	}{Required: f.Required, TOTP: f.TOTP, TOTPPending: f.TOTPPending, Passkeys: []passkeyJSON{}, RecoveryLeft: f.RecoveryLeft}
	for _, p := range f.Passkeys {
		j := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt}
		if !p.LastUsed.IsZero() {
			t := p.LastUsed
			j.LastUsed = &t
		}
		out.Passkeys = append(out.Passkeys, j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// beginTOTP starts enrolling an authenticator app: the answer carries the secret
// (base32) and its otpauth:// URL, to be shown once and confirmed with a code.
func (s *Server) beginTOTP(w http.ResponseWriter, r *http.Request) error {
	e, err := s.auth.BeginTOTP(r.Context(), actorFrom(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"secret": strings.ReplaceAll(e.Secret, " ", ""), "otpauth_url": e.URL})
	return nil
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(w, r, 4<<10, &in); err != nil {
		return err
	}
	codes, err := s.auth.ConfirmTOTP(r.Context(), actorFrom(r), in.Code)
	if err != nil {
		return mfaError(err)
	}
	out := map[string]any{"totp": true}
	if len(codes) > 0 {
		out["recovery_codes"] = codes
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) removeTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := s.auth.RemoveTOTP(r.Context(), actorFrom(r)); err != nil {
		return mfaError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) removePasskey(w http.ResponseWriter, r *http.Request) error {
	if err := s.auth.RemovePasskey(r.Context(), actorFrom(r), r.PathValue("passkey")); err != nil {
		return mfaError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) newRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	codes, err := s.auth.NewRecoveryCodes(r.Context(), actorFrom(r))
	if err != nil {
		return mfaError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
	return nil
}
