package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/guard"
	"github.com/medbox-jp/medbox/internal/member"
)

// Access levels of the route table: guard's, shared with the API.
const (
	Anyone     = guard.Anyone
	SignedIn   = guard.SignedIn
	Members    = guard.Members
	Admins     = guard.Admins
	Unverified = guard.Unverified
	Enrolling  = guard.Enrolling
)

// Route is one entry of the route table: a pattern, who may call it, and its handler.
type Route struct {
	Pattern string
	Access  guard.Access
	Handler func(w http.ResponseWriter, r *http.Request) error
}

func (s *Server) routes() []Route {
	rs := []Route{
		{"GET /{$}", Anyone, s.home},
		// Every other path: the error page, in the frame of whoever is signed in.
		{"/", Anyone, func(http.ResponseWriter, *http.Request) error { return guard.ErrNotFound }},
		{"GET /lang/{lang}", Anyone, s.setLang},
		{"GET /login", Anyone, s.loginPage},
		{"POST /login", Anyone, s.login},
		{"POST /login/passkey/options", Anyone, s.passkeyOptions},
		{"POST /login/passkey", Anyone, s.passkeySignIn},
		{"POST /logout", Unverified, s.logout},
		{"GET /login/2fa", Unverified, s.secondFactorPage},
		{"POST /login/2fa", Unverified, s.secondFactor},
		{"GET /reauth", Enrolling, s.reauthPage},
		{"POST /reauth", Enrolling, s.reauth},
		{"GET /register", Anyone, s.registerPage},
		{"POST /register", Anyone, s.register},
		{"GET /confirm", Anyone, s.confirmPage},
		{"POST /confirm", Anyone, s.confirm},
		{"GET /pending", SignedIn, s.pendingPage},
		{"GET /reset", Anyone, s.resetPage},
		{"POST /reset", Anyone, s.reset},
		{"POST /reset/new", Anyone, s.resetNew},
		{"GET /setup", Anyone, s.setupPage},
		{"POST /setup", Anyone, s.setup},
		{"GET /settings", SignedIn, s.settingsPage},
		{"POST /settings/profile", SignedIn, s.updateProfile},
		{"POST /settings/triggers", Members, s.updateTriggers},
		{"POST /settings/email", SignedIn, s.recent("/settings", s.requestEmailChange)},
		{"GET /settings/email", Anyone, s.emailChangePage},
		{"POST /settings/email/confirm", Anyone, s.confirmEmailChange},
		{"POST /settings/password", SignedIn, s.recent("/settings", s.changePassword)},
		{"POST /settings/signout-everywhere", SignedIn, s.signOutEverywhere},
		{"POST /settings/sessions/end", SignedIn, s.endSession},
		{"GET /settings/2fa", Enrolling, s.recent("/settings/2fa", s.factorsPage)},
		{"POST /settings/2fa/totp", Enrolling, s.recent("/settings/2fa", s.beginTOTP)},
		{"GET /settings/2fa/totp", Enrolling, s.recent("/settings/2fa", s.totpPage)},
		{"POST /settings/2fa/totp/confirm", Enrolling, s.recent("/settings/2fa", s.confirmTOTP)},
		{"POST /settings/2fa/totp/remove", Enrolling, s.recent("/settings/2fa", s.removeTOTP)},
		{"POST /settings/2fa/passkeys", Enrolling, s.recent("/settings/2fa", s.addPasskey)},
		{"POST /settings/2fa/passkeys/{passkey}/remove", Enrolling, s.recent("/settings/2fa", s.removePasskey)},
		{"POST /settings/2fa/recovery", Enrolling, s.recent("/settings/2fa", s.newRecoveryCodes)},
		{"POST /settings/2fa/devices/forget", Enrolling, s.forgetDevices},
		{"GET /withdraw", SignedIn, s.withdrawPage},
		{"POST /withdraw", SignedIn, s.withdraw},
		{"GET /boxes", Members, s.boxesPage},
		{"GET /boxes/new", Members, s.newBoxPage},
		{"POST /boxes/new", Members, s.editNewBox},
		{"POST /boxes", Members, s.createBox},
		{"GET /boxes/{box}", Members, s.boxPage},
		{"GET /boxes/{box}/files/{file}", Members, s.viewerPage},
		{"POST /boxes/{box}/comments", Members, s.addComment},
		{"POST /boxes/{box}/participants", Members, s.addRecipients},
		{"POST /files/{file}/delete", Members, s.deleteFile},
		{"GET /members", Members, s.directoryPage},
		{"GET /invite", Members, s.invitePage},
		{"POST /invite", Members, s.invite},
		{"GET /admin/audit", Admins, s.auditPage},
		{"POST /admin/audit/verify", Admins, s.verifyAudit},
		{"GET /admin/audit/export", Admins, s.exportAudit},
		{"GET /admin/members", Admins, s.adminMembersPage},
		{"GET /admin/members/{member}", Admins, s.adminMemberPage},
		{"GET /admin/members/{member}/proof", Admins, s.adminProof},
		{"POST /admin/members/{member}/approve", Admins, s.recent("/admin/members/{member}", s.adminApprove)},
		{"POST /admin/members/{member}/reject", Admins, s.recent("/admin/members/{member}", s.adminReject)},
		{"POST /admin/members/{member}/suspend", Admins, s.recent("/admin/members/{member}", s.adminSuspend)},
		{"POST /admin/members/{member}/unlock", Admins, s.recent("/admin/members/{member}", s.adminUnlock)},
		{"POST /admin/members/{member}/signout-everywhere", Admins, s.recent("/admin/members/{member}", s.adminSignOutEverywhere)},
	}
	return rs
}

// Routes returns the route table, for tests that walk every route.
func (s *Server) Routes() []Route { return s.routes() }

type actorKey struct{}

// ActorFrom returns the signed-in actor of r, or nil for a stranger.
func ActorFrom(r *http.Request) *auth.Actor {
	a, _ := r.Context().Value(actorKey{}).(*auth.Actor)
	return a
}

// guard resolves the actor of a request and lets it through as guard.Check
// decides. A stranger on a closed page is sent to sign in; a partial session to
// the second factor or enrolment it owes; a signed-in account that may not
// exchange yet to its status page; a member on an administrator's page gets "not
// found", as if it did not exist.
func (s *Server) guard(rt Route) http.Handler {
	return s.serve(func(w http.ResponseWriter, r *http.Request) error {
		actor, err := s.auth.Authenticate(r.Context(), auth.SessionCookie(r), auth.Web, auth.Addr(r.Context()))
		if errors.Is(err, auth.ErrNoSession) && auth.SessionCookie(r) != "" {
			s.clearSessionCookie(w)
		}
		d, err := guard.Check(rt.Access, actor, err)
		if err != nil {
			return err
		}
		switch d.Verdict {
		case guard.SignIn:
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return nil
			}
			return guard.ErrUnauthorized
		case guard.SecondFactor:
			return s.owed(w, r, auth.NeedSecondFactor)
		case guard.Enrol:
			return s.owed(w, r, auth.NeedEnrolment)
		case guard.NotApproved:
			if d.Actor.Member.Role == member.RoleMember && r.Method == http.MethodGet {
				http.Redirect(w, r, "/pending", http.StatusSeeOther)
				return nil
			}
			return guard.ErrNotFound
		case guard.Hidden:
			return guard.ErrNotFound
		}
		if d.Owes != auth.NeedNothing {
			r = r.WithContext(context.WithValue(r.Context(), owesKey{}, d.Owes))
		}
		r = r.WithContext(context.WithValue(r.Context(), actorKey{}, d.Actor))
		return rt.Handler(w, r)
	})
}
