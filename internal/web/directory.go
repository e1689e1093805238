package web

import (
	"errors"
	"net/http"

	"github.com/medbox-jp/medbox/internal/member"
)

type directoryPage struct {
	basePage
	Query   string
	Entries []member.Entry
}

func (s *Server) directoryPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query().Get("q")
	entries, err := s.members.Search(r.Context(), ActorFrom(r).ID(), q, member.DirectoryLimit)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "directory", directoryPage{basePage: s.base(r, "directory.title"), Query: q, Entries: entries})
}

type invitePage struct {
	basePage
	Email   string
	Message string
	Errors  member.FieldErrors
	Error   string
}

func (s *Server) invitePage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "invite", invitePage{basePage: s.base(r, "invite.title")})
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	a := ActorFrom(r)
	p := invitePage{basePage: s.base(r, "invite.title"), Email: r.PostFormValue("email"), Message: r.PostFormValue("message")}
	err := s.members.Invite(r.Context(), a.ID(), p.Email, p.Message, a.Addr)
	switch {
	case errors.As(err, &p.Errors):
		return s.render(w, r, http.StatusBadRequest, "invite", p)
	case errors.Is(err, member.ErrTooMany):
		p.Error = "err.too_many_invites"
		return s.render(w, r, http.StatusTooManyRequests, "invite", p)
	case err != nil:
		return err
	}
	return redirect(w, r, "/invite?done=invited")
}
