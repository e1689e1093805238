package main

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestNewBoxKeepsWhatWasTyped (issue 15): searching for, adding and removing a
// recipient on 新しく送る keeps the message typed so far (it never goes into a
// URL), a chosen colleague stays in the results marked 追加済み instead of the
// page saying that nobody matches, and the box is then created as typed.
func TestNewBoxKeepsWhatWasTyped(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	x := newExchange(t, in)
	web := in.client()
	web.form("/login", "email", "sender@a.example.jp", "password", senderPassword)
	msg := "胸部CTの所見についてご意見をください"
	step := func(what string, kv ...string) string {
		t.Helper()
		status, page, h := web.form("/boxes/new", append([]string{"message", msg, "expiry", "24"}, kv...)...)
		if status != http.StatusOK {
			t.Fatalf("%s: %d", what, status)
		}
		if h.Get("Location") != "" {
			t.Fatalf("%s redirected to %s", what, h.Get("Location"))
		}
		if !strings.Contains(html.UnescapeString(page), ">"+msg+"</textarea>") {
			t.Errorf("%s lost the message", what)
		}
		if !strings.Contains(page, `value="24" selected`) {
			t.Errorf("%s lost the storage period", what)
		}
		return page
	}
	page := step("search", "q", "受", "search", "1")
	if !strings.Contains(page, `name="add" value="`+x.rcptID+`"`) {
		t.Fatalf("the search does not offer the colleague: %s", page)
	}
	page = step("add", "q", "受", "add", x.rcptID)
	if !strings.Contains(page, `name="to" value="`+x.rcptID+`"`) {
		t.Error("the colleague was not added")
	}
	if strings.Contains(page, "該当する会員はいません") {
		t.Error("right after the pick the page says that nobody matches")
	}
	if !strings.Contains(page, "追加済み") {
		t.Error("the chosen colleague is not marked as added in the results")
	}
	page = step("add another", "q", "部外", "to", x.rcptID, "add", x.outsideID)
	if !strings.Contains(page, `name="to" value="`+x.outsideID+`"`) || !strings.Contains(page, `name="to" value="`+x.rcptID+`"`) {
		t.Error("adding a second colleague dropped the first")
	}
	page = step("remove", "q", "部外", "to", x.rcptID, "to", x.outsideID, "remove", x.outsideID)
	if strings.Contains(page, `name="to" value="`+x.outsideID+`"`) {
		t.Error("the removed colleague is still chosen")
	}
	status, _, h := web.form("/boxes", "to", x.rcptID, "message", msg, "expiry", "24")
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/boxes/") {
		t.Fatalf("create: %d %s", status, h.Get("Location"))
	}
	_, box := web.get(strings.SplitN(h.Get("Location"), "?", 2)[0])
	if !strings.Contains(html.UnescapeString(box), msg) {
		t.Error("the box does not carry the message")
	}
}

// TestBrowserNewBoxOnAPhone: at 375 px a clinician types the message first, then
// finds and adds a colleague with the keyboard (Enter searches), and the message
// is still there.
func TestBrowserNewBoxOnAPhone(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	newExchange(t, in)
	b := newBrowser(t, phone)
	b.signIn(in, "sender@a.example.jp", senderPassword)
	b.open(in.url + "/boxes/new")
	msg := "造影CTです。ご確認ください。"
	b.do("type the message", chromedp.SendKeys(chromedp.CSS(`textarea[name=message]`), msg))
	b.do("search with Enter", chromedp.SendKeys(chromedp.CSS(`input[name=q]`), "受\r"))
	b.do("results", chromedp.WaitVisible(chromedp.CSS(`button[name=add]`)))
	b.do("add", chromedp.Click(chromedp.CSS(`button[name=add]`)))
	b.do("chip", chromedp.WaitVisible(chromedp.CSS(`.chip`)))
	b.screenshot("added")
	if got := eval[string](b, `document.querySelector('textarea[name=message]').value`); got != msg {
		t.Errorf("the message reads %q after adding a recipient, want %q", got, msg)
	}
	if eval[bool](b, `document.querySelector('button.primary').disabled`) {
		t.Error("create is still disabled with a recipient chosen")
	}
}
