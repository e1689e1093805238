package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP sends through a mail server.
type SMTP struct {
	from   string
	host   string
	opts   []gomail.Option
	now    func() time.Time
	failed func() // counts failures for metrics, if set
}

// SMTPOption adjusts NewSMTP.
type SMTPOption func(*smtpConfig)

type smtpConfig struct {
	roots  *x509.CertPool
	failed func()
}

// WithRootCAs trusts roots for the server's certificate (tests use a private CA).
func WithRootCAs(roots *x509.CertPool) SMTPOption { return func(c *smtpConfig) { c.roots = roots } }

// WithFailureCounter calls fn for every failed delivery attempt, for metrics.
func WithFailureCounter(fn func()) SMTPOption { return func(c *smtpConfig) { c.failed = fn } }

// NewSMTP returns a Sender for rawURL:
//
//	smtp://host:port                    STARTTLS when the server offers it
//	smtp://host:port?starttls=required  refuse to send without STARTTLS
//	smtps://user:pass@host:port         implicit TLS (port 465 by default)
//
// With user information it authenticates (PLAIN, or LOGIN if PLAIN is not offered),
// and only ever over TLS.
func NewSMTP(rawURL, from string, options ...SMTPOption) (*SMTP, error) {
	var cfg smtpConfig
	for _, o := range options {
		o(&cfg)
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("MEDBOX_SMTP_URL: want smtp://host:port or smtps://user:pass@host:port")
	}
	host, portStr, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, portStr = u.Host, ""
	}
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, RootCAs: cfg.roots}
	opts := []gomail.Option{gomail.WithTimeout(30 * time.Second), gomail.WithTLSConfig(tc)}
	port := 0
	if portStr != "" {
		if port, err = strconv.Atoi(portStr); err != nil {
			return nil, fmt.Errorf("MEDBOX_SMTP_URL: bad port %q", portStr)
		}
	}
	switch u.Scheme {
	case "smtp":
		if port == 0 {
			port = 587
		}
		policy := gomail.TLSOpportunistic
		if u.Query().Get("starttls") == "required" || u.User != nil {
			policy = gomail.TLSMandatory
		}
		opts = append(opts, gomail.WithPort(port), gomail.WithTLSPolicy(policy))
	case "smtps":
		if port == 0 {
			port = 465
		}
		opts = append(opts, gomail.WithPort(port), gomail.WithSSL())
	default:
		return nil, fmt.Errorf("MEDBOX_SMTP_URL: scheme %q is neither smtp nor smtps", u.Scheme)
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return &SMTP{from: from, host: host, opts: opts, now: time.Now, failed: cfg.failed}, nil
}

// Send delivers m. A refusal with a permanent (5xx) reply is wrapped in
// ErrRejected, so the queue stops retrying it.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	msg, err := build(m, s.from, s.now())
	if err != nil {
		return err
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if msg.IsDelivered() {
			// The server acknowledged the message and only the goodbye (RSET or
			// QUIT) failed. Reporting a failure would have the queue send it again.
			return nil
		}
		if s.failed != nil {
			s.failed()
		}
		return deliveryError(err, m.To)
	}
	return nil
}

// ErrRejected reports a permanent refusal by the mail server.
var ErrRejected = errors.New("mail server refused the message")

// deliveryError classifies a failed delivery and words it without the recipients'
// addresses, which go-mail and many servers repeat in their messages and which
// would otherwise reach the logs and the jobs table.
//
// go-mail reports refusals of MAIL, RCPT and DATA as a *gomail.SendError carrying
// the reply code; that type has no Unwrap, so the code must be read from it rather
// than from a wrapped *textproto.Error. Only those refusals count as permanent,
// and not the ones that say the server wants a login or encryption first (RFC 4954:
// 530, 534, 535, 538): like a failed connection, TLS handshake or login (say, a
// wrong password), they are the operator's to fix, and the mail waits meanwhile.
func deliveryError(err error, to []string) error {
	text := err.Error()
	for _, a := range to {
		text = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(a)).ReplaceAllLiteralString(text, MaskAddress(a))
	}
	e := &sendError{text: fmt.Sprintf("send mail to %s: %s", maskAll(to), text), errs: []error{err}}
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 && !authCodes[se.ErrorCode()] {
		e.text = ErrRejected.Error() + ": " + e.text
		e.errs = append(e.errs, ErrRejected)
	}
	return e
}

// authCodes are the replies of RFC 4954 that ask for authentication or stronger
// encryption rather than refuse the message.
var authCodes = map[int]bool{530: true, 534: true, 535: true, 538: true}

// sendError is a delivery failure whose message names no full address.
type sendError struct {
	text string
	errs []error
}

func (e *sendError) Error() string   { return e.text }
func (e *sendError) Unwrap() []error { return e.errs }
