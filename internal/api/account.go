package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/guard"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/notify"
)

// memberJSON is a member as they see themself.
type memberJSON struct {
	ID            member.ID         `json:"id"`
	Email         string            `json:"email"`
	Role          member.Role       `json:"role"`
	Status        member.Status     `json:"status"`
	Name          string            `json:"name"`
	NameKana      string            `json:"name_kana"`
	Profession    member.Profession `json:"profession"`
	LicenseNumber string            `json:"license_number"`
	Workplace     string            `json:"workplace"`
	Department    string            `json:"department"`
	Lang          string            `json:"lang"`
	RejectReason  string            `json:"reject_reason,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	ApprovedAt    *time.Time        `json:"approved_at,omitempty"`
	Usage         *usageJSON        `json:"usage,omitempty"`
	Notifications notify.Settings   `json:"notifications,omitempty"`
}

type usageJSON struct {
	UsedBytes  int64 `json:"used_bytes"`
	QuotaBytes int64 `json:"quota_bytes"`
}

func toJSON(m *member.Member) memberJSON {
	j := memberJSON{ID: m.ID, Email: string(m.Email), Role: m.Role, Status: m.Status, Name: m.Name, NameKana: m.NameKana,
		Profession: m.Profession, LicenseNumber: m.LicenseNumber, Workplace: m.Workplace, Department: m.Department,
		Lang: m.Lang, RejectReason: m.RejectReason, CreatedAt: m.CreatedAt}
	if !m.ApprovedAt.IsZero() {
		t := m.ApprovedAt
		j.ApprovedAt = &t
	}
	return j
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, member.MaxProofSize+256<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return &guard.Problem{Status: http.StatusBadRequest, Code: "bad_request", Fields: map[string]string{"body": "multipart_required"}}
	}
	reg, _, err := member.ReadRegistration(mr)
	if errors.Is(err, member.ErrBadForm) {
		return errBadJSON
	}
	if err != nil {
		return err
	}
	reg.Addr = auth.Addr(r.Context())
	if reg.Lang == "" {
		reg.Lang = string(lang(r))
	}
	if _, err := s.members.Register(r.Context(), reg); err != nil {
		return err
	}
	// The same answer whether or not the address was new (see member.Register).
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "confirmation_sent"})
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		OTP      string `json:"otp,omitempty"`
	}
	if err := decodeJSON(w, r, 16<<10, &in); err != nil {
		return err
	}
	token, m, need, err := s.auth.SignInWith(r.Context(), auth.Attempt{Email: in.Email, Password: in.Password, Code: in.OTP,
		Addr: auth.Addr(r.Context()), UserAgent: r.UserAgent(), Kind: auth.API})
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", retryAfter(te.RetryAfter))
	}
	if errors.Is(err, auth.ErrSecondFactorRequired) {
		return errSecondFactorRequired
	}
	if err != nil {
		return err
	}
	out := map[string]any{"token": token, "member": toJSON(m)}
	if need == auth.NeedEnrolment {
		// The token reaches only /api/v1/me/factors and /api/v1/me/totp until a
		// factor is enrolled.
		out["second_factor_enrolment_required"] = true
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.auth.SignOut(r.Context(), actorFrom(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	m := actorFrom(r).Member
	j := toJSON(m)
	if m.Role == member.RoleMember {
		used, err := s.boxes.Usage(r.Context(), m.ID)
		if err != nil {
			return err
		}
		j.Usage = &usageJSON{UsedBytes: used, QuotaBytes: s.cfg.Limits.QuotaBytes}
		if j.Notifications, err = s.notify.Settings(r.Context(), m.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// fixedFields may never be changed through the API (R-M4).
var fixedFields = []string{"name", "name_kana", "profession", "license_number"}

func (s *Server) updateMe(w http.ResponseWriter, r *http.Request) error {
	var raw map[string]json.RawMessage
	if err := decodeJSON(w, r, 16<<10, &raw); err != nil {
		return err
	}
	for _, f := range fixedFields {
		if _, ok := raw[f]; ok {
			return errFixed
		}
	}
	var in struct {
		Workplace     *string         `json:"workplace"`
		Department    *string         `json:"department"`
		Lang          *string         `json:"lang"`
		Email         *string         `json:"email"`
		Password      string          `json:"password"`
		Notifications map[string]bool `json:"notifications"`
	}
	known := map[string]bool{"workplace": true, "department": true, "lang": true, "email": true, "password": true, "notifications": true}
	for k := range raw {
		if !known[k] {
			return &guard.Problem{Status: http.StatusBadRequest, Code: "bad_request", Fields: map[string]string{k: "unknown_field"}}
		}
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &in); err != nil {
		return errBadJSON
	}
	a := actorFrom(r)
	if in.Email != nil { // a sensitive change (R-X8): checked before anything changes
		if ok, err := s.auth.Recent(r.Context(), a); err != nil {
			return err
		} else if !ok {
			return errReauthRequired
		}
	}
	if in.Workplace != nil || in.Department != nil || in.Lang != nil {
		if _, err := s.members.UpdateProfile(r.Context(), a.ID(), member.Profile{Workplace: in.Workplace, Department: in.Department, Lang: in.Lang}, a.Addr); err != nil {
			return err
		}
	}
	if in.Notifications != nil {
		change := notify.Settings{}
		for k, v := range in.Notifications {
			if !notify.IsKind(k) {
				return &guard.Problem{Status: http.StatusBadRequest, Code: "invalid", Fields: map[string]string{"notifications." + k: "unknown_field"}}
			}
			change[notify.Kind(k)] = v
		}
		if _, err := s.notify.SetSettings(r.Context(), a.ID(), change, a.Addr); err != nil {
			return err
		}
	}
	if in.Email != nil {
		if err := s.members.RequestEmailChange(r.Context(), a.ID(), in.Password, *in.Email, a.Addr); err != nil {
			return err
		}
	}
	m, err := s.members.Get(r.Context(), a.ID())
	if err != nil {
		return err
	}
	a.Member = m
	return s.me(w, r)
}

func (s *Server) withdraw(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, 16<<10, &in); err != nil {
		return err
	}
	a := actorFrom(r)
	if err := s.members.Withdraw(r.Context(), a.ID(), in.Password, a.Addr); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func retryAfter(d time.Duration) string {
	return formatInt(int64(d/time.Second) + 1)
}
