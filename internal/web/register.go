package web

import (
	"errors"
	"net/http"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/member"
)

type registerPage struct {
	basePage
	Form        map[string]string
	Errors      member.FieldErrors
	Invite      *member.Invitation
	InviteToken string
	Professions []member.Profession
}

func (s *Server) registerPage(w http.ResponseWriter, r *http.Request) error {
	p := registerPage{basePage: s.base(r, "register.title"), Form: map[string]string{}, Professions: member.Professions}
	if token := r.URL.Query().Get("invite"); token != "" {
		inv, err := s.members.InvitationByToken(r.Context(), token)
		if err != nil {
			return err
		}
		p.Invite, p.InviteToken, p.Form["email"] = inv, token, inv.Email
	}
	return s.render(w, r, http.StatusOK, "register", p)
}

// readRegistration reads the multipart registration form, bounded in size.
func readRegistration(w http.ResponseWriter, r *http.Request) (member.Registration, map[string]string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, member.MaxProofSize+256<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return member.Registration{}, map[string]string{}, errBadForm
	}
	reg, form, err := member.ReadRegistration(mr)
	if errors.Is(err, member.ErrBadForm) {
		return reg, form, errBadForm
	}
	reg.Addr = auth.Addr(r.Context())
	return reg, form, err
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	reg, form, err := readRegistration(w, r)
	// Compared before the passwords leave the form that is shown again.
	mismatch := form["password"] != form["password2"]
	p := registerPage{basePage: s.base(r, "register.title"), Form: form, Professions: member.Professions, InviteToken: form["invite"]}
	delete(p.Form, "password")
	delete(p.Form, "password2")
	if errors.As(err, &p.Errors) {
		return s.render(w, r, http.StatusBadRequest, "register", p)
	}
	if err != nil {
		return err
	}
	reg.Lang = string(p.Lang)
	if mismatch {
		p.Errors = member.FieldErrors{"password2": "password_mismatch"}
		return s.render(w, r, http.StatusBadRequest, "register", p)
	}
	_, err = s.members.Register(r.Context(), reg)
	if errors.As(err, &p.Errors) {
		return s.render(w, r, http.StatusBadRequest, "register", p)
	}
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "registered", s.base(r, "registered.title"))
}

type tokenPage struct {
	basePage
	Token string
}

// confirmPage shows a button; the POST confirms. A GET must not use the link up,
// because mail scanners open links before people do.
func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "confirm", tokenPage{basePage: s.base(r, "confirm.title"), Token: r.URL.Query().Get("token")})
}

func (s *Server) confirm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if _, err := s.members.Confirm(r.Context(), r.PostFormValue("token"), auth.Addr(r.Context())); err != nil {
		return err
	}
	if ActorFrom(r) != nil {
		return redirect(w, r, "/pending?done=confirmed")
	}
	return redirect(w, r, "/login?done=confirmed")
}

// pendingPage tells an account that cannot exchange yet where it stands.
func (s *Server) pendingPage(w http.ResponseWriter, r *http.Request) error {
	a := ActorFrom(r)
	if a.Member.CanExchange() || a.Member.IsAdmin() {
		return redirect(w, r, "/")
	}
	return s.render(w, r, http.StatusOK, "pending", s.base(r, "pending.title"))
}
