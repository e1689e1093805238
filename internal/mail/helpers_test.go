package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/mail/mailtest"
)

const (
	from     = "MedBox <no-reply@medbox.example.jp>"
	fromAddr = "no-reply@medbox.example.jp"
	subject  = "【MedBox】新しいファイルが届きました"
	link     = "https://medbox.example.jp/boxes/b1?from=mail&lang=ja"
)

// newMessage returns a message with Japanese text, HTML and a link.
func newMessage(to ...string) *mail.Message {
	return &mail.Message{
		To:      to,
		Subject: subject,
		Text:    "山田先生\n\n佐藤先生から新しいファイルが届きました。\n" + link + "\n",
		HTML:    `<p>山田先生</p><p>佐藤先生から新しいファイルが届きました。<br><a href="` + link + `">開く</a></p>`,
		Link:    link,
	}
}

// lf normalises line ends, which mail transport turns into CRLF.
func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// parse takes a message apart or fails t.
func parse(t *testing.T, raw []byte) *mailtest.Message {
	t.Helper()
	m, err := mailtest.Parse(raw)
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	return m
}

// checkDelivered compares a parsed message with what was sent.
func checkDelivered(t *testing.T, got *mailtest.Message, want *mail.Message) {
	t.Helper()
	if got.Subject != want.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject, want.Subject)
	}
	if lf(got.Text) != want.Text {
		t.Errorf("text body = %q, want %q", lf(got.Text), want.Text)
	}
	if lf(got.HTML) != want.HTML {
		t.Errorf("HTML body = %q, want %q", lf(got.HTML), want.HTML)
	}
	if wantType := map[bool]string{true: "multipart/alternative", false: "text/plain"}[want.HTML != ""]; got.MediaType != wantType {
		t.Errorf("Content-Type %q, want %q", got.MediaType, wantType)
	}
	if want.ID == "" || got.Header.Get("Message-Id") != "<"+want.ID+">" {
		t.Errorf("Message-ID = %q, want <%s>", got.Header.Get("Message-Id"), want.ID)
	}
	if date, err := got.Header.Date(); err != nil || time.Since(date).Abs() > time.Minute {
		t.Errorf("Date = %q (%v), want about now", got.Header.Get("Date"), err)
	}
	to, err := got.Header.AddressList("To")
	if err != nil || len(to) != len(want.To) {
		t.Fatalf("To = %q (%v), want %v", got.Header.Get("To"), err, want.To)
	}
	for i, a := range to {
		if a.Address != want.To[i] {
			t.Errorf("To[%d] = %q, want %q", i, a.Address, want.To[i])
		}
	}
	sender, err := got.Header.AddressList("From")
	if err != nil || len(sender) != 1 || sender[0].Address != fromAddr {
		t.Errorf("From = %q, want %s", got.Header.Get("From"), from)
	}
	for name, value := range map[string]string{"Mime-Version": "1.0", "Auto-Submitted": "auto-generated"} {
		if got.Header.Get(name) != value {
			t.Errorf("%s = %q, want %q", name, got.Header.Get(name), value)
		}
	}
}
