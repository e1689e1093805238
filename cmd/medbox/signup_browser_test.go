package main

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/medbox-jp/medbox/internal/auth"
)

// TestBrowserSignUpPath walks the life of a member in a real browser, at phone and
// desktop width: the first administrator from the setup link, a doctor registering
// with a licence photo, confirming from the outbox, the administrator approving
// them, and the doctor signing in and finding a colleague in the directory.
func TestBrowserSignUpPath(t *testing.T) {
	for _, vp := range []viewport{phone, desktop} {
		t.Run(vp.name, func(t *testing.T) { signUpPath(t, vp) })
	}
}

var setupRE = regexp.MustCompile(`https?://\S+/setup\?token=\S+`)

func signUpPath(t *testing.T, vp viewport) {
	in := startInstance(t, instanceOptions{})
	b := newBrowser(t, vp)
	link := setupRE.FindString(in.out.String())
	if link == "" {
		t.Fatalf("serve printed no setup link:\n%s", in.out.String())
	}
	// A colleague to find later.
	helper := in.client()
	helper.registerAPI(newMember{Email: "colleague@example.jp", Name: "佐藤 花子", Kana: "さとう はなこ", Workplace: "北町クリニック"})
	in.confirmFromMail("colleague@example.jp")

	b.open(link)
	b.screenshot("setup")
	b.fitsWidth("setup")
	b.fill("fill setup", `input[name=name]`, "管理 花子", `input[name=email]`, "admin@hospital.example.jp",
		`input[name=password]`, "kanri secret 2026", `input[name=password2]`, "kanri secret 2026")
	b.submit("create administrator", `form[action="/setup"] button`, "/login")
	if got := b.text(".notice"); !strings.Contains(got, "管理者を作成しました") {
		t.Errorf("after setup the notice says %q", got)
	}

	b.open(in.url + "/register")
	b.fitsWidth("register")
	proof := filepath.Join(t.TempDir(), "menkyo.png")
	if err := os.WriteFile(proof, pngProof(t, "browser"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.fill("fill registration", `input[name=email]`, "doctor@hospital.example.jp", `input[name=password]`, "stethoscope 2026",
		`input[name=password2]`, "stethoscope 2026", `input[name=name]`, "鈴木 一郎", `input[name=name_kana]`, "すずき いちろう",
		`select[name=profession]`, "doctor", `input[name=license_number]`, "654321", `input[name=workplace]`, "東京中央病院",
		`input[name=department]`, "放射線科")
	b.do("attach proof", chromedp.SetUploadFiles(chromedp.CSS(`input[name=proof]`), []string{proof}))
	b.screenshot("register-filled")
	b.submit("register", `form[action="/register"] button[type=submit]`, "/register")
	if got := b.text("h1"); !strings.Contains(got, "確認メールを送りました") {
		b.screenshot("register-result")
		t.Fatalf("after registering the page says %q", got)
	}
	b.screenshot("registered")

	confirm := in.lastMailTo("doctor@hospital.example.jp", "/confirm?token=").link(t, "/confirm?token=")
	b.open(confirm)
	b.screenshot("confirm")
	b.submit("confirm", `form[action="/confirm"] button`, "/login")

	login := func(email, password string) {
		b.open(in.url + "/login")
		b.fill("fill sign-in", `input[name=email]`, email, `input[name=password]`, password)
		b.submit("sign in as "+email, `form[action="/login"] button`, "/")
	}
	logout := func() { b.submit("sign out", `form[action="/logout"] button`, "/login") }

	login("doctor@hospital.example.jp", "stethoscope 2026")
	if loc := b.location(); !strings.HasPrefix(loc, "/pending") {
		t.Errorf("a member awaiting review lands on %s, want /pending", loc)
	}
	b.screenshot("pending")
	b.fitsWidth("pending")
	logout()

	// A new administrator sets up an authenticator app before anything else.
	login("admin@hospital.example.jp", "kanri secret 2026")
	if loc := b.location(); !strings.HasPrefix(loc, "/settings/2fa") {
		t.Fatalf("a new administrator lands on %s, want /settings/2fa", loc)
	}
	b.screenshot("admin-must-enrol")
	b.fitsWidth("admin-must-enrol")
	b.submit("set up an authenticator app", `form[action="/settings/2fa/totp"] button`, "/settings/2fa/totp")
	b.screenshot("admin-totp")
	b.fitsWidth("admin-totp")
	code, err := auth.TOTPCode(strings.ReplaceAll(b.text("#totp-secret"), " ", ""), in.clock.Now())
	if err != nil {
		t.Fatalf("the secret the page shows: %v", err)
	}
	b.fill("type the app's code", `input[name=code]`, code)
	b.submit("confirm the app", `form[action="/settings/2fa/totp/confirm"] button`, "/settings/2fa/totp/confirm")
	if n := eval[float64](b, `document.querySelectorAll("#recovery-codes li").length`); n != 10 {
		t.Errorf("after enrolling the page shows %v recovery codes, want 10", n)
	}
	b.fitsWidth("admin-recovery-codes")
	b.submit("saved the codes", `a.button.primary`, "/admin/members")
	b.screenshot("review-queue")
	b.fitsWidth("review-queue")
	b.do("open the applicant", chromedp.Click(`//a[contains(., "鈴木 一郎")]`))
	b.do("wait for member page", chromedp.WaitVisible(chromedp.CSS(`img.proof`)))
	if ok := eval[bool](b, `document.querySelector("img.proof").naturalWidth > 0`); !ok {
		t.Error("the licence proof image did not load for the administrator")
	}
	b.screenshot("review-member")
	b.fitsWidth("review-member")
	b.submit("approve", `form[action$="/approve"] button`, "done=approved")
	// Approve the colleague too, so the directory has someone to show.
	b.open(in.url + "/admin/members?status=pending")
	b.do("open the colleague", chromedp.Click(`//a[contains(., "佐藤 花子")]`))
	b.do("wait", chromedp.WaitVisible(chromedp.CSS(`form[action$="/approve"] button`)))
	b.submit("approve colleague", `form[action$="/approve"] button`, "done=approved")
	logout()

	login("doctor@hospital.example.jp", "stethoscope 2026")
	if loc := b.location(); !strings.HasPrefix(loc, "/boxes") {
		t.Errorf("an approved member lands on %s, want /boxes", loc)
	}
	b.screenshot("boxes")
	b.fitsWidth("boxes")
	b.open(in.url + "/members")
	b.fill("search", `input[name=q]`, "さとう")
	b.submit("search the directory", `form[role=search] button`, "q=")
	got := b.text(".people")
	if !strings.Contains(got, "佐藤 花子") || strings.Contains(got, "colleague@example.jp") {
		t.Errorf("directory shows %q", got)
	}
	b.screenshot("directory")
	b.fitsWidth("directory")

	b.open(in.url + "/settings")
	b.screenshot("settings")
	b.fitsWidth("settings")
	b.open(in.url + "/lang/en?next=" + url.QueryEscape("/settings"))
	if got := b.text("h1"); got != "Settings" {
		t.Errorf("after switching to English the heading is %q", got)
	}
	b.screenshot("settings-en")
}
