package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/auth"
)

// passkeyInstance starts an instance whose public address is http://localhost:P
// — a browser accepts no IP address as a passkey's relying party — listening on
// 127.0.0.1:P. The harness reaches it at that address too.
func passkeyInstance(t *testing.T, o instanceOptions) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if o.env == nil {
		o.env = map[string]string{}
	}
	o.env["MEDBOX_LISTEN"] = fmt.Sprintf("127.0.0.1:%d", port)
	o.env["MEDBOX_BASE_URL"] = fmt.Sprintf("http://localhost:%d", port)
	in := startInstance(t, o)
	if !in.app.Auth.PasskeysAvailable() {
		t.Fatalf("passkeys unavailable at %s", in.url)
	}
	return in
}

// addAuthenticator gives the browser tab a virtual platform authenticator (CTAP2,
// internal transport, resident keys, user verification that succeeds), as a
// phone with a fingerprint reader would be.
func addAuthenticator(b *browser) webauthn.AuthenticatorID {
	b.t.Helper()
	var id webauthn.AuthenticatorID
	b.do("add a virtual authenticator", chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tgt, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tgt, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Ctap2version:                webauthn.Ctap2versionCtap21,
				Transport:                   webauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true,
			}})
		id = res.AuthenticatorID
		return err
	}))
	return id
}

// credentials returns how many credentials the virtual authenticator holds.
func credentials(b *browser, id webauthn.AuthenticatorID) int {
	b.t.Helper()
	var n int
	b.do("list credentials", chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		res, err := cdp.Call(ctx, tgt, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		n = len(res.Credentials)
		return err
	}))
	return n
}

// TestBrowserPasskey walks passkeys in a real browser at phone width: a member
// adds a passkey in settings (and is shown recovery codes once), signs out, signs
// in with password and passkey, and later re-authenticates with the passkey for a
// sensitive page.
func TestBrowserPasskey(t *testing.T) {
	in := passkeyInstance(t, instanceOptions{})
	base := in.url
	admin := in.admin()
	const email, pw = "passkey@example.jp", "stethoscope 2026"
	_, id := in.approvedMember(admin, newMember{Email: email, Password: pw, Name: "鈴木 花子", Kana: "すずき はなこ"})

	b := newBrowser(t, phone)
	authenticator := addAuthenticator(b)
	login := func(want string) {
		b.open(base + "/login")
		b.fill("fill sign-in", `input[name=email]`, email, `input[name=password]`, pw)
		b.submit("sign in", `form[action="/login"] button`, want)
	}
	login("/boxes")

	b.open(base + "/settings")
	b.do("find the two-step section", chromedp.WaitVisible(chromedp.CSS(`#second-factor a.button`)))
	b.submit("open two-step settings", `#second-factor a.button`, "/settings/2fa")
	b.do("wait for passkey form", chromedp.WaitVisible(chromedp.CSS(`form[data-passkey=create] button`)))
	b.screenshot("factors-empty")
	b.fitsWidth("factors page")
	b.fill("name the passkey", `form[data-passkey=create] input[name=name]`, "わたしのスマートフォン")
	b.submit("add a passkey", `form[data-passkey=create] button`, "/settings/2fa/passkeys")
	if n := eval[float64](b, `document.querySelectorAll("#recovery-codes li").length`); n != 10 {
		b.screenshot("no-recovery-codes")
		t.Fatalf("after the first passkey the page shows %v recovery codes, want 10", n)
	}
	b.screenshot("recovery-codes")
	b.fitsWidth("recovery codes")
	if n := credentials(b, authenticator); n != 1 {
		t.Errorf("the authenticator holds %d credentials, want 1", n)
	}
	b.submit("saved the codes", `a.button.primary`, "done=passkey_added")
	if got := b.text("#passkeys .factors"); !strings.Contains(got, "わたしのスマートフォン") {
		t.Errorf("passkey list shows %q", got)
	}
	b.screenshot("factors-with-passkey")
	b.fitsWidth("factors page with a passkey")
	in.lastMailTo(email, "パスキー")

	// Signing in now needs the passkey after the password.
	b.submit("sign out", `form[action="/logout"] button`, "/login")
	login("/login/2fa")
	b.do("wait for passkey button", chromedp.WaitVisible(chromedp.CSS(`button[data-passkey-start]`)))
	b.screenshot("second-factor")
	b.fitsWidth("second-factor page")
	b.submit("verify with the passkey", `button[data-passkey-start]`, "/boxes")

	// Eleven minutes later the two-step settings ask again; the passkey answers.
	in.clock.Advance(11 * time.Minute)
	b.open(base + "/settings/2fa")
	if loc := b.location(); !strings.HasPrefix(loc, "/reauth") {
		t.Fatalf("two-step settings 11 minutes after sign-in: at %s, want /reauth", loc)
	}
	b.fill("password again", `input[name=password]`, pw)
	b.screenshot("reauth")
	b.fitsWidth("reauth page")
	b.submit("confirm with password and passkey", `button[data-passkey-start]`, "/settings/2fa")
	if loc := b.location(); strings.HasPrefix(loc, "/reauth") {
		t.Fatalf("still at %s after re-authenticating", loc)
	}

	// An authenticator app beside the passkey: the QR code page at phone width.
	b.submit("set up an authenticator app", `#totp form[action="/settings/2fa/totp"] button`, "/settings/2fa/totp")
	b.do("wait for the QR code", chromedp.WaitVisible(chromedp.CSS(`img.qr`)))
	if ok := eval[bool](b, `document.querySelector("img.qr").naturalWidth >= 200`); !ok {
		t.Error("the QR code image did not load")
	}
	b.screenshot("totp")
	b.fitsWidth("totp page")
	code, err := auth.TOTPCode(b.text("#totp-secret"), in.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.fill("type the code", `input[name=code]`, code)
	b.submit("confirm the app", `form[action="/settings/2fa/totp/confirm"] button`, "done=totp_added")
	b.screenshot("factors-both")

	var used int64
	in.db().QueryRowContext(t.Context(), `SELECT last_used_at FROM passkeys WHERE member_id = $1`, id).Scan(&used)
	if used == 0 {
		t.Error("the passkey's last use was not recorded")
	}
	evs, _ := in.app.Audit.List(t.Context(), audit.Filter{Action: "auth.second_factor", Actor: id})
	if len(evs) != 1 || evs[0].Detail["method"] != "passkey" || evs[0].Result != audit.OK {
		t.Errorf("second-factor audit = %+v", evs)
	}
	if evs, _ := in.app.Audit.List(t.Context(), audit.Filter{Action: "auth.reauth", Actor: id}); len(evs) != 1 || evs[0].Detail["reason"] != "passkey" {
		t.Errorf("reauth audit = %+v", evs)
	}
}
