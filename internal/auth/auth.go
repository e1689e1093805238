// Package auth signs members in and out: password sign-in with account lockout and
// per-address throttling (R-X1), server-side sessions for the web and bearer tokens
// for the API, "sign out everywhere" for a lost device (R-X4), password reset, second
// factors (TOTP, passkeys, recovery codes; R-X2) and re-authentication (R-X8).
// It yields the Actor of a request; every request re-reads the member, so a
// suspension or withdrawal takes effect at once.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Kind tells a browser session from an API token.
type Kind string

// Kinds of session.
const (
	Web Kind = "web"
	API Kind = "api"
)

// Errors of sign-in. ErrBadCredentials is the single answer for an unknown address,
// a wrong password and a locked account, so the answer reveals none of them.
var (
	ErrBadCredentials = errors.New("e-mail address or password is wrong, or the account is locked")
	ErrSuspended      = errors.New("account suspended")
	ErrNewPassword    = errors.New("a new password is required; a reset link was mailed")
	ErrNoSession      = errors.New("not signed in")
)

// ThrottledError says an address has failed too often and must wait.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins from this address; retry in %s", e.RetryAfter.Round(time.Second))
}

// Actor is who makes a request: the member as of this request, and their session.
type Actor struct {
	Member  *member.Member
	Session *Session
	Addr    string
}

// ID returns the acting member's id, or "" for a stranger.
func (a *Actor) ID() member.ID {
	if a == nil || a.Member == nil {
		return ""
	}
	return a.Member.ID
}

// Session is a signed-in browser or API client.
type Session struct {
	Hash      string // SHA-256 of the token; the token itself is never stored
	Member    member.ID
	Kind      Kind
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
	Addr      string
	UserAgent string
}

// Service signs members in and keeps their sessions.
type Service struct {
	db      *sqldb.DB
	members *member.Service
	policy  config.Auth
	now     func() time.Time
	log     *slog.Logger
	audit   *audit.Log
	mfa     *secondFactors // set by UseSecondFactors
}

// Options wire a Service.
type Options struct {
	DB      *sqldb.DB
	Members *member.Service
	Policy  config.Auth // lockout, throttling and session limits
	Now     func() time.Time
	Log     *slog.Logger
	Audit   *audit.Log
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{db: o.DB, members: o.Members, policy: o.Policy, now: o.Now, log: o.Log, audit: o.Audit}
}

// Policy returns the sign-in and session policy.
func (s *Service) Policy() config.Auth { return s.policy }

func newSessionToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
