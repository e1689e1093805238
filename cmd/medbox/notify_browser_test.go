package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserUnreadAndTriggers: at phone width, a new box shows as unread in the
// inbox until it is opened, and the mail triggers (設定 → 発信トリガー) can be
// switched off and stay off.
func TestBrowserUnreadAndTriggers(t *testing.T) {
	in := startInstance(t, instanceOptions{env: smallChunks})
	x := newExchange(t, in)
	x.sender.upload(x.box, "ct.jpg", jpeg(90, 5000))
	b := newBrowser(t, phone)
	b.open(in.url + "/login")
	b.fill("sign in", `input[name=email]`, "rcpt@b.example.jp", `input[name=password]`, "correct horse battery")
	b.submit("sign in", `form[action="/login"] button`, "/boxes")
	if n := eval[int](b, `document.querySelectorAll("#inbox .box-line.unread .dot").length`); n != 1 {
		t.Errorf("unread marks in the inbox: %d, want 1", n)
	}
	b.screenshot("inbox-unread")
	b.fitsWidth("inbox")
	b.do("open the box", chromedp.Click(chromedp.CSS(`#inbox .box-line a`)))
	b.do("wait for the box", chromedp.WaitVisible(chromedp.CSS(`#files`)))
	b.open(in.url + "/boxes")
	if n := eval[int](b, `document.querySelectorAll("#inbox .box-line.unread").length`); n != 0 {
		t.Errorf("unread marks after opening the box: %d, want 0", n)
	}
	b.screenshot("inbox-read")

	b.open(in.url + "/settings#triggers")
	if got := b.text("#triggers h2"); !strings.Contains(got, "発信トリガー") {
		t.Errorf("triggers heading %q", got)
	}
	b.fitsWidth("settings")
	b.screenshot("settings-triggers")
	b.do("switch off file mails", chromedp.Click(chromedp.CSS(`#triggers input[name=file_added]`)))
	b.submit("save triggers", `#triggers button[type=submit]`, "done=triggers_saved")
	if on := eval[bool](b, `document.querySelector("#triggers input[name=file_added]").checked`); on {
		t.Error("the file trigger is still on after saving it off")
	}
	if on := eval[bool](b, `document.querySelector("#triggers input[name=comment]").checked`); !on {
		t.Error("the comment trigger went off with the file trigger")
	}
	b.screenshot("settings-saved")
}
