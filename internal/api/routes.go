package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/guard"
	"github.com/medbox-jp/medbox/internal/upload"
)

// Access levels of the route table: guard's, shared with the web pages.
const (
	Anyone     = guard.Anyone
	SignedIn   = guard.SignedIn
	Members    = guard.Members
	Admins     = guard.Admins
	Unverified = guard.Unverified
	Enrolling  = guard.Enrolling
)

// Route is one entry of the route table.
type Route struct {
	Pattern string
	Access  guard.Access
	Handler func(w http.ResponseWriter, r *http.Request) error
}

func (s *Server) routes() []Route {
	return []Route{
		{"POST /api/v1/register", Anyone, s.register},
		{"POST /api/v1/login", Anyone, s.login},
		{"POST /api/v1/logout", Unverified, s.logout},
		{"GET /api/v1/me", SignedIn, s.me},
		{"PATCH /api/v1/me", SignedIn, s.updateMe},
		{"DELETE /api/v1/me", SignedIn, s.withdraw},
		{"GET /api/v1/me/factors", Enrolling, s.factors},
		{"POST /api/v1/me/totp", Enrolling, s.recent(s.beginTOTP)},
		{"POST /api/v1/me/totp/confirm", Enrolling, s.recent(s.confirmTOTP)},
		{"DELETE /api/v1/me/totp", SignedIn, s.recent(s.removeTOTP)},
		{"DELETE /api/v1/me/passkeys/{passkey}", SignedIn, s.recent(s.removePasskey)},
		{"POST /api/v1/me/recovery-codes", SignedIn, s.recent(s.newRecoveryCodes)},
		{"GET /api/v1/members", Members, s.directory},
		{"POST /api/v1/invitations", Members, s.invite},
		{"GET /api/v1/boxes", Members, s.listBoxes},
		{"POST /api/v1/boxes", Members, s.createBox},
		{"GET /api/v1/boxes/{box}", Members, s.getBox},
		{"POST /api/v1/boxes/{box}/participants", Members, s.addParticipants},
		{"POST /api/v1/boxes/{box}/comments", Members, s.addComment},
		{"GET /api/v1/boxes/{box}/zip", Members, s.zipBox},
		{"GET /api/v1/boxes/{box}/history", Members, s.boxHistory},
		{"POST /api/v1/boxes/{box}/uploads", Members, s.createUpload},
		{"PUT /api/v1/uploads/{id}/chunks/{n}", Members, s.putChunk},
		{"PUT " + upload.GrantedChunkPath, guard.Granted, s.putGrantedChunk},
		{"GET /api/v1/uploads/{id}", Members, s.uploadStatus},
		{"POST /api/v1/uploads/{id}/complete", Members, s.completeUpload},
		{"DELETE /api/v1/uploads/{id}", Members, s.abortUpload},
		{"GET /api/v1/files/{file}/content", Members, s.fileContent},
		{"GET /api/v1/files/{file}/preview", Members, s.filePreview},
		{"GET /api/v1/files/{file}/dicom", Members, s.fileDICOM},
		{"DELETE /api/v1/files/{file}", Members, s.deleteFile},
		{"GET /api/v1/admin/audit/verify", Admins, s.verifyAudit},
		{"GET /api/v1/admin/audit/export", Admins, s.exportAudit},
		{"GET /api/v1/admin/members", Admins, s.adminMembers},
		{"GET /api/v1/admin/members/{member}", Admins, s.adminMember},
		{"GET /api/v1/admin/members/{member}/proof", Admins, s.adminProof},
		{"POST /api/v1/admin/members/{member}/approve", Admins, s.recent(s.adminApprove)},
		{"POST /api/v1/admin/members/{member}/reject", Admins, s.recent(s.adminReject)},
		{"POST /api/v1/admin/members/{member}/suspend", Admins, s.recent(s.adminSuspend)},
		{"POST /api/v1/admin/members/{member}/unlock", Admins, s.recent(s.adminUnlock)},
		{"POST /api/v1/admin/members/{member}/reset", Admins, s.recent(s.adminReset)},
	}
}

// Routes returns the route table, for tests that walk every route.
func (s *Server) Routes() []Route { return s.routes() }

type actorKey struct{}

func actorFrom(r *http.Request) *auth.Actor {
	a, _ := r.Context().Value(actorKey{}).(*auth.Actor)
	return a
}

// guard authenticates by bearer token, else by session cookie, and lets the
// request through as guard.Check decides. A member calling an administrator's
// route gets 404, as for any route they may not see. A partial session gets 401
// second_factor_required, or 403 second_factor_enrolment_required, except on the
// routes open to it.
func (s *Server) guard(rt Route) http.Handler {
	return s.serve(func(w http.ResponseWriter, r *http.Request) error {
		addr := auth.Addr(r.Context())
		actor, err := (*auth.Actor)(nil), auth.ErrNoSession
		if rt.Access == guard.Granted {
			// Only the grant counts here: no cookie, no bearer token.
			actor, err = s.auth.AuthenticateGrant(r.Context(), r.Header.Get(auth.GrantHeader), r.Header.Get(upload.IDHeader), addr)
			if errors.Is(err, auth.ErrNoGrant) {
				return errBadGrant
			}
		} else if tok := auth.BearerToken(r); tok != "" {
			actor, err = s.auth.Authenticate(r.Context(), tok, auth.API, addr)
		} else if c := auth.SessionCookie(r); c != "" {
			actor, err = s.auth.Authenticate(r.Context(), c, auth.Web, addr)
		}
		d, err := guard.Check(rt.Access, actor, err)
		if err != nil {
			return err
		}
		switch d.Verdict {
		case guard.SignIn:
			return errUnauthorized
		case guard.SecondFactor:
			return errSecondFactorRequired
		case guard.Enrol:
			return errEnrolmentRequired
		case guard.NotApproved:
			return errNotApproved
		case guard.Hidden:
			return errNotFound
		}
		r = r.WithContext(context.WithValue(r.Context(), actorKey{}, d.Actor))
		return rt.Handler(w, r)
	})
}
