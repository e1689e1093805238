// Package guard is the policy the web pages and the JSON API share: who may call
// a route (Access, Check), and what an error means to whoever called it
// (Classify: a Problem with an HTTP status and a code). The web renders a Problem
// as a page, the API as {"error":{"code","message"}}; neither decides either
// question on its own.
package guard

import (
	"errors"

	"github.com/medbox-jp/medbox/internal/auth"
)

// Access says who may call a route. Check applies it on every request, against
// the member as the database has them now.
type Access int

// Access levels, from open to closed.
const (
	Anyone   Access = iota // strangers too
	SignedIn               // any signed-in account, also unconfirmed or awaiting review
	Members                // approved members who exchange files
	Admins                 // administrators

	// A partial session — past the password, short of its second factor or of
	// the enrolment of one — counts as signed out except on routes of these two
	// levels, which signed-in accounts may use as well.
	Unverified // also a session that owes its second factor: that step, and sign-out
	Enrolling  // also an account that must enrol a second factor before anything else

	// Granted routes take no session at all, only an upload grant for the upload
	// the request names (auth.GrantHeader): the chunk PUTs the page sends to the
	// upload hosts. The member behind the grant must be able to exchange.
	Granted
)

func (a Access) String() string {
	return [...]string{"anyone", "signed-in", "members", "admins", "unverified", "enrolling", "granted"}[a]
}

// Verdict is what Check decides about a request.
type Verdict int

// Verdicts.
const (
	Allow        Verdict = iota // the handler runs
	SignIn                      // a stranger on a closed route
	SecondFactor                // a partial session that owes its second factor
	Enrol                       // an account that must enrol a second factor first
	NotApproved                 // signed in, but may not exchange files (yet)
	Hidden                      // not for this actor: answer as if it did not exist
)

// Decision is Check's answer: the verdict, the actor the handler sees (nil for a
// stranger), and for a partial session let through, what it still owes.
type Decision struct {
	Verdict Verdict
	Actor   *auth.Actor
	Owes    auth.Need
}

// Check decides whether a request may reach a route of access a. actor and err
// are what auth.Service.Authenticate returned for the request's credentials
// (auth.ErrNoSession when it had none). Any other error is returned as it is.
func Check(a Access, actor *auth.Actor, err error) (Decision, error) {
	var partial *auth.PartialError
	var d Decision
	switch {
	case err == nil:
		d.Actor = actor
	case errors.Is(err, auth.ErrNoSession):
	case errors.As(err, &partial):
		switch {
		case a == Unverified, a == Enrolling && partial.Need == auth.NeedEnrolment:
			d.Actor, d.Owes = partial.Actor, partial.Need
		case a == Anyone:
		case partial.Need == auth.NeedEnrolment:
			return Decision{Verdict: Enrol}, nil
		default:
			return Decision{Verdict: SecondFactor}, nil
		}
	default:
		return Decision{}, err
	}
	switch {
	case a == Anyone:
	case d.Actor == nil:
		d.Verdict = SignIn
	case a == SignedIn, a == Unverified, a == Enrolling:
	case (a == Members || a == Granted) && !d.Actor.Member.CanExchange():
		d.Verdict = NotApproved
	case a == Admins && !d.Actor.Member.IsAdmin():
		d.Verdict = Hidden
	}
	return d, nil
}
