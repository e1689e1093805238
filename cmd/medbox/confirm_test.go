package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestIrreversibleActionsAskOnce (issue 15): deleting a file, signing out
// everywhere, rejecting, suspending and signing a member out everywhere do
// nothing until the person has confirmed: a form sent without confirmed=yes gets
// a page that names what will be lost, and only that page's form acts.
func TestIrreversibleActionsAskOnce(t *testing.T) {
	in := startInstance(t, instanceOptions{env: smallChunks})
	x := newExchange(t, in)
	id := x.sender.upload(x.box, "胸部X線_山田.jpg", jpeg(81, 300_000))
	web := in.client()
	web.form("/login", "email", "sender@a.example.jp", "password", senderPassword)
	admin := in.webAs(x.admin)
	_, pendingID := in.approvedMember(x.admin, newMember{Email: "pending2@d.example.jp"})

	tests := []struct {
		name   string
		c      *client
		path   string
		fields []string
		names  string // what the question must name
		undone func() bool
	}{
		{"delete a file", web, "/files/" + id + "/delete", nil, "胸部X線_山田.jpg", func() bool {
			return x.rcpt.filesByName(x.box)["胸部X線_山田.jpg"] != ""
		}},
		{"suspend a member", admin, "/admin/members/" + pendingID + "/suspend", nil, "", func() bool {
			return in.countRows(`SELECT count(*) FROM members WHERE id = $1 AND status = 'active'`, pendingID) == 1
		}},
		{"sign out everywhere", web, "/settings/signout-everywhere", nil, "", func() bool {
			status, _, _ := web.do("GET", "/settings", nil, nil)
			return status == http.StatusOK
		}},
	}
	for _, tt := range tests {
		status, page, _ := tt.c.form(tt.path, tt.fields...)
		if status != http.StatusOK || !strings.Contains(page, "この操作は取り消せません") || !strings.Contains(page, `name="confirmed" value="yes"`) {
			t.Errorf("%s without confirmation: %d, want the question page", tt.name, status)
		}
		if tt.names != "" && !strings.Contains(page, tt.names) {
			t.Errorf("%s: the question does not name %q", tt.name, tt.names)
		}
		if !tt.undone() {
			t.Errorf("%s happened before it was confirmed", tt.name)
		}
		fields := append(append([]string{}, tt.fields...), "confirmed", "yes")
		if status, _, _ := tt.c.form(tt.path, fields...); status != http.StatusSeeOther {
			t.Errorf("%s confirmed: %d, want it done (303)", tt.name, status)
		}
		if tt.undone() {
			t.Errorf("%s did not happen once confirmed", tt.name)
		}
	}
}

// TestBrowserAsksBeforeDeleting: on a phone, one tap on 削除 opens a dialog that
// names the file; "やめる" (focused first) keeps it, confirming deletes it.
func TestBrowserAsksBeforeDeleting(t *testing.T) {
	in, x, b := senderAtBox(t, instanceOptions{env: smallChunks}, phone)
	name := "紹介状_鈴木.jpg"
	x.sender.upload(x.box, name, jpeg(82, 200_000))
	b.open(in.url + "/boxes/" + x.box)
	b.watchUploads() // counts script errors and CSP violations for pageClean
	del := `form[data-confirm] button[type=submit]`
	b.do("tap 削除", chromedp.Click(chromedp.CSS(del)))
	b.do("the question", chromedp.WaitVisible(chromedp.CSS(`dialog.ask`)))
	b.screenshot("asks")
	if got := eval[string](b, `document.querySelector('dialog.ask p').textContent`); !strings.Contains(got, name) {
		t.Errorf("the dialog says %q, want the file's name", got)
	}
	if focused := eval[string](b, `document.activeElement.textContent`); focused != "やめる" {
		t.Errorf("the focused button is %q, want やめる", focused)
	}
	b.do("cancel", chromedp.Click(chromedp.CSS(`dialog.ask .ask-buttons button:first-child`)))
	if x.rcpt.filesByName(x.box)[name] == "" {
		t.Fatal("cancelling deleted the file")
	}
	b.pageClean() // no script error, no CSP violation, before the page is left
	b.do("tap 削除 again", chromedp.Click(chromedp.CSS(del)))
	b.do("confirm", chromedp.Click(chromedp.CSS(`dialog.ask .button.danger`)))
	deadline := time.Now().Add(10 * time.Second)
	for x.rcpt.filesByName(x.box)[name] != "" {
		if time.Now().After(deadline) {
			t.Fatal("confirming did not delete the file")
		}
		time.Sleep(50 * time.Millisecond) // polling the server
	}
}
