package mail_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/mail"
)

const confirmLink = "https://medbox.example.jp/confirm?token=abc&lang=ja"

func TestComposeJapaneseHasEnglishBelow(t *testing.T) {
	m := mail.Compose(i18n.Ja, "mail.confirm", map[string]any{"Link": confirmLink})
	jaSubject := i18n.T(i18n.Ja, "mail.confirm.subject")
	enSubject := strings.TrimSpace(strings.TrimPrefix(i18n.T(i18n.En, "mail.confirm.subject"), "[MedBox]"))
	if !strings.HasPrefix(m.Subject, jaSubject) || !strings.HasSuffix(m.Subject, enSubject) {
		t.Errorf("Subject = %q, want %q first and %q after it", m.Subject, jaSubject, enSubject)
	}
	ja := strings.Index(m.Text, i18n.T(i18n.Ja, "mail.confirm.body", "Link", confirmLink))
	en := strings.Index(m.Text, i18n.T(i18n.En, "mail.confirm.body", "Link", confirmLink))
	if ja < 0 || en < 0 || ja > en {
		t.Errorf("Japanese body at %d, English at %d; want both, Japanese first:\n%s", ja, en, m.Text)
	}
	if !strings.Contains(m.Text, i18n.T(i18n.Ja, "mail.footer")) || !strings.HasSuffix(m.Text, i18n.T(i18n.En, "mail.footer")+"\n") {
		t.Errorf("text lacks the Japanese footer, or does not end with the English one:\n%s", m.Text)
	}
	if m.Link != confirmLink {
		t.Errorf("Link = %q, want %q", m.Link, confirmLink)
	}
	if strings.Count(m.HTML, `<a href="https://medbox.example.jp/confirm?token=abc&amp;lang=ja">`) != 2 {
		t.Errorf("HTML should link the address in both languages:\n%s", m.HTML)
	}
}

func TestComposeEnglishOnly(t *testing.T) {
	m := mail.Compose(i18n.En, "mail.confirm", map[string]any{"Link": confirmLink})
	if m.Subject != i18n.T(i18n.En, "mail.confirm.subject") {
		t.Errorf("Subject = %q, want %q", m.Subject, i18n.T(i18n.En, "mail.confirm.subject"))
	}
	if !strings.Contains(m.Text, i18n.T(i18n.En, "mail.confirm.body", "Link", confirmLink)) {
		t.Errorf("text lacks the English body:\n%s", m.Text)
	}
	for _, s := range []string{m.Subject, m.Text, m.HTML} {
		if strings.ContainsFunc(s, func(r rune) bool { return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) }) {
			t.Errorf("English mail contains Japanese:\n%s", s)
		}
	}
}

func TestComposeEscapesHTML(t *testing.T) {
	const script = `<script>alert("x")</script>`
	m := mail.Compose(i18n.En, "mail.confirm", map[string]any{"Link": "https://medbox.example.jp/a?b=1 " + script})
	if strings.Contains(m.HTML, "<script") {
		t.Errorf("HTML carries the script unescaped:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Errorf("HTML lacks the escaped text:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, `<a href="https://medbox.example.jp/a?b=1">https://medbox.example.jp/a?b=1</a>`) {
		t.Errorf("HTML does not make the link an anchor:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, script) {
		t.Errorf("the text part should carry the data as it is:\n%s", m.Text)
	}
}

func TestComposedMailSurvivesTransport(t *testing.T) {
	for _, lang := range i18n.Langs {
		m := mail.Compose(lang, "mail.confirm", map[string]any{"Link": confirmLink})
		m.To = []string{"taro@hospital.example.jp"}
		dir := t.TempDir()
		if err := mail.NewOutbox(dir, from, slog.New(slog.DiscardHandler)).Send(t.Context(), m); err != nil {
			t.Fatalf("%s: Send: %v", lang, err)
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
		if err != nil || len(files) != 1 {
			t.Fatalf("%s: outbox files %v (%v), want 1", lang, files, err)
		}
		raw, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		checkDelivered(t, parse(t, raw), m)
	}
}
