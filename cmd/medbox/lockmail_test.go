package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestLockedAccountIsToldByMail (issue 15): the sign-in page answers a locked
// account exactly as an unknown one (it must not tell who is a member), so the
// owner is mailed at once — until when, and a reset link, which lifts the lock.
func TestLockedAccountIsToldByMail(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		newExchange(t, in) // the sender is a member
		web := in.client()
		answer := func(email, password string) string {
			t.Helper()
			status, page, _ := web.form("/login", "email", email, "password", password)
			if status != http.StatusOK && status != http.StatusUnauthorized {
				t.Fatalf("sign in as %s: %d", email, status)
			}
			i := strings.Index(page, `role="alert"`)
			if i < 0 {
				t.Fatalf("no message on the sign-in page for %s", email)
			}
			return page[i : i+200]
		}
		for range 5 {
			answer("sender@a.example.jp", "wrong password!")
		}
		locked := answer("sender@a.example.jp", senderPassword)
		if unknown := answer("nobody@nowhere.example.jp", senderPassword); locked != unknown {
			t.Errorf("a locked account reads differently from an unknown one:\n%s\n%s", locked, unknown)
		}
		m := in.lastMailTo("sender@a.example.jp", "ロック")
		if !strings.Contains(m.Text, "日本時間") || !strings.Contains(m.Text, "locked until") {
			t.Errorf("the lock mail does not say until when: %q", m.Text)
		}
		for _, other := range in.outbox() {
			if strings.Contains(other.To, "nobody@nowhere") {
				t.Errorf("an unknown address was mailed: %q", other.Subject)
			}
		}
		link, _ := url.Parse(m.link(t, "/reset?token="))
		status, _, _ := in.client().form("/reset/new", "token", link.Query().Get("token"), "password", "a fresh password 1", "password2", "a fresh password 1")
		if status != http.StatusSeeOther {
			t.Fatalf("reset through the lock mail's link: %d", status)
		}
		if status, _, _ := in.client().form("/login", "email", "sender@a.example.jp", "password", "a fresh password 1"); status != http.StatusSeeOther {
			t.Errorf("sign in after the reset: %d, want the lock lifted", status)
		}

	})
}
