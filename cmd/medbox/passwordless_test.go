package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/medbox-jp/medbox/internal/audit"
)

// TestBrowserPasswordlessSignIn (issue 14 §5): a member who added a passkey signs
// in with it alone at phone width — no e-mail address, no password, no code: the
// browser offers the passkey it holds (a discoverable credential, verified by the
// device), and the session is whole at once, the passkey counting as both
// factors. The sign-in is audited as such.
func TestBrowserPasswordlessSignIn(t *testing.T) {
	in := passkeyInstance(t, instanceOptions{})
	admin := in.admin()
	const email, pw = "nopassword@example.jp", "stethoscope 2026"
	_, id := in.approvedMember(admin, newMember{Email: email, Password: pw, Name: "高橋 一郎", Kana: "たかはし いちろう"})

	b := newBrowser(t, phone)
	authenticator := addAuthenticator(b)
	b.open(in.url + "/login")
	b.fill("fill sign-in", `input[name=email]`, email, `input[name=password]`, pw)
	b.submit("sign in", `form[action="/login"] button`, "/boxes")
	b.open(in.url + "/settings/2fa")
	b.do("wait for passkey form", chromedp.WaitVisible(chromedp.CSS(`form[data-passkey=create] button`)))
	b.fill("name the passkey", `form[data-passkey=create] input[name=name]`, "スマートフォン")
	b.submit("add a passkey", `form[data-passkey=create] button`, "/settings/2fa/passkeys")
	if n := credentials(b, authenticator); n != 1 {
		t.Fatalf("the authenticator holds %d credentials, want 1", n)
	}
	b.submit("sign out", `form[action="/logout"] button`, "/login")

	b.do("the passkey button", chromedp.WaitVisible(chromedp.CSS(`form[data-passkey=signin] button[data-passkey-start]`)))
	b.screenshot("login-with-passkey")
	b.fitsWidth("sign-in page")
	b.submit("sign in with the passkey", `form[data-passkey=signin] button[data-passkey-start]`, "/boxes")
	if got := b.location(); !strings.HasPrefix(got, "/boxes") {
		t.Fatalf("after the passkey at %s, want the member's exchanges", got)
	}
	evs, _ := in.app.Audit.List(t.Context(), audit.Filter{Action: "auth.second_factor", Actor: id})
	var passwordless bool
	for _, e := range evs {
		passwordless = passwordless || e.Detail["method"] == "passkey_passwordless"
	}
	if !passwordless {
		t.Errorf("the passwordless sign-in is not audited as one: %+v", evs)
	}
}

// TestPasswordlessRefusals: an answer without the browser's ticket, or with a
// made-up credential, gets the sign-in page again with one message and no session.
func TestPasswordlessRefusals(t *testing.T) {
	in := passkeyInstance(t, instanceOptions{})
	c := in.client()
	status, page, h := c.form("/login/passkey", "passkey", `{"id":"x","rawId":"eA","type":"public-key","response":{}}`)
	if status != http.StatusUnauthorized || !strings.Contains(page, "パスキーでログインできませんでした") || strings.Contains(h.Get("Set-Cookie"), "medbox_session=") && !strings.Contains(h.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("a passkey answer without a ceremony: %d, set-cookie %q", status, h.Get("Set-Cookie"))
	}
	status, body, _ := c.do("POST", "/login/passkey/options", nil, map[string]string{"Origin": in.url, "Sec-Fetch-Site": "same-origin"})
	if status != http.StatusOK || !strings.Contains(string(body), `"challenge"`) || strings.Contains(string(body), `"allowCredentials"`) {
		t.Errorf("options: %d %s, want a challenge and no named credentials", status, body)
	}
	status, page, _ = c.form("/login/passkey", "passkey", `{"id":"x","rawId":"eA","type":"public-key","response":{}}`)
	if status != http.StatusUnauthorized || !strings.Contains(page, "パスキーでログインできませんでした") {
		t.Errorf("a made-up credential: %d", status)
	}
}
