// Package mail delivers messages: through an SMTP server, or — the default of a
// fresh instance — as RFC 5322 .eml files in a local outbox whose links are logged,
// so a local instance is usable without a mail server. Mail is queued durably in
// the caller's transaction (Enqueue) and sent by a job, retried with back-off.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Message is one mail.
type Message struct {
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	HTML    string   `json:"html,omitempty"`
	// Link is the main link of the message; the outbox logs it so that a local
	// instance can be used without reading files.
	Link string `json:"link,omitempty"`
	// ID is the Message-ID, set at enqueue so that a retried send keeps it.
	ID string `json:"id"`
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// ErrInvalid reports a message that can never be sent as it is.
var ErrInvalid = errors.New("invalid message")

// validate refuses what could inject headers or cannot be delivered.
func (m *Message) validate() error {
	if len(m.To) == 0 {
		return fmt.Errorf("%w: no recipient", ErrInvalid)
	}
	for _, to := range m.To {
		a, err := mail.ParseAddress(to)
		if err != nil || a.Address != to || strings.ContainsAny(to, "\r\n") {
			return fmt.Errorf("%w: bad recipient address", ErrInvalid)
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") || strings.ContainsAny(m.ID, "\r\n<> ") {
		return fmt.Errorf("%w: line break in a header", ErrInvalid)
	}
	return nil
}

// MaskAddress hides the local part of an address for logs: "t***@example.jp".
func MaskAddress(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return "***"
	}
	return string([]rune(s[:at])[0]) + "***" + s[at:]
}

func maskAll(to []string) string {
	out := make([]string, len(to))
	for i, a := range to {
		out[i] = MaskAddress(a)
	}
	return strings.Join(out, ",")
}
