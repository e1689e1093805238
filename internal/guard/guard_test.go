package guard_test

import (
	"context"
	"errors"
	"testing"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/guard"
	"github.com/medbox-jp/medbox/internal/member"
)

// callers are the kinds of caller guard.Check tells apart, each with the
// credentials such a caller really has.
var callers = []string{"stranger", "owes factor", "owes enrolment", "pending", "approved", "suspended", "admin"}

// credentials signs in one caller of each kind on w, with administrators held to
// a second factor as in production, and returns their session tokens ("" for the
// stranger). The suspended member signed in before being suspended.
func credentials(t *testing.T, w *featuretest.World) map[string]string {
	ctx := context.Background()
	tokens := map[string]string{"stranger": ""}
	signIn := func(who, email, code string, want auth.Need) {
		t.Helper()
		token, need := w.SignIn(email, auth.Web, code)
		if need != want {
			t.Fatalf("%s signs in owing %q, want %q", who, need, want)
		}
		tokens[who] = token
	}
	withFactor := w.Member(featuretest.NewMember{})
	w.EnrolTOTP(string(withFactor.Email))
	signIn("owes factor", string(withFactor.Email), "", auth.NeedSecondFactor)
	signIn("owes enrolment", string(w.Admin().Email), "", auth.NeedEnrolment)
	signIn("pending", string(w.Registered(featuretest.NewMember{}).Email), "", auth.NeedNothing)
	signIn("approved", string(w.Member(featuretest.NewMember{}).Email), "", auth.NeedNothing)
	suspended := w.Member(featuretest.NewMember{})
	signIn("suspended", string(suspended.Email), "", auth.NeedNothing)
	if err := w.Members.Suspend(ctx, w.Admin().ID, suspended.ID, featuretest.Addr); err != nil {
		t.Fatal(err)
	}
	admin, err := w.Members.CreateAdmin(ctx, member.NewAdmin{Email: "admin2@hospital.example.jp", Password: featuretest.Password, Name: "管理 次郎"})
	if err != nil {
		t.Fatal(err)
	}
	secret := w.EnrolTOTP(string(admin.Email))
	signIn("admin", string(admin.Email), w.TOTP(secret), auth.NeedNothing)
	return tokens
}

// TestCheck (STYLE.md §2): every access level against every kind of caller, as
// auth.Authenticate presents them — who gets through, as whom, owing what, and
// where the others are sent.
func TestCheck(t *testing.T) {
	type want struct {
		verdict guard.Verdict
		actor   bool      // the handler sees the caller
		owes    auth.Need // a partial session let through, and what it owes
	}
	allow, anon := want{guard.Allow, true, ""}, want{guard.Allow, false, ""}
	signIn, factor, enrol := want{verdict: guard.SignIn}, want{verdict: guard.SecondFactor}, want{verdict: guard.Enrol}
	notApproved, hidden := want{guard.NotApproved, true, ""}, want{guard.Hidden, true, ""} // the actor says where to send them
	tests := map[guard.Access]map[string]want{
		guard.Anyone: {"stranger": anon, "owes factor": anon, "owes enrolment": anon,
			"pending": allow, "approved": allow, "suspended": anon, "admin": allow},
		guard.SignedIn: {"stranger": signIn, "owes factor": factor, "owes enrolment": enrol,
			"pending": allow, "approved": allow, "suspended": signIn, "admin": allow},
		guard.Members: {"stranger": signIn, "owes factor": factor, "owes enrolment": enrol,
			"pending": notApproved, "approved": allow, "suspended": signIn, "admin": notApproved},
		guard.Admins: {"stranger": signIn, "owes factor": factor, "owes enrolment": enrol,
			"pending": hidden, "approved": hidden, "suspended": signIn, "admin": allow},
		guard.Unverified: {"stranger": signIn, "owes factor": {guard.Allow, true, auth.NeedSecondFactor},
			"owes enrolment": {guard.Allow, true, auth.NeedEnrolment},
			"pending":        allow, "approved": allow, "suspended": signIn, "admin": allow},
		guard.Enrolling: {"stranger": signIn, "owes factor": factor, "owes enrolment": {guard.Allow, true, auth.NeedEnrolment},
			"pending": allow, "approved": allow, "suspended": signIn, "admin": allow},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		tokens := credentials(t, w)
		for _, level := range []guard.Access{guard.Anyone, guard.SignedIn, guard.Members, guard.Admins, guard.Unverified, guard.Enrolling} {
			for _, who := range callers {
				t.Run(level.String()+"/"+who, func(t *testing.T) {
					actor, err := (*auth.Actor)(nil), auth.ErrNoSession
					if tokens[who] != "" {
						actor, err = w.Auth.Authenticate(context.Background(), tokens[who], auth.Web, featuretest.Addr)
					}
					d, err := guard.Check(level, actor, err)
					if err != nil {
						t.Fatalf("Check() error = %v", err)
					}
					wt := tests[level][who]
					if d.Verdict != wt.verdict || (d.Actor != nil) != wt.actor || d.Owes != wt.owes {
						t.Errorf("Check() = verdict %d, actor %v, owes %q; want verdict %d, actor %v, owes %q",
							d.Verdict, d.Actor != nil, d.Owes, wt.verdict, wt.actor, wt.owes)
					}
				})
			}
		}
	})
}

// TestCheckPassesOtherErrorsOn: a failure to authenticate that is not about the
// credentials (the database is gone) is the caller's to report, at every level.
func TestCheckPassesOtherErrorsOn(t *testing.T) {
	broken := errors.New("authenticate: connection refused")
	for _, level := range []guard.Access{guard.Anyone, guard.SignedIn, guard.Members, guard.Admins, guard.Unverified, guard.Enrolling} {
		if d, err := guard.Check(level, nil, broken); !errors.Is(err, broken) || d.Verdict != guard.Allow || d.Actor != nil {
			t.Errorf("Check(%s, broken) = %+v, %v; want the error itself", level, d, err)
		}
	}
}
