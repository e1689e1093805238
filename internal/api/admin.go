package api

import (
	"io"
	"net/http"

	"github.com/medbox-jp/medbox/internal/guard"
	"github.com/medbox-jp/medbox/internal/member"
)

func (s *Server) adminMembers(w http.ResponseWriter, r *http.Request) error {
	st := member.Status(r.URL.Query().Get("status"))
	switch st {
	case "":
		st = member.Pending
	case member.Pending, member.Active, member.Suspended, member.Rejected, member.Unconfirmed:
	default:
		return &guard.Problem{Status: http.StatusBadRequest, Code: "invalid", Fields: map[string]string{"status": "choose_one"}}
	}
	list, err := s.members.Review(r.Context(), st)
	if err != nil {
		return err
	}
	out := make([]memberJSON, 0, len(list))
	for _, m := range list {
		out = append(out, toJSON(m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": out})
	return nil
}

func (s *Server) adminMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.members.Get(r.Context(), member.ID(r.PathValue("member")))
	if err != nil {
		return err
	}
	if m.Role != member.RoleMember {
		return errNotFound
	}
	locked, err := s.auth.Locked(r.Context(), m.ID)
	if err != nil {
		return err
	}
	out := map[string]any{"member": toJSON(m), "has_proof": m.HasProof, "proof_type": m.ProofType}
	if !locked.IsZero() {
		out["locked_until"] = locked
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) adminProof(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	rc, ctype, err := s.members.Proof(r.Context(), a.ID(), member.ID(r.PathValue("member")), a.Addr)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="proof"`)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, err = io.Copy(w, rc)
	return err
}

func (s *Server) adminDo(w http.ResponseWriter, r *http.Request, do func(id member.ID) error) error {
	if err := do(member.ID(r.PathValue("member"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminApprove(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	return s.adminDo(w, r, func(id member.ID) error { return s.members.Approve(r.Context(), a.ID(), id, a.Addr) })
}

func (s *Server) adminReject(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, 16<<10, &in); err != nil {
		return err
	}
	a := actorFrom(r)
	return s.adminDo(w, r, func(id member.ID) error { return s.members.Reject(r.Context(), a.ID(), id, in.Reason, a.Addr) })
}

func (s *Server) adminSuspend(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	return s.adminDo(w, r, func(id member.ID) error { return s.members.Suspend(r.Context(), a.ID(), id, a.Addr) })
}

func (s *Server) adminUnlock(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	return s.adminDo(w, r, func(id member.ID) error { return s.auth.Unlock(r.Context(), a.Member, id, a.Addr) })
}

// adminReset is the lost-device action: every session and token of the member ends
// and a new password is required, set through a mailed link (R-X4). With the body
// {"reset_factors":true} their second factors go too, and they enrol again.
func (s *Server) adminReset(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ResetFactors bool `json:"reset_factors"`
	}
	if r.ContentLength != 0 { // the body is optional
		if err := decodeJSON(w, r, 4<<10, &in); err != nil {
			return err
		}
	}
	a := actorFrom(r)
	end := s.auth.SignOutEverywhere
	if in.ResetFactors {
		end = s.auth.ResetFactors
	}
	return s.adminDo(w, r, func(id member.ID) error {
		if err := end(r.Context(), a, id); err != nil {
			return err
		}
		m, err := s.members.Get(r.Context(), id)
		if err != nil {
			return err
		}
		return s.members.RequestReset(r.Context(), string(m.Email), a.Addr)
	})
}
