package web

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/member"
)

// The review queue (R-M3). Administrators see members, never boxes.

type adminMembersPage struct {
	basePage
	Status  member.Status
	Members []*member.Member
	Tabs    []member.Status
}

func (s *Server) adminMembersPage(w http.ResponseWriter, r *http.Request) error {
	st := member.Status(r.URL.Query().Get("status"))
	switch st {
	case member.Pending, member.Active, member.Suspended, member.Rejected, member.Unconfirmed:
	default:
		st = member.Pending
	}
	list, err := s.members.Review(r.Context(), st)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "admin_members", adminMembersPage{basePage: s.base(r, "admin.members.title"), Status: st, Members: list,
		Tabs: []member.Status{member.Pending, member.Active, member.Suspended, member.Rejected, member.Unconfirmed}})
}

type adminMemberPage struct {
	basePage
	Member      *member.Member
	LockedUntil time.Time
	Errors      member.FieldErrors
}

func (s *Server) adminMemberPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAdminMember(w, r, http.StatusOK, nil)
}

func (s *Server) renderAdminMember(w http.ResponseWriter, r *http.Request, status int, fe member.FieldErrors) error {
	m, err := s.members.Get(r.Context(), member.ID(r.PathValue("member")))
	if err != nil {
		return err
	}
	if m.Role != member.RoleMember {
		return member.ErrNotFound
	}
	locked, err := s.auth.Locked(r.Context(), m.ID)
	if err != nil {
		return err
	}
	return s.render(w, r, status, "admin_member", adminMemberPage{basePage: s.base(r, "admin.member.title"), Member: m, LockedUntil: locked, Errors: fe})
}

// adminProof streams a licence proof to an administrator. Only image and PDF types
// are ever stored (checked by content at registration); images are shown, a PDF
// is downloaded, and both are served with a sandboxing policy so that even a
// crafted file cannot run script here.
func (s *Server) adminProof(w http.ResponseWriter, r *http.Request) error {
	a := ActorFrom(r)
	rc, ctype, err := s.members.Proof(r.Context(), a.ID(), member.ID(r.PathValue("member")), a.Addr)
	if err != nil {
		return err
	}
	defer rc.Close()
	switch ctype {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		w.Header().Set("Content-Disposition", "inline")
	case "application/pdf": // downloaded, never opened here: its script must not run in this origin
		ctype = "application/octet-stream"
		w.Header().Set("Content-Disposition", "attachment; filename=\"proof.pdf\"")
	default:
		ctype = "application/octet-stream"
		w.Header().Set("Content-Disposition", "attachment; filename=\"proof\"")
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	_, err = io.Copy(w, rc)
	return err
}

func (s *Server) adminAction(w http.ResponseWriter, r *http.Request, do func(member.ID) error, done string) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id := member.ID(r.PathValue("member"))
	err := do(id)
	var fe member.FieldErrors
	if errors.As(err, &fe) {
		return s.renderAdminMember(w, r, http.StatusBadRequest, fe)
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/admin/members/"+string(id)+"?done="+done)
}

// askAboutMember asks before an irreversible action on the member the path
// names, calling them by name (msg's {{.Name}}).
func (s *Server) askAboutMember(w http.ResponseWriter, r *http.Request, msg, ok string) (bool, error) {
	if err := parseForm(w, r); err != nil {
		return false, err
	}
	id := member.ID(r.PathValue("member"))
	m, err := s.members.Get(r.Context(), id)
	if err != nil {
		return false, err
	}
	return s.confirmed(w, r, i18n.T(lang(r), msg, "Name", m.Name), ok, "/admin/members/"+string(id))
}

func (s *Server) adminApprove(w http.ResponseWriter, r *http.Request) error {
	a := ActorFrom(r)
	return s.adminAction(w, r, func(id member.ID) error { return s.members.Approve(r.Context(), a.ID(), id, a.Addr) }, "approved")
}

func (s *Server) adminReject(w http.ResponseWriter, r *http.Request) error {
	a := ActorFrom(r)
	if ok, err := s.askAboutMember(w, r, "ask.reject", "admin.member.reject"); !ok {
		return err
	}
	return s.adminAction(w, r, func(id member.ID) error {
		return s.members.Reject(r.Context(), a.ID(), id, r.PostFormValue("reason"), a.Addr)
	}, "rejected")
}

func (s *Server) adminSuspend(w http.ResponseWriter, r *http.Request) error {
	a := ActorFrom(r)
	if ok, err := s.askAboutMember(w, r, "ask.suspend", "admin.member.suspend"); !ok {
		return err
	}
	return s.adminAction(w, r, func(id member.ID) error { return s.members.Suspend(r.Context(), a.ID(), id, a.Addr) }, "suspended")
}

func (s *Server) adminUnlock(w http.ResponseWriter, r *http.Request) error {
	a := ActorFrom(r)
	return s.adminAction(w, r, func(id member.ID) error { return s.auth.Unlock(r.Context(), a.Member, id, a.Addr) }, "unlocked")
}

// adminSignOutEverywhere is the administrator's lost-device action (R-X4); with
// reset_factors checked, the member's second factors go too and they enrol again.
func (s *Server) adminSignOutEverywhere(w http.ResponseWriter, r *http.Request) error {
	a := ActorFrom(r)
	msg := "ask.admin_signout"
	if r.PostFormValue("reset_factors") == "on" {
		msg = "ask.admin_signout_factors"
	}
	if ok, err := s.askAboutMember(w, r, msg, "admin.member.signout_everywhere"); !ok {
		return err
	}
	return s.adminAction(w, r, func(id member.ID) error {
		end := s.auth.SignOutEverywhere
		if r.PostFormValue("reset_factors") == "on" {
			end = s.auth.ResetFactors
		}
		if err := end(r.Context(), a, id); err != nil {
			return err
		}
		m, err := s.members.Get(r.Context(), id)
		if err != nil {
			return err
		}
		return s.members.RequestReset(r.Context(), string(m.Email), a.Addr)
	}, "signed_out_everywhere")
}
