package web

import (
	"errors"
	"net/http"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/notify"
)

type settingsPage struct {
	basePage
	Member   *member.Member
	Sessions []auth.Session
	Triggers []trigger
	Errors   member.FieldErrors
	Section  string // which form the errors belong to
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderSettings(w, r, http.StatusOK, "", nil)
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, status int, section string, fe member.FieldErrors) error {
	a := ActorFrom(r)
	sessions, err := s.auth.Sessions(r.Context(), a.ID())
	if err != nil {
		return err
	}
	p := settingsPage{basePage: s.base(r, "settings.title"), Member: a.Member, Sessions: sessions, Errors: fe, Section: section}
	if a.Member.CanExchange() {
		set, err := s.notify.Settings(r.Context(), a.ID())
		if err != nil {
			return err
		}
		for _, k := range notify.Kinds {
			p.Triggers = append(p.Triggers, trigger{Kind: string(k), On: set[k]})
		}
	}
	return s.render(w, r, status, "settings", p)
}

type trigger struct {
	Kind string
	On   bool
}

// updateTriggers saves the mail triggers (設定 → 発信トリガー): an unchecked box
// is not sent at all, so every trigger not in the form is off.
func (s *Server) updateTriggers(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	change := notify.Settings{}
	for _, k := range notify.Kinds {
		change[k] = r.PostFormValue(string(k)) == "on"
	}
	a := ActorFrom(r)
	if _, err := s.notify.SetSettings(r.Context(), a.ID(), change, a.Addr); err != nil {
		return err
	}
	return redirect(w, r, "/settings?done=triggers_saved#triggers")
}

func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	work, dept, lng := r.PostFormValue("workplace"), r.PostFormValue("department"), r.PostFormValue("lang")
	a := ActorFrom(r)
	_, err := s.members.UpdateProfile(r.Context(), a.ID(), member.Profile{Workplace: &work, Department: &dept, Lang: &lng}, a.Addr)
	var fe member.FieldErrors
	if errors.As(err, &fe) {
		return s.renderSettings(w, r, http.StatusBadRequest, "profile", fe)
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/settings?done=saved")
}

func (s *Server) requestEmailChange(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := ActorFrom(r)
	err := s.members.RequestEmailChange(r.Context(), a.ID(), r.PostFormValue("password"), r.PostFormValue("email"), a.Addr)
	var fe member.FieldErrors
	switch {
	case errors.As(err, &fe):
		return s.renderSettings(w, r, http.StatusBadRequest, "email", fe)
	case errors.Is(err, member.ErrBadPassword):
		return s.renderSettings(w, r, http.StatusBadRequest, "email", member.FieldErrors{"password": "wrong_password"})
	case err != nil:
		return err
	}
	return redirect(w, r, "/settings?done=email_link_sent")
}

func (s *Server) emailChangePage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "email_confirm", tokenPage{basePage: s.base(r, "email_confirm.title"), Token: r.URL.Query().Get("token")})
}

func (s *Server) confirmEmailChange(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	_, err := s.members.ConfirmEmailChange(r.Context(), r.PostFormValue("token"), auth.Addr(r.Context()))
	var fe member.FieldErrors
	if errors.As(err, &fe) {
		return member.ErrBadToken
	}
	if err != nil {
		return err
	}
	if ActorFrom(r) != nil {
		return redirect(w, r, "/settings?done=email_changed")
	}
	return redirect(w, r, "/login?done=email_changed")
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		return s.renderSettings(w, r, http.StatusBadRequest, "password", member.FieldErrors{"password2": "password_mismatch"})
	}
	err := s.auth.ChangePassword(r.Context(), ActorFrom(r), r.PostFormValue("current"), r.PostFormValue("password"))
	var fe member.FieldErrors
	switch {
	case errors.As(err, &fe):
		return s.renderSettings(w, r, http.StatusBadRequest, "password", fe)
	case errors.Is(err, member.ErrBadPassword):
		return s.renderSettings(w, r, http.StatusBadRequest, "password", member.FieldErrors{"current": "wrong_password"})
	case err != nil:
		return err
	}
	return redirect(w, r, "/settings?done=password_changed")
}

// signOutEverywhere is the lost-device button (R-X4): every session ends, this one
// too, and a new password must be set through a mailed link.
// endSession signs one of the member's devices out; their own makes it a sign-out.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := ActorFrom(r)
	hash := r.PostFormValue("session")
	if err := s.auth.EndSession(r.Context(), a, hash); errors.Is(err, auth.ErrNoSession) {
		return redirect(w, r, "/settings#sessions")
	} else if err != nil {
		return err
	}
	if a.Session != nil && hash == a.Session.Hash {
		s.clearSessionCookie(w)
		return redirect(w, r, "/login?done=signed_out")
	}
	return redirect(w, r, "/settings?done=session_ended#sessions")
}

func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := ActorFrom(r)
	if ok, err := s.confirmed(w, r, i18n.T(lang(r), "ask.signout_everywhere"), "settings.signout_everywhere", "/settings"); !ok {
		return err
	}
	if err := s.auth.SignOutEverywhere(r.Context(), a, a.ID()); err != nil {
		return err
	}
	if err := s.members.RequestReset(r.Context(), string(a.Member.Email), a.Addr); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	return redirect(w, r, "/login?done=signed_out_everywhere")
}

type withdrawPage struct {
	basePage
	Errors member.FieldErrors
}

func (s *Server) withdrawPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "withdraw", withdrawPage{basePage: s.base(r, "withdraw.title")})
}

func (s *Server) withdraw(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := ActorFrom(r)
	if r.PostFormValue("confirm") != "yes" {
		return s.render(w, r, http.StatusBadRequest, "withdraw", withdrawPage{basePage: s.base(r, "withdraw.title"),
			Errors: member.FieldErrors{"confirm": "required"}})
	}
	err := s.members.Withdraw(r.Context(), a.ID(), r.PostFormValue("password"), a.Addr)
	if errors.Is(err, member.ErrBadPassword) {
		return s.render(w, r, http.StatusBadRequest, "withdraw", withdrawPage{basePage: s.base(r, "withdraw.title"),
			Errors: member.FieldErrors{"password": "wrong_password"}})
	}
	if err != nil {
		return err
	}
	s.clearSessionCookie(w)
	return redirect(w, r, "/login?done=withdrawn")
}
