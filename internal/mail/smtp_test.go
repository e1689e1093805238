package mail_test

import (
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/mail/mailtest"
)

const (
	user = "medbox"
	pass = "s3cret:/@pass" // characters that need escaping in a URL
)

// newSMTP returns a sender for srv that trusts its certificate.
func newSMTP(t *testing.T, srv *mailtest.Server, opts ...mail.SMTPOption) *mail.SMTP {
	t.Helper()
	return newSMTPURL(t, srv.URL(), srv, opts...)
}

func newSMTPURL(t *testing.T, rawURL string, srv *mailtest.Server, opts ...mail.SMTPOption) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(rawURL, from, append([]mail.SMTPOption{mail.WithRootCAs(srv.RootCAs())}, opts...)...)
	if err != nil {
		t.Fatalf("NewSMTP(%q): %v", rawURL, err)
	}
	return s
}

func TestSMTPDelivers(t *testing.T) {
	tests := []struct {
		name     string
		opts     mailtest.Options
		wantUser string
		wantTLS  bool
	}{
		{"plain without auth", mailtest.Options{}, "", false},
		{"STARTTLS required, with auth", mailtest.Options{TLS: mailtest.StartTLS, Username: user, Password: pass}, user, true},
		{"implicit TLS, with auth", mailtest.Options{TLS: mailtest.ImplicitTLS, Username: user, Password: pass}, user, true},
		{"server offering only LOGIN", mailtest.Options{TLS: mailtest.StartTLS, Username: user, Password: pass, AuthMechanisms: []string{"LOGIN"}}, user, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts)
			m := newMessage("taro.yamada@hospital.example.jp", "hanako@clinic.example.jp")
			if err := newSMTP(t, srv).Send(t.Context(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Messages()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			r := got[0]
			if r.From != fromAddr || strings.Join(r.To, ",") != strings.Join(m.To, ",") {
				t.Errorf("envelope %s → %v, want %s → %v", r.From, r.To, fromAddr, m.To)
			}
			if r.User != tt.wantUser || r.TLS != tt.wantTLS {
				t.Errorf("authenticated as %q, TLS %v; want %q, %v", r.User, r.TLS, tt.wantUser, tt.wantTLS)
			}
			checkDelivered(t, parse(t, r.Data), m)
		})
	}
}

func TestSMTPRefusesUnsafeConnections(t *testing.T) {
	t.Run("credentials over plain SMTP", func(t *testing.T) {
		// The server would take the password in clear text; the client must not offer it.
		srv := mailtest.Start(t, mailtest.Options{Username: user, Password: pass})
		if err := newSMTP(t, srv).Send(t.Context(), newMessage("taro@hospital.example.jp")); err == nil {
			t.Error("Send over plain SMTP with credentials succeeded")
		}
		if n := srv.AuthAttempts(); n != 0 || len(srv.Messages()) != 0 {
			t.Errorf("server saw %d logins and %d messages, want none", n, len(srv.Messages()))
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS, Username: user, Password: pass})
		s, err := mail.NewSMTP(srv.URL(), from) // without the test CA
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(t.Context(), newMessage("taro@hospital.example.jp")); err == nil {
			t.Error("Send to a server with an untrusted certificate succeeded")
		}
		if n := srv.AuthAttempts(); n != 0 || len(srv.Messages()) != 0 {
			t.Errorf("server saw %d logins and %d messages, want none", n, len(srv.Messages()))
		}
	})
	t.Run("STARTTLS required but not offered", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{})
		s := newSMTPURL(t, srv.URL()+"?starttls=required", srv)
		if err := s.Send(t.Context(), newMessage("taro@hospital.example.jp")); err == nil {
			t.Error("Send without STARTTLS succeeded though the URL requires it")
		}
		if len(srv.Messages()) != 0 {
			t.Error("the message arrived in clear text")
		}
	})
}

func TestSMTPWrongPassword(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.ImplicitTLS, Username: user, Password: pass})
	u, _ := url.Parse(srv.URL())
	u.User = url.UserPassword(user, "wrong")
	var failures atomic.Int32
	s := newSMTPURL(t, u.String(), srv, mail.WithFailureCounter(func() { failures.Add(1) }))
	err := s.Send(t.Context(), newMessage("taro@hospital.example.jp"))
	if err == nil {
		t.Fatal("Send with a wrong password succeeded")
	}
	// A wrong password is the operator's to fix; the queue keeps the mail meanwhile.
	if errors.Is(err, mail.ErrRejected) {
		t.Errorf("Send() = %v; a failed login must not count as a permanent refusal", err)
	}
	if srv.AuthAttempts() != 1 || len(srv.Messages()) != 0 || failures.Load() != 1 {
		t.Errorf("%d logins, %d messages, %d failures counted; want 1, 0, 1", srv.AuthAttempts(), len(srv.Messages()), failures.Load())
	}
}

func TestSMTPClassifiesRefusals(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS, Username: user, Password: pass})
	var failures atomic.Int32
	s := newSMTP(t, srv, mail.WithFailureCounter(func() { failures.Add(1) }))
	const to = "taro.yamada@hospital.example.jp"

	srv.FailNext(1)
	err := s.Send(t.Context(), newMessage(to))
	if err == nil || errors.Is(err, mail.ErrRejected) || !strings.Contains(err.Error(), "451") {
		t.Errorf("after a 451: Send() = %v, want a temporary error", err)
	}
	srv.RejectNext(1)
	err = s.Send(t.Context(), newMessage(to))
	if !errors.Is(err, mail.ErrRejected) || !strings.Contains(err.Error(), "550") {
		t.Errorf("after a 550: Send() = %v, want ErrRejected", err)
	}
	// Errors are logged and kept in the jobs table: they must not carry the address.
	if err != nil && (strings.Contains(err.Error(), to) || !strings.Contains(err.Error(), mail.MaskAddress(to))) {
		t.Errorf("error %q should name %s only masked", err, to)
	}
	if len(srv.Messages()) != 0 || failures.Load() != 2 {
		t.Errorf("%d messages, %d failures counted; want 0, 2", len(srv.Messages()), failures.Load())
	}
	if err := s.Send(t.Context(), newMessage(to)); err != nil || len(srv.Messages()) != 1 {
		t.Errorf("after recovery: Send() = %v, %d messages; want delivery", err, len(srv.Messages()))
	}
}

func TestSMTPMissingCredentialsAreRetried(t *testing.T) {
	// The server refuses MAIL until the client logs in; the URL has no
	// credentials. That is the operator's to fix, not a refusal of the message.
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS, Username: user, Password: pass})
	u, _ := url.Parse(srv.URL())
	u.User = nil
	err := newSMTPURL(t, u.String(), srv).Send(t.Context(), newMessage("taro@hospital.example.jp"))
	if err == nil || errors.Is(err, mail.ErrRejected) {
		t.Errorf("Send() without credentials = %v, want a temporary error", err)
	}
	if len(srv.Messages()) != 0 {
		t.Errorf("server received %d messages, want 0", len(srv.Messages()))
	}
}

func TestSMTPConnectionLostAfterDelivery(t *testing.T) {
	// The server acknowledges the message and the connection breaks before QUIT
	// is answered. The message is delivered: reporting a failure would have the
	// queue send it again.
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.ImplicitTLS, Username: user, Password: pass})
	var failures atomic.Int32
	s := newSMTP(t, srv, mail.WithFailureCounter(func() { failures.Add(1) }))
	srv.HangUpNext(1)
	if err := s.Send(t.Context(), newMessage("taro@hospital.example.jp")); err != nil {
		t.Errorf("Send() = %v, want success: the server took the message", err)
	}
	if len(srv.Messages()) != 1 || failures.Load() != 0 {
		t.Errorf("%d messages, %d failures counted; want 1, 0", len(srv.Messages()), failures.Load())
	}
}

func TestNewSMTPRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:25", "http://127.0.0.1:25", "smtp://127.0.0.1:port", "smtp://"} {
		if _, err := mail.NewSMTP(u, from); err == nil {
			t.Errorf("NewSMTP(%q) succeeded, want an error", u)
		}
	}
}
