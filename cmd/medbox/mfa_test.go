package main

import (
	"bytes"
	"encoding/base64"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
)

// Second factors (R-X2) and re-authentication (R-X8), end to end on both
// databases.

// totpUser is a client that knows its member's TOTP secret.
type totpUser struct {
	*client
	secret   string
	recovery []string
}

// code returns the TOTP code at the instance's time plus offset.
func (u *totpUser) code(offset time.Duration) string {
	u.t.Helper()
	c, err := auth.TOTPCode(u.secret, u.in.clock.Now().Add(offset))
	if err != nil {
		u.t.Fatal(err)
	}
	return c
}

// nextStep moves the clock into the next 30-second TOTP step, so that a fresh
// code exists (each step's code is accepted once).
func (in *instance) nextStep() { in.clock.Advance(30 * time.Second) }

// enrolTOTPAPI enrols an authenticator app for the client's member through the
// API and returns the secret and recovery codes.
func enrolTOTPAPI(t testing.TB, c *client) *totpUser {
	t.Helper()
	var begin map[string]string
	must(t, c.json("POST", "/api/v1/me/totp", nil, &begin), http.StatusCreated, "begin totp", begin)
	u := &totpUser{client: c, secret: begin["secret"]}
	if !strings.HasPrefix(begin["otpauth_url"], "otpauth://totp/") {
		t.Errorf("otpauth url = %q", begin["otpauth_url"])
	}
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	must(t, c.json("POST", "/api/v1/me/totp/confirm", map[string]string{"code": u.code(0)}, &out), http.StatusOK, "confirm totp")
	u.recovery = out.RecoveryCodes
	if len(u.recovery) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(u.recovery))
	}
	return u
}

// strictAdmin makes an administrator who has enrolled an authenticator app: the
// API sign-in of a new administrator may reach nothing but enrolment.
func (in *instance) strictAdmin(t *testing.T) *totpUser {
	t.Helper()
	c := in.newAdmin() // signs in through the API: the token must enrol first
	var out map[string]map[string]any
	if status := c.json("GET", "/api/v1/admin/members", nil, &out); status != http.StatusForbidden || out["error"]["code"] != "second_factor_enrolment_required" {
		t.Fatalf("administrator without a factor lists members: %d %v, want 403 second_factor_enrolment_required", status, out)
	}
	u := enrolTOTPAPI(t, c)
	must(t, c.json("GET", "/api/v1/admin/members", nil, nil), http.StatusOK, "administrator after enrolment")
	return u
}

// loginWeb posts the sign-in form and returns the status and redirect target.
func (c *client) loginWeb(email, password string) (int, string) {
	c.t.Helper()
	status, _, h := c.form("/login", "email", email, "password", password)
	return status, h.Get("Location")
}

// location GETs path and returns the status and redirect target.
func (c *client) location(path string) (int, string) {
	c.t.Helper()
	status, _, h := c.do("GET", path, nil, nil)
	return status, h.Get("Location")
}

var (
	secretRE   = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)</code>`)
	qrRE       = regexp.MustCompile(`<img class="qr" src="data:image/png;base64,([A-Za-z0-9+/=]+)"`)
	recoveryRE = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)
)

// enrolTOTPWeb enrols an authenticator app through the settings pages, as a
// member does: QR code and secret, a wrong code refused, the right one accepted,
// recovery codes shown once.
func enrolTOTPWeb(t *testing.T, c *client) *totpUser {
	t.Helper()
	status, page := c.get("/settings/2fa")
	must(t, status, http.StatusOK, "factors page", page)
	status, _, h := c.form("/settings/2fa/totp")
	if status != http.StatusSeeOther || h.Get("Location") != "/settings/2fa/totp" {
		t.Fatalf("begin totp: %d %q", status, h.Get("Location"))
	}
	status, page = c.get("/settings/2fa/totp")
	must(t, status, http.StatusOK, "totp page")
	m := secretRE.FindStringSubmatch(page)
	q := qrRE.FindStringSubmatch(html.UnescapeString(page))
	if m == nil || q == nil {
		t.Fatalf("totp page shows no secret or no QR code:\n%s", page)
	}
	raw, _ := base64.StdEncoding.DecodeString(q[1])
	if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() < 200 {
		t.Errorf("QR code is not a usable PNG: %v", err)
	}
	u := &totpUser{client: c, secret: strings.ReplaceAll(m[1], " ", "")}
	status, _, _ = c.form("/settings/2fa/totp/confirm", "code", "000000")
	if status != http.StatusBadRequest {
		t.Errorf("confirm with a wrong code: %d, want 400", status)
	}
	status, page, _ = c.form("/settings/2fa/totp/confirm", "code", u.code(0))
	must(t, status, http.StatusOK, "confirm totp", page)
	for _, m := range recoveryRE.FindAllStringSubmatch(page, -1) {
		u.recovery = append(u.recovery, m[1])
	}
	if len(u.recovery) != 10 {
		t.Fatalf("recovery page shows %d codes, want 10", len(u.recovery))
	}
	return u
}

// TestTOTPSignIn: an authenticator app enrolled in the settings pages makes the
// next web sign-in stop at /login/2fa; the partial session reaches nothing else,
// on the web or through the API; a code completes it and goes on to next; the
// API asks for the code with the password. The window, replays, recovery codes,
// sealing and audit: auth.TestTOTPEnrolment, auth.TestSecondStep and
// auth.TestAPISignInWithCode.
func TestTOTPSignIn(t *testing.T) {
	eachDBWith(t, nil, func(t *testing.T, in *instance) {
		admin := in.strictAdmin(t)
		in.approvedMember(admin.client, newMember{Email: "totp@example.jp"})
		const email, pw = "totp@example.jp", "correct horse battery"

		web := in.client()
		if status, loc := web.loginWeb(email, pw); status != http.StatusSeeOther || loc != "/" {
			t.Fatalf("sign-in without a factor: %d → %q", status, loc)
		}
		u := enrolTOTPWeb(t, web)

		// The next sign-in stops halfway. (Two steps on, so that the step before
		// the current one is not the one used at enrolment.)
		in.nextStep()
		in.nextStep()
		c := in.client()
		status, loc := c.loginWeb(email, pw)
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login/2fa") {
			t.Fatalf("sign-in with a factor: %d → %q, want /login/2fa", status, loc)
		}
		// The partial session reaches nothing but the second-factor page.
		for _, p := range []string{"/boxes", "/settings", "/members", "/invite", "/settings/2fa", "/withdraw"} {
			if status, loc := c.location(p); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login/2fa") {
				t.Errorf("partial session GET %s: %d → %q, want /login/2fa", p, status, loc)
			}
		}
		if status, _, _ := c.form("/settings/profile", "workplace", "x", "department", "y", "lang", "ja"); status != http.StatusUnauthorized {
			t.Errorf("partial session POST /settings/profile: %d, want 401", status)
		}
		for _, p := range []string{"/api/v1/me", "/api/v1/boxes", "/api/v1/me/factors"} {
			var out map[string]map[string]any
			if status := c.json("GET", p, nil, &out); status != http.StatusUnauthorized || out["error"]["code"] != "second_factor_required" {
				t.Errorf("partial session GET %s: %d %v, want 401 second_factor_required", p, status, out)
			}
		}
		if status, page := c.get("/login/2fa"); status != http.StatusOK || !strings.Contains(page, `name="code"`) {
			t.Fatalf("second-factor page: %d", status)
		}
		if status, _, _ := c.form("/login/2fa", "code", u.code(5*time.Minute), "next", "/boxes"); status != http.StatusUnauthorized {
			t.Errorf("wrong code: %d, want 401", status)
		}
		status, _, h := c.form("/login/2fa", "code", u.code(-30*time.Second), "next", "/boxes")
		if status != http.StatusSeeOther || h.Get("Location") != "/boxes" {
			t.Fatalf("code from the previous step: %d → %q", status, h.Get("Location"))
		}
		must(t, c.json("GET", "/api/v1/me", nil, nil), http.StatusOK, "after the second factor")

		// The API asks for the code with the password and never gives a token
		// without it.
		api := func(otp string) (int, map[string]any) {
			var out map[string]any
			body := map[string]string{"email": email, "password": pw}
			if otp != "" {
				body["otp"] = otp
			}
			return in.client().json("POST", "/api/v1/login", body, &out), out
		}
		if status, out := api(""); status != http.StatusUnauthorized || errCode(out) != "second_factor_required" || out["token"] != nil {
			t.Errorf("API sign-in without otp: %d %v", status, out)
		}
		if status, out := api("123456"); status != http.StatusUnauthorized || errCode(out) != "bad_credentials" {
			t.Errorf("API sign-in with a wrong otp: %d %v", status, out)
		}
		in.nextStep()
		if status, out := api(u.code(0)); status != http.StatusOK || out["token"] == nil {
			t.Fatalf("API sign-in with otp: %d %v", status, out)
		}
	})
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestAdministratorMustEnrol: a new administrator's session reaches only the
// enrolment pages until a factor is set up, and the last factor cannot go.
func TestAdministratorMustEnrol(t *testing.T) {
	eachDBWith(t, nil, func(t *testing.T, in *instance) {
		apiAdmin := in.newAdmin()
		email, pw := apiAdmin.user, apiAdmin.pass
		web := in.client()
		if status, loc := web.loginWeb(email, pw); status != http.StatusSeeOther || loc != "/settings/2fa" {
			t.Fatalf("administrator without a factor signs in: %d → %q, want /settings/2fa", status, loc)
		}
		for _, p := range []string{"/admin/members", "/admin/audit", "/settings", "/"} {
			status, loc := web.location(p)
			if p == "/" { // the home page is open to anyone: a partial session sees it as a stranger
				continue
			}
			if status != http.StatusSeeOther || loc != "/settings/2fa" {
				t.Errorf("administrator without a factor GET %s: %d → %q", p, status, loc)
			}
		}
		_, other := in.approvedMemberBy(t, nil, newMember{Email: "waiting@example.jp"})
		if status, _, _ := web.form("/admin/members/" + other + "/approve"); status != http.StatusUnauthorized {
			t.Errorf("administrator without a factor approves: %d, want 401", status)
		}
		status, page := web.get("/settings/2fa")
		if status != http.StatusOK || !strings.Contains(page, "二段階認証が必須") {
			t.Fatalf("enrolment page: %d", status)
		}
		if !strings.Contains(page, `action="/logout"`) || strings.Contains(page, "設定に戻る") {
			t.Error("the enrolment page an administrator owes should offer to sign out, not a way back to settings they cannot reach")
		}
		u := enrolTOTPWeb(t, web)
		if !strings.Contains(html.UnescapeString(mustGet(t, web, "/settings/2fa")), "設定済み") {
			t.Error("factors page does not show the authenticator app")
		}
		must(t, statusOf(web, "/admin/members"), http.StatusOK, "review queue after enrolment")
		if status, _, _ := web.form("/admin/members/" + other + "/approve"); status != http.StatusSeeOther {
			t.Errorf("approve after enrolment: %d", status)
		}
		// The only factor of an administrator cannot be removed.
		if status, _, _ := web.form("/settings/2fa/totp/remove"); status != http.StatusConflict {
			t.Errorf("removing the last factor: %d, want 409", status)
		}
		var out map[string]map[string]any
		if status := u.json("DELETE", "/api/v1/me/totp", nil, &out); status != http.StatusConflict || out["error"]["code"] != "last_factor" {
			t.Errorf("API removing the last factor: %d %v", status, out)
		}
		var f map[string]any
		must(t, web.json("GET", "/api/v1/me/factors", nil, &f), http.StatusOK, "factors")
		if f["required"] != true || f["totp"] != true {
			t.Errorf("factors = %v", f)
		}
	})
}

// approvedMemberBy registers and confirms a member, approving them when admin is
// given, and returns a client signed in through the API and the member's id.
func (in *instance) approvedMemberBy(t *testing.T, admin *client, m newMember) (*client, string) {
	t.Helper()
	if admin != nil {
		return in.approvedMember(admin, m)
	}
	c := in.client()
	status, body := c.registerAPI(m)
	must(t, status, http.StatusAccepted, "register", string(body))
	in.confirmFromMail(m.Email)
	me := c.login(m.Email, passwordOf(m))
	return c, me["id"].(string)
}

func mustGet(t *testing.T, c *client, path string) string {
	t.Helper()
	status, page := c.get(path)
	must(t, status, http.StatusOK, "GET "+path)
	return page
}

func statusOf(c *client, path string) int {
	status, _ := c.get(path)
	return status
}

// TestRequireSecondFactorForEveryone: with MEDBOX_REQUIRE_2FA members too must
// enrol before anything else, on the web and through the API.
func TestRequireSecondFactorForEveryone(t *testing.T) {
	eachDBWith(t, map[string]string{"MEDBOX_REQUIRE_2FA": "true"}, func(t *testing.T, in *instance) {
		admin := in.strictAdmin(t)
		c, _ := in.approvedMember(admin.client, newMember{Email: "policy@example.jp"})
		var out map[string]map[string]any
		if status := c.json("GET", "/api/v1/boxes", nil, &out); status != http.StatusForbidden || out["error"]["code"] != "second_factor_enrolment_required" {
			t.Errorf("member without a factor lists boxes: %d %v", status, out)
		}
		web := in.client()
		if status, loc := web.loginWeb("policy@example.jp", "correct horse battery"); loc != "/settings/2fa" {
			t.Fatalf("member sign-in under the policy: %d → %q", status, loc)
		}
		if status, loc := web.location("/boxes"); status != http.StatusSeeOther || loc != "/settings/2fa" {
			t.Errorf("GET /boxes before enrolment: %d → %q", status, loc)
		}
		u := enrolTOTPAPI(t, c)
		must(t, u.json("GET", "/api/v1/boxes", nil, nil), http.StatusOK, "boxes after enrolment")
		must(t, statusOf(web, "/boxes"), http.StatusOK, "web after enrolment")
	})
}

// secondFactorWeb completes a web sign-in with a TOTP code; remember ticks
// "remember this device".
func (u *totpUser) signInWeb(t *testing.T, c *client, email, password string, remember bool) {
	t.Helper()
	status, loc := c.loginWeb(email, password)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login/2fa") {
		t.Fatalf("sign-in: %d → %q, want /login/2fa", status, loc)
	}
	u.in.nextStep()
	kv := []string{"code", u.code(0)}
	if remember {
		kv = append(kv, "remember", "on")
	}
	status, _, _ = c.form("/login/2fa", kv...)
	must(t, status, http.StatusSeeOther, "second factor")
}

// TestRememberedDevice: "remember this device" at the second step sets the
// cookie that skips it at the next sign-in on that browser, not on another.
// The 30 days, the member it is for and what forgets it: auth.TestRememberedDevice.
func TestRememberedDevice(t *testing.T) {
	eachDBWith(t, nil, func(t *testing.T, in *instance) {
		admin := in.strictAdmin(t)
		const email, pw = "device@example.jp", "correct horse battery"
		api, _ := in.approvedMember(admin.client, newMember{Email: email})
		u := enrolTOTPAPI(t, api)

		laptop := in.client()
		u.signInWeb(t, laptop, email, pw, true)
		status, _, _ := laptop.form("/logout")
		must(t, status, http.StatusSeeOther, "sign out")
		if status, loc := laptop.loginWeb(email, pw); status != http.StatusSeeOther || loc != "/" {
			t.Errorf("sign-in on the remembered device: %d → %q, want / without the second step", status, loc)
		}
		if _, loc := in.client().loginWeb(email, pw); !strings.HasPrefix(loc, "/login/2fa") {
			t.Errorf("sign-in on another device: → %q, want /login/2fa", loc)
		}
	})
}

// TestAdministratorResetsFactors: an administrator's sign-out everywhere
// removes the member's factors when asked — reset_factors in the API's body, the
// checkbox on the member's page. What the reset does: auth.TestResetFactors.
func TestAdministratorResetsFactors(t *testing.T) {
	eachDBWith(t, map[string]string{"MEDBOX_REQUIRE_2FA": "true"}, func(t *testing.T, in *instance) {
		admin := in.strictAdmin(t)
		factors := func(id string) int {
			var n int
			in.db().QueryRowContext(t.Context(), `SELECT count(*) FROM mfa_totp WHERE member_id = $1`, id).Scan(&n)
			return n
		}
		byAPI, apiID := in.approvedMember(admin.client, newMember{Email: "lostphone@example.jp"})
		enrolTOTPAPI(t, byAPI)
		must(t, admin.json("POST", "/api/v1/admin/members/"+apiID+"/reset", map[string]bool{"reset_factors": true}, nil),
			http.StatusNoContent, "reset with factors")
		if n := factors(apiID); n != 0 {
			t.Errorf("after the API reset %d TOTP rows remain", n)
		}

		byWeb, webID := in.approvedMember(admin.client, newMember{Email: "lostphone2@example.jp"})
		enrolTOTPAPI(t, byWeb)
		aweb := in.client()
		admin.signInWeb(t, aweb, admin.user, admin.pass, false)
		status, _, h := aweb.form("/admin/members/"+webID+"/signout-everywhere", "reset_factors", "on", "confirmed", "yes")
		if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=signed_out_everywhere") {
			t.Fatalf("web reset: %d %q", status, h.Get("Location"))
		}
		if n := factors(webID); n != 0 {
			t.Errorf("after the web reset %d TOTP rows remain", n)
		}
	})
}

// TestReauthentication (R-X8): ten minutes after signing in, changing the password
// or approving a member asks for the password (and second factor) again; the API
// answers 403 reauth_required until the client signs in afresh. The window and
// what counts: auth.TestRecent and auth.TestReauthenticate.
func TestReauthentication(t *testing.T) {
	eachDBWith(t, nil, func(t *testing.T, in *instance) {
		admin := in.strictAdmin(t)
		const email, pw = "reauth@example.jp", "correct horse battery"
		in.approvedMember(admin.client, newMember{Email: email})

		web := in.client()
		web.loginWeb(email, pw)
		in.clock.Advance(9 * time.Minute)
		if status, loc := web.location("/settings"); status != http.StatusOK {
			t.Fatalf("settings page: %d %q", status, loc)
		}
		in.clock.Advance(2 * time.Minute)
		status, _, h := web.form("/settings/password", "current", pw, "password", "brand new pass 1", "password2", "brand new pass 1")
		if status != http.StatusSeeOther || h.Get("Location") != "/reauth?next=%2Fsettings" {
			t.Fatalf("password change 11 minutes after sign-in: %d → %q, want /reauth", status, h.Get("Location"))
		}
		if status, page := web.get("/reauth?next=%2Fsettings"); status != http.StatusOK || !strings.Contains(page, `name="password"`) || strings.Contains(page, `name="code"`) {
			t.Errorf("reauth page for a member without a factor: %d", status)
		}
		if status, _, _ := web.form("/reauth", "password", "wrong password!", "next", "/settings"); status != http.StatusUnauthorized {
			t.Errorf("reauth with a wrong password: %d", status)
		}
		status, _, h = web.form("/reauth", "password", pw, "next", "/settings")
		if status != http.StatusSeeOther || h.Get("Location") != "/settings" {
			t.Fatalf("reauth: %d → %q", status, h.Get("Location"))
		}
		status, _, h = web.form("/settings/password", "current", pw, "password", "brand new pass 1", "password2", "brand new pass 1")
		if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=password_changed") {
			t.Errorf("password change after reauth: %d → %q", status, h.Get("Location"))
		}

		// An administrator with a second factor gives it again too.
		_, waiting := in.approvedMemberBy(t, nil, newMember{Email: "queue@example.jp"})
		aweb := in.client()
		admin.signInWeb(t, aweb, admin.user, admin.pass, false)
		in.clock.Advance(11 * time.Minute)
		status, _, h = aweb.form("/admin/members/" + waiting + "/approve")
		want := "/reauth?next=" + url.QueryEscape("/admin/members/"+waiting)
		if status != http.StatusSeeOther || h.Get("Location") != want {
			t.Fatalf("approve 11 minutes after sign-in: %d → %q, want %q", status, h.Get("Location"), want)
		}
		if status, _, _ := aweb.form("/reauth", "password", admin.pass, "next", "/admin/members/"+waiting); status != http.StatusUnauthorized {
			t.Errorf("administrator's reauth without the second factor: %d, want 401", status)
		}
		in.nextStep()
		status, _, h = aweb.form("/reauth", "password", admin.pass, "code", admin.code(0), "next", "/admin/members/"+waiting)
		if status != http.StatusSeeOther || h.Get("Location") != "/admin/members/"+waiting {
			t.Fatalf("administrator's reauth: %d → %q", status, h.Get("Location"))
		}
		if status, _, h := aweb.form("/admin/members/" + waiting + "/approve"); status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=approved") {
			t.Errorf("approve after reauth: %d → %q", status, h.Get("Location"))
		}

		// The API: a token older than ten minutes may not approve or change the
		// e-mail address; signing in again gives a token that may.
		_, waiting2 := in.approvedMemberBy(t, nil, newMember{Email: "queue2@example.jp"})
		in.nextStep()
		var out map[string]any
		must(t, in.client().json("POST", "/api/v1/login", map[string]string{"email": admin.user, "password": admin.pass, "otp": admin.code(0)}, &out),
			http.StatusOK, "administrator API sign-in")
		admin.tok = out["token"].(string)
		in.clock.Advance(11 * time.Minute)
		var eout map[string]any
		if status := admin.json("POST", "/api/v1/admin/members/"+waiting2+"/approve", nil, &eout); status != http.StatusForbidden || errCode(eout) != "reauth_required" {
			t.Errorf("API approve with an old token: %d %v, want 403 reauth_required", status, eout)
		}
		member := in.client()
		member.login(email, "brand new pass 1")
		in.clock.Advance(11 * time.Minute)
		if status := member.json("PATCH", "/api/v1/me", map[string]string{"email": "new@example.jp", "password": "brand new pass 1"}, &eout); status != http.StatusForbidden || errCode(eout) != "reauth_required" {
			t.Errorf("API e-mail change with an old token: %d %v", status, eout)
		}
		in.nextStep()
		must(t, in.client().json("POST", "/api/v1/login", map[string]string{"email": admin.user, "password": admin.pass, "otp": admin.code(0)}, &out),
			http.StatusOK, "administrator signs in again")
		admin.tok = out["token"].(string)
		must(t, admin.json("POST", "/api/v1/admin/members/"+waiting2+"/approve", nil, nil), http.StatusNoContent, "approve with a fresh token")
	})
}

// TestSecondFactorFailuresLock: on the web, the fifth wrong code shows the lock
// message and ends the partial session. What counts towards the lock, and the
// API: auth.TestSecondFactorFailuresLock.
func TestSecondFactorFailuresLock(t *testing.T) {
	eachDBWith(t, nil, func(t *testing.T, in *instance) {
		admin := in.strictAdmin(t)
		const email, pw = "guess@example.jp", "correct horse battery"
		api, _ := in.approvedMember(admin.client, newMember{Email: email})
		enrolTOTPAPI(t, api)

		c := in.client()
		c.loginWeb(email, pw)
		for i := range 4 {
			if status, _, _ := c.form("/login/2fa", "code", "00000"+string(rune('0'+i))); status != http.StatusUnauthorized {
				t.Fatalf("wrong code %d: %d", i+1, status)
			}
		}
		status, page, _ := c.form("/login/2fa", "code", "999999")
		if status != http.StatusUnauthorized || !strings.Contains(page, "ロック") {
			t.Fatalf("fifth wrong code: %d, want the lock message", status)
		}
		if status, loc := c.location("/login/2fa"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") || strings.HasPrefix(loc, "/login/2fa") {
			t.Errorf("partial session after the lock: %d → %q, want it ended", status, loc)
		}
	})
}
