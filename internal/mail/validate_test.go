package mail_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/mail/mailtest"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// invalidMessages could inject headers or cannot be delivered; every sender and the
// queue must refuse them before anything leaves.
var invalidMessages = []struct {
	name   string
	change func(*mail.Message)
}{
	{"CR LF in the subject", func(m *mail.Message) { m.Subject = "Hello\r\nBcc: spy@evil.example" }},
	{"LF in the subject", func(m *mail.Message) { m.Subject = "Hello\nBcc: spy@evil.example" }},
	{"CR LF in a recipient", func(m *mail.Message) { m.To = []string{"taro@hospital.example.jp\r\nBcc: spy@evil.example"} }},
	{"display name in a recipient", func(m *mail.Message) { m.To = []string{"Spy <spy@evil.example>"} }},
	{"two addresses in one recipient", func(m *mail.Message) { m.To = []string{"taro@hospital.example.jp, spy@evil.example"} }},
	{"not an address", func(m *mail.Message) { m.To = []string{"taro"} }},
	{"no recipient", func(m *mail.Message) { m.To = nil }},
	{"line break in the Message-ID", func(m *mail.Message) { m.ID = "x@y\r\nBcc: spy@evil.example" }},
	{"bracket in the Message-ID", func(m *mail.Message) { m.ID = "x@y>\r\n<z@w" }},
}

func badMessage(change func(*mail.Message)) *mail.Message {
	m := newMessage("taro@hospital.example.jp")
	change(m)
	return m
}

func TestInvalidMessagesAreNotSent(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS, Username: user, Password: pass})
	smtp := newSMTP(t, srv)
	dir := filepath.Join(t.TempDir(), "outbox")
	outbox := mail.NewOutbox(dir, from, slog.New(slog.DiscardHandler))
	for _, tt := range invalidMessages {
		t.Run(tt.name, func(t *testing.T) {
			if err := smtp.Send(t.Context(), badMessage(tt.change)); !errors.Is(err, mail.ErrInvalid) {
				t.Errorf("SMTP.Send() = %v, want ErrInvalid", err)
			}
			if err := outbox.Send(t.Context(), badMessage(tt.change)); !errors.Is(err, mail.ErrInvalid) {
				t.Errorf("Outbox.Send() = %v, want ErrInvalid", err)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server received %d messages, want 0", n)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("outbox holds %d files, want 0", len(entries))
	}
}

func TestInvalidMessagesAreNotQueued(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range invalidMessages {
			if err := mail.Enqueue(t.Context(), db, clocktest.Start(), badMessage(tt.change)); !errors.Is(err, mail.ErrInvalid) {
				t.Errorf("%s: Enqueue() = %v, want ErrInvalid", tt.name, err)
			}
		}
		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM jobs WHERE kind = $1`, mail.JobKind).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d mail jobs queued, want 0", n)
		}
	})
}

func TestMaskAddress(t *testing.T) {
	for in, want := range map[string]string{
		"taro.yamada@hospital.example.jp": "t***@hospital.example.jp",
		"山田@example.jp":                   "山***@example.jp",
		"@example.jp":                     "***",
		"no-at-sign":                      "***",
	} {
		if got := mail.MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
