// Package mailtest runs a real SMTP server inside a test process (emersion/go-smtp)
// that records every message it accepts, so mail is tested over the wire — TLS,
// authentication, refusals and outages included — rather than against a fake Sender.
package mailtest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode says how a Server offers TLS.
type TLSMode int

// The TLS modes.
const (
	None        TLSMode = iota // plain SMTP, no TLS offered
	StartTLS                   // plain connection upgraded by STARTTLS; AUTH only after it
	ImplicitTLS                // TLS from the first byte (smtps)
)

// Options configure a Server.
type Options struct {
	TLS TLSMode
	// Username and Password, when Username is set, make the server require
	// authentication before MAIL. Without TLS the server still accepts credentials
	// in clear text, so that a test can show the client refuses to send them.
	Username, Password string
	// AuthMechanisms are the SASL mechanisms offered; default PLAIN and LOGIN.
	AuthMechanisms []string
}

// Received is one message the server accepted.
type Received struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	Data []byte   // the message as transmitted, headers and body
	User string   // the authenticated user name, "" without AUTH
	TLS  bool     // whether the message arrived over TLS
}

// Parse parses r.Data; see Parse.
func (r Received) Parse() (*Message, error) { return Parse(r.Data) }

// Server is a running test SMTP server. Its methods are safe for concurrent use.
type Server struct {
	t     testing.TB
	opts  Options
	addr  string // fixed at Start, reused by Restart
	tls   *tls.Config
	roots *x509.CertPool

	mu       sync.Mutex
	srv      *smtp.Server
	listener net.Listener  // the current one, closed by Stop
	served   chan struct{} // closed when the current Serve returns
	logw     *testLog
	received []Received
	arrived  chan struct{} // closed and replaced whenever a message is recorded
	fail     int
	reject   int
	hangUp   int
	auths    int
}

// Start starts a server on a loopback port; it is stopped when t ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if len(o.AuthMechanisms) == 0 {
		o.AuthMechanisms = []string{sasl.Plain, sasl.Login}
	}
	s := &Server{t: t, opts: o, arrived: make(chan struct{})}
	if o.TLS != None {
		cert, roots, err := selfSigned()
		if err != nil {
			t.Fatalf("mailtest: certificate: %v", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.roots = roots
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// URL returns the server's address in the form mail.NewSMTP takes: smtps:// for
// ImplicitTLS, smtp:// otherwise (with ?starttls=required for StartTLS), with the
// credentials when the server requires them.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	switch s.opts.TLS {
	case StartTLS:
		u.RawQuery = "starttls=required"
	case ImplicitTLS:
		u.Scheme = "smtps"
	}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	return u.String()
}

// RootCAs returns a pool holding the server's self-signed certificate, or nil
// without TLS.
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// Wait returns the messages once at least n have arrived, and fails t if that
// takes longer than timeout.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, arrived := len(s.received), s.arrived
		s.mu.Unlock()
		if got >= n {
			return s.Messages()
		}
		select {
		case <-arrived:
		case <-deadline.C:
			t.Fatalf("mailtest: %d message(s) arrived within %v, want %d", got, timeout, n)
		}
	}
}

// FailNext makes the next n transactions fail at the end of DATA with a temporary
// 451, as a busy server does; nothing of them is recorded.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = n
}

// RejectNext makes the next n transactions fail with a permanent 550 at RCPT TO,
// as a server does for an unknown mailbox; nothing of them is recorded.
func (s *Server) RejectNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = n
}

// AuthAttempts returns how many AUTH exchanges clients have completed, successful
// or not.
func (s *Server) AuthAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

// HangUpNext makes the next n transactions succeed and then cuts the connection
// before the client's next command is answered, as a network does that fails just
// after delivery. The messages are recorded: a client that sends them again
// delivers them twice.
func (s *Server) HangUpNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangUp = n
}

// Stop closes the listener and every open connection and waits for the server to
// end. Calling it on a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, l, served, logw := s.srv, s.listener, s.served, s.logw
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Close()
	// go-smtp closes only the listeners its Serve has registered; a Stop right
	// after Start can come first, and Serve would then accept forever.
	l.Close()
	<-served
	logw.close()
}

// Restart starts a stopped server again on the same address, keeping what it
// has received.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		s.t.Fatal("mailtest: Restart of a running server")
	}
	var l net.Listener
	var err error
	// The port was ours a moment ago; the kernel may need a moment to let it go.
	for range 50 {
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("mailtest: listen again on %s: %v", s.addr, err)
	}
	s.serve(l)
}

func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "mailtest.localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	logw := &testLog{t: s.t}
	srv.ErrorLog = log.New(logw, "mailtest: ", 0)
	switch s.opts.TLS {
	case StartTLS:
		srv.TLSConfig = s.tls
	case ImplicitTLS:
		l = tls.NewListener(l, s.tls)
	case None:
		srv.AllowInsecureAuth = true
	}
	served := make(chan struct{})
	s.mu.Lock()
	s.srv, s.listener, s.served, s.logw = srv, l, served, logw
	s.mu.Unlock()
	go func() {
		defer close(served)
		if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) {
			logw.Write([]byte("serve: " + err.Error()))
		}
	}()
}

// record keeps an accepted message, or refuses it when FailNext asks to. It
// reports whether HangUpNext wants the connection cut once the message is
// acknowledged.
func (s *Server) record(r Received) (hangUp bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return false, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailtest: try again later"}
	}
	s.received = append(s.received, r)
	close(s.arrived)
	s.arrived = make(chan struct{})
	if s.hangUp > 0 {
		s.hangUp--
		return true, nil
	}
	return false, nil
}

// takeReject reports whether the transaction starting now is to be rejected.
func (s *Server) takeReject() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reject > 0 {
		s.reject--
		return true
	}
	return false
}

// login checks credentials from any mechanism.
func (s *Server) login(identity, user, pass string) error {
	s.mu.Lock()
	s.auths++
	s.mu.Unlock()
	if (identity != "" && identity != user) || user != s.opts.Username || pass != s.opts.Password {
		return smtp.ErrAuthFailed
	}
	return nil
}

// session is one client connection's state.
type session struct {
	s      *Server
	conn   *smtp.Conn
	user   string
	from   string
	to     []string
	reject bool
	hangUp bool // cut the connection once the accepted message is acknowledged
}

func (se *session) AuthMechanisms() []string {
	if se.s.opts.Username == "" {
		return nil
	}
	return se.s.opts.AuthMechanisms
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(se.AuthMechanisms(), mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	done := func(identity, user, pass string) error {
		if err := se.s.login(identity, user, pass); err != nil {
			return err
		}
		se.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(done), nil
	case sasl.Login:
		return &loginServer{done: done}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opts.Username != "" && se.user == "" {
		// RFC 4954's reply; go-smtp's ErrAuthRequired answers 502.
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "mailtest: authentication required"}
	}
	se.from, se.to = from, nil
	se.reject = se.s.takeReject()
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if se.reject {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailtest: mailbox unavailable"}
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := se.conn.TLSConnectionState()
	se.hangUp, err = se.s.record(Received{From: se.from, To: se.to, Data: b, User: se.user, TLS: isTLS})
	return err
}

// Reset ends a transaction. go-smtp calls it after DATA once the reply is
// written, which is when HangUpNext cuts the connection.
func (se *session) Reset() {
	if se.hangUp {
		se.conn.Conn().Close()
	}
	se.from, se.to, se.reject, se.hangUp = "", nil, false, false
}

func (se *session) Logout() error { return nil }

// loginServer is the server side of the obsolete but common LOGIN mechanism,
// which go-sasl implements only for clients.
type loginServer struct {
	done func(identity, user, pass string) error
	user *string
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch {
	case l.user == nil && response == nil:
		return []byte("Username:"), false, nil
	case l.user == nil:
		u := string(response)
		l.user = &u
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.done("", *l.user, string(response))
	}
}

// testLog sends the server's error log to t until the server stops: t must not be
// used after the test ends, and go-smtp may log after Close returns.
type testLog struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testLog) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}
