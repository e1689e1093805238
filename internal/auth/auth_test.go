package auth_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/member"
)

// The tests of this package run on a whole wired instance (featuretest.World),
// on SQLite and on PostgreSQL, with the default policy: five wrong passwords lock
// an account for 15 minutes, 30 failures from one address in 15 minutes throttle
// it, sessions end after 30 idle minutes or 12 hours. Each case makes its own
// members and uses its own client address.

const pw = featuretest.Password

var serial atomic.Int64

// newAddr returns a client address no other case uses.
func newAddr() string {
	n := serial.Add(1)
	return fmt.Sprintf("198.51.%d.%d", n/250, n%250+1)
}

// attempt is a sign-in of m with password from addr.
func attempt(m *member.Member, password, addr string, kind auth.Kind) auth.Attempt {
	return auth.Attempt{Email: string(m.Email), Password: password, Addr: addr, UserAgent: "test", Kind: kind}
}

// signIn signs m in with their password and returns a fully signed-in actor and
// its token; a member with a second factor gives a code.
func signIn(t *testing.T, w *featuretest.World, m *member.Member, kind auth.Kind) (*auth.Actor, string) {
	t.Helper()
	token, _, err := w.Auth.SignIn(t.Context(), string(m.Email), pw, "192.0.2.1", "test", kind)
	if err != nil {
		t.Fatalf("sign in %s: %v", m.Email, err)
	}
	return authenticate(t, w, token, kind), token
}

// authenticate returns the actor of a full session.
func authenticate(t *testing.T, w *featuretest.World, token string, kind auth.Kind) *auth.Actor {
	t.Helper()
	a, err := w.Auth.Authenticate(t.Context(), token, kind, "192.0.2.1")
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return a
}

// partial signs m in on the web without a second factor and returns the actor of
// the partial session.
func partial(t *testing.T, w *featuretest.World, m *member.Member) *auth.Actor {
	t.Helper()
	a, _ := partialToken(t, w, m)
	return a
}

// partialToken is partial, with the token of the session.
func partialToken(t *testing.T, w *featuretest.World, m *member.Member) (*auth.Actor, string) {
	t.Helper()
	token, _, need, err := w.Auth.SignInWith(t.Context(), attempt(m, pw, "192.0.2.1", auth.Web))
	if err != nil || need != auth.NeedSecondFactor {
		t.Fatalf("web sign-in of %s = %v, %q; want a partial session", m.Email, err, need)
	}
	_, err = w.Auth.Authenticate(t.Context(), token, auth.Web, "192.0.2.1")
	var pe *auth.PartialError
	if !errors.As(err, &pe) || pe.Need != auth.NeedSecondFactor {
		t.Fatalf("Authenticate(partial) = %v, want a PartialError owing the second factor", err)
	}
	return pe.Actor, token
}

// totpUser is a member with an authenticator app.
type totpUser struct {
	*member.Member
	secret   string
	recovery []string
}

// code returns the code the app shows at the World's time plus offset.
func (u *totpUser) code(t *testing.T, w *featuretest.World, offset time.Duration) string {
	t.Helper()
	c, err := auth.TOTPCode(u.secret, w.Clock.Now().Add(offset))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol gives a's member an authenticator app.
func enrol(t *testing.T, w *featuretest.World, a *auth.Actor) *totpUser {
	t.Helper()
	e, err := w.Auth.BeginTOTP(t.Context(), a)
	if err != nil {
		t.Fatalf("BeginTOTP() = %v", err)
	}
	u := &totpUser{Member: a.Member, secret: e.Secret}
	if u.recovery, err = w.Auth.ConfirmTOTP(t.Context(), a, u.code(t, w, 0)); err != nil {
		t.Fatalf("ConfirmTOTP() = %v", err)
	}
	return u
}

// withTOTP returns a new approved member who has enrolled an authenticator app,
// two TOTP steps ago, so that every code near now is unused.
func withTOTP(t *testing.T, w *featuretest.World) *totpUser {
	t.Helper()
	m := w.Member(featuretest.NewMember{})
	a, _ := signIn(t, w, m, auth.Web)
	u := enrol(t, w, a)
	w.Clock.Advance(2 * 30 * time.Second)
	return u
}

// mailedKind counts the messages of kind queued for addr.
func mailedKind(w *featuretest.World, addr, kind string) int {
	n := 0
	for _, m := range w.Mail(addr) {
		if m.Subject == mail.Compose(i18n.Ja, "mail."+kind, nil).Subject {
			n++
		}
	}
	return n
}

// count returns the result of a count(*) query.
func count(t testing.TB, w *featuretest.World, q string, args ...any) int {
	t.Helper()
	var n int
	if err := w.DB.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
