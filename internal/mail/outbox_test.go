package mail_test

import (
	"bytes"
	"errors"
	"log/slog"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/mail"
)

func TestOutboxWritesPrivateRFC5322Files(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	var logs bytes.Buffer
	o := mail.NewOutbox(dir, from, slog.New(slog.NewTextHandler(&logs, nil)))
	withHTML := newMessage("taro.yamada@hospital.example.jp")
	textOnly := newMessage("hanako@clinic.example.jp")
	textOnly.HTML = ""
	for _, m := range []*mail.Message{withHTML, textOnly} {
		if err := o.Send(t.Context(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("outbox directory: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("outbox holds %v, want 2 .eml files and nothing else", entries)
	}
	byID := map[string]*mail.Message{"<" + withHTML.ID + ">": withHTML, "<" + textOnly.ID + ">": textOnly}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 || !strings.HasSuffix(e.Name(), ".eml") {
			t.Errorf("%s: %v, mode %v; want a 0600 .eml file", e.Name(), err, fi.Mode().Perm())
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := netmail.ReadMessage(bytes.NewReader(raw)); err != nil {
			t.Errorf("%s is not RFC 5322: %v", e.Name(), err)
		}
		got := parse(t, raw)
		want, ok := byID[got.Header.Get("Message-Id")]
		if !ok {
			t.Fatalf("%s: Message-ID %q is neither message's", e.Name(), got.Header.Get("Message-Id"))
		}
		delete(byID, got.Header.Get("Message-Id"))
		checkDelivered(t, got, want)
	}

	log := logs.String()
	for _, want := range []string{link, "t***@hospital.example.jp", "h***@clinic.example.jp"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for _, secret := range []string{"taro.yamada@", "hanako@", "山田先生", "佐藤先生", "新しいファイル"} {
		if strings.Contains(log, secret) {
			t.Errorf("log reveals %q:\n%s", secret, log)
		}
	}
}

func TestOutboxKeepsFilesInside(t *testing.T) {
	// "/" and "." are legal in a Message-ID; they must not steer the file name.
	root := t.TempDir()
	dir := filepath.Join(root, "data", "outbox")
	o := mail.NewOutbox(dir, from, slog.New(slog.DiscardHandler))
	m := newMessage("taro@hospital.example.jp")
	m.ID = "x/../../../escaped@medbox.example.jp"
	if err := o.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var outside []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Dir(p) != dir {
			outside = append(outside, p)
		}
		return err
	})
	if len(outside) != 0 {
		t.Errorf("files written outside the outbox: %v", outside)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("outbox holds %d files, want 1", len(entries))
	}
}

func TestOutboxRefusesInvalidMessage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o := mail.NewOutbox(dir, from, slog.New(slog.DiscardHandler))
	m := newMessage("taro@hospital.example.jp")
	m.Subject = "hello\r\nBcc: spy@evil.example"
	if err := o.Send(t.Context(), m); !errors.Is(err, mail.ErrInvalid) {
		t.Errorf("Send() = %v, want ErrInvalid", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("outbox holds %d files after a refused message, want 0", len(entries))
	}
}
