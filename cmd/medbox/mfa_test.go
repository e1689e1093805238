package main

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// Second factors (R-X2) and re-authentication (R-X8), end to end on both
// databases. Administrators here must enrol a second factor, as in production.

// eachStrictDB runs fn on SQLite and PostgreSQL instances where administrators
// must have a second factor, with env added to the configuration.
func eachStrictDB(t *testing.T, env map[string]string, fn func(t *testing.T, in *instance)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, startInstance(t, instanceOptions{env: env, adminSecondFactor: true})) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, startInstance(t, instanceOptions{database: sqltest.NewPostgresURL(t), env: env, adminSecondFactor: true}))
	})
}

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
func enrolTOTPAPI(t *testing.T, c *client) *totpUser {
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
	c := in.admin() // signs in through the API: the token must enrol first
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

// TestTOTPSignIn: an authenticator app enrolled in settings makes the next
// sign-in ask for its code; a code works once, only near its time step; a
// recovery code works once; a partial session reaches nothing else, on the web
// or through the API; the secret is sealed at rest, and the audit log records
// every step without a secret.
func TestTOTPSignIn(t *testing.T) {
	eachStrictDB(t, nil, func(t *testing.T, in *instance) {
		admin := in.strictAdmin(t)
		_, id := in.approvedMember(admin.client, newMember{Email: "totp@example.jp"})
		const email, pw = "totp@example.jp", "correct horse battery"

		web := in.client()
		if status, loc := web.loginWeb(email, pw); status != http.StatusSeeOther || loc != "/" {
			t.Fatalf("sign-in without a factor: %d → %q", status, loc)
		}
		u := enrolTOTPWeb(t, web)
		mail := in.lastMailTo(email, "/settings/2fa")
		if !strings.Contains(mail.Subject, "認証アプリが設定されました") {
			t.Errorf("enrolment mail subject = %q", mail.Subject)
		}

		// At rest the secret is sealed under a data key of its own.
		raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.secret)
		var keyID string
		var sealed []byte
		if err := in.db().QueryRowContext(t.Context(), `SELECT key_id, secret FROM mfa_totp WHERE member_id = $1 AND state = 'active'`, id).Scan(&keyID, &sealed); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, raw[:8]) || bytes.Contains(sealed, []byte(u.secret[:8])) {
			t.Error("the stored TOTP secret contains the plaintext")
		}
		var keys int
		in.db().QueryRowContext(t.Context(), `SELECT count(*) FROM seal_keys WHERE id = $1`, keyID).Scan(&keys)
		if keys != 1 {
			t.Errorf("the TOTP data key is not in seal_keys (%d rows)", keys)
		}

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

		// A code from two steps ago, or from two steps ahead, is refused.
		for _, off := range []time.Duration{-65 * time.Second, 65 * time.Second} {
			if status, _, _ := c.form("/login/2fa", "code", u.code(off), "next", "/boxes"); status != http.StatusUnauthorized {
				t.Errorf("code from %v away: %d, want 401", off, status)
			}
		}
		// One step of skew is allowed.
		status, _, h := c.form("/login/2fa", "code", u.code(-30*time.Second), "next", "/boxes")
		if status != http.StatusSeeOther || h.Get("Location") != "/boxes" {
			t.Fatalf("code from the previous step: %d → %q", status, h.Get("Location"))
		}
		must(t, c.json("GET", "/api/v1/me", nil, nil), http.StatusOK, "after the second factor")
		// The current code is still unused; once used, it is refused.
		c2 := in.client()
		c2.loginWeb(email, pw)
		code := u.code(0)
		status, _, _ = c2.form("/login/2fa", "code", code)
		must(t, status, http.StatusSeeOther, "current code")
		c3 := in.client()
		c3.loginWeb(email, pw)
		if status, _, _ := c3.form("/login/2fa", "code", code); status != http.StatusUnauthorized {
			t.Errorf("reused code: %d, want 401", status)
		}
		// Nor does an older step work once a later one has been used.
		if status, _, _ := c3.form("/login/2fa", "code", u.code(-30*time.Second)); status != http.StatusUnauthorized {
			t.Errorf("code of an earlier step after a later one: %d, want 401", status)
		}

		// A recovery code works once.
		rc := strings.ToUpper(u.recovery[3]) // typed in capitals, with hyphens
		if status, _, _ := c3.form("/login/2fa", "code", rc); status != http.StatusSeeOther {
			t.Fatalf("recovery code: %d", status)
		}
		c4 := in.client()
		c4.loginWeb(email, pw)
		if status, _, _ := c4.form("/login/2fa", "code", rc); status != http.StatusUnauthorized {
			t.Errorf("recovery code used twice: %d, want 401", status)
		}

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
		code = u.code(0)
		if status, out := api(code); status != http.StatusOK || out["token"] == nil {
			t.Fatalf("API sign-in with otp: %d %v", status, out)
		}
		if status, _ := api(code); status != http.StatusUnauthorized {
			t.Errorf("API sign-in with a reused otp: %d, want 401", status)
		}
		if status, _ := api(u.recovery[5]); status != http.StatusOK {
			t.Errorf("API sign-in with a recovery code: %d", status)
		}

		// The audit log has every step, and no secret.
		for action, want := range map[string]int{"auth.factor.add": 1} {
			if evs, _ := in.app.Audit.List(t.Context(), audit.Filter{Action: action, Actor: id}); len(evs) != want {
				t.Errorf("%d %s events, want %d", len(evs), action, want)
			}
		}
		uses, _ := in.app.Audit.List(t.Context(), audit.Filter{Action: "auth.second_factor", Actor: id})
		var ok, failed int
		for _, e := range uses {
			switch e.Result {
			case audit.OK:
				ok++
			case audit.Failed:
				failed++
			}
			for _, v := range e.Detail {
				if strings.Contains(v, code) || strings.Contains(strings.ToLower(v), u.recovery[3][:4]) {
					t.Errorf("audit detail holds a code: %v", e.Detail)
				}
			}
		}
		if ok < 5 || failed < 5 {
			t.Errorf("second-factor audit: %d ok, %d failed; want at least 5 of each", ok, failed)
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
	eachStrictDB(t, nil, func(t *testing.T, in *instance) {
		apiAdmin := in.admin()
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
	eachStrictDB(t, map[string]string{"MEDBOX_REQUIRE_2FA": "true"}, func(t *testing.T, in *instance) {
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

// TestRememberedDevice: a device remembered at the second step skips it for the
// next sign-in, until the member signs out everywhere (lost device).
func TestRememberedDevice(t *testing.T) {
	eachStrictDB(t, nil, func(t *testing.T, in *instance) {
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
		// The remembered device of one member does not help another.
		admin2 := in.client()
		admin2.http.Jar.SetCookies(mustURL(in.url), laptop.http.Jar.Cookies(mustURL(in.url)))
		if _, loc := admin2.loginWeb(admin.user, admin.pass); !strings.HasPrefix(loc, "/login/2fa") {
			t.Errorf("another member on the remembered device: → %q, want /login/2fa", loc)
		}

		// Lost device: sign out everywhere forgets every remembered device.
		status, _, _ = laptop.form("/settings/signout-everywhere", "confirmed", "yes")
		must(t, status, http.StatusSeeOther, "sign out everywhere")
		link := in.lastMailTo(email, "/reset?token=").link(t, "/reset?token=")
		lu, _ := url.Parse(link)
		status, _, _ = in.client().form("/reset/new", "token", lu.Query().Get("token"), "password", "a new password 2026", "password2", "a new password 2026")
		must(t, status, http.StatusSeeOther, "new password")
		if _, loc := laptop.loginWeb(email, "a new password 2026"); !strings.HasPrefix(loc, "/login/2fa") {
			t.Errorf("sign-in after sign-out everywhere on the once remembered device: → %q, want /login/2fa", loc)
		}
		// Remembering expires after 30 days.
		u.in.nextStep()
		status, _, _ = laptop.form("/login/2fa", "code", u.code(0), "remember", "on")
		must(t, status, http.StatusSeeOther, "second factor")
		laptop.form("/logout")
		in.clock.Advance(31 * 24 * time.Hour)
		if _, loc := laptop.loginWeb(email, "a new password 2026"); !strings.HasPrefix(loc, "/login/2fa") {
			t.Errorf("sign-in 31 days later: → %q, want /login/2fa", loc)
		}
	})
}

// TestAdministratorResetsFactors: for a member who lost their phone, an
// administrator's sign-out everywhere with reset_factors removes the factors, so
// the member signs in with a new password and enrols again.
func TestAdministratorResetsFactors(t *testing.T) {
	eachStrictDB(t, map[string]string{"MEDBOX_REQUIRE_2FA": "true"}, func(t *testing.T, in *instance) {
		admin := in.strictAdmin(t)
		const email = "lostphone@example.jp"
		api, id := in.approvedMember(admin.client, newMember{Email: email})
		enrolTOTPAPI(t, api)
		var keyID string
		in.db().QueryRowContext(t.Context(), `SELECT key_id FROM mfa_totp WHERE member_id = $1`, id).Scan(&keyID)

		must(t, admin.json("POST", "/api/v1/admin/members/"+id+"/reset", map[string]bool{"reset_factors": true}, nil),
			http.StatusNoContent, "reset with factors")
		var rows, keys int
		in.db().QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM mfa_totp WHERE member_id = $1)
			+ (SELECT count(*) FROM mfa_recovery WHERE member_id = $1)`, id).Scan(&rows)
		in.db().QueryRowContext(t.Context(), `SELECT count(*) FROM seal_keys WHERE id = $1`, keyID).Scan(&keys)
		if rows != 0 || keys != 0 {
			t.Errorf("after reset: %d factor rows and %d data keys remain", rows, keys)
		}
		// The enrolment mail links to /settings/2fa too, and both can be written in
		// the same clock tick: find the reset mail by its subject, not by order.
		var subjects []string
		for _, m := range in.outbox() {
			if strings.Contains(m.To, email) && strings.Contains(m.Text, "/settings/2fa") {
				subjects = append(subjects, m.Subject)
			}
		}
		if !slices.ContainsFunc(subjects, func(s string) bool { return strings.Contains(s, "二段階認証の設定が削除されました") }) {
			t.Errorf("no factor-reset mail to %s; subjects: %q", email, subjects)
		}
		link := in.lastMailTo(email, "/reset?token=").link(t, "/reset?token=")
		lu, _ := url.Parse(link)
		status, _, _ := in.client().form("/reset/new", "token", lu.Query().Get("token"), "password", "after the loss 2026", "password2", "after the loss 2026")
		must(t, status, http.StatusSeeOther, "new password")
		web := in.client()
		if _, loc := web.loginWeb(email, "after the loss 2026"); loc != "/settings/2fa" {
			t.Errorf("sign-in after the reset: → %q, want /settings/2fa (enrol again)", loc)
		}
		enrolTOTPWeb(t, web)

		// The same from the administrator's page, with the checkbox.
		aweb := in.client()
		admin.signInWeb(t, aweb, admin.user, admin.pass, false)
		status, _, h := aweb.form("/admin/members/"+id+"/signout-everywhere", "reset_factors", "on", "confirmed", "yes")
		if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=signed_out_everywhere") {
			t.Fatalf("web reset: %d %q", status, h.Get("Location"))
		}
		in.db().QueryRowContext(t.Context(), `SELECT count(*) FROM mfa_totp WHERE member_id = $1`, id).Scan(&rows)
		if rows != 0 {
			t.Errorf("after the web reset %d TOTP rows remain", rows)
		}
		if evs, _ := in.app.Audit.List(t.Context(), audit.Filter{Action: "auth.factor.reset"}); len(evs) != 2 {
			t.Errorf("%d auth.factor.reset events, want 2", len(evs))
		}
	})
}

// TestReauthentication (R-X8): ten minutes after signing in, changing the password
// or approving a member asks for the password (and second factor) again; the API
// answers 403 reauth_required until the client signs in afresh.
func TestReauthentication(t *testing.T) {
	eachStrictDB(t, nil, func(t *testing.T, in *instance) {
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
		if evs, _ := in.app.Audit.List(t.Context(), audit.Filter{Action: "auth.reauth"}); len(evs) < 4 {
			t.Errorf("%d auth.reauth events, want at least 4", len(evs))
		}
	})
}

// TestSecondFactorFailuresLock: wrong second factors count towards the account
// lock like wrong passwords: after five, the partial session ends and even the
// right password is refused until the lock lifts.
func TestSecondFactorFailuresLock(t *testing.T) {
	eachStrictDB(t, nil, func(t *testing.T, in *instance) {
		admin := in.strictAdmin(t)
		const email, pw = "guess@example.jp", "correct horse battery"
		api, id := in.approvedMember(admin.client, newMember{Email: email})
		u := enrolTOTPAPI(t, api)

		c := in.client()
		c.loginWeb(email, pw)
		for i := range 4 {
			if status, _, _ := c.form("/login/2fa", "code", "00000"+string(rune('0'+i))); status != http.StatusUnauthorized {
				t.Fatalf("wrong code %d: %d", i+1, status)
			}
		}
		// A correct password in between does not wipe out the wrong codes.
		c2 := in.client()
		c2.loginWeb(email, pw)
		status, page, _ := c2.form("/login/2fa", "code", "999999")
		if status != http.StatusUnauthorized || !strings.Contains(page, "ロック") {
			t.Fatalf("fifth wrong code: %d, want the lock message", status)
		}
		if status, loc := c2.location("/login/2fa"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") || strings.HasPrefix(loc, "/login/2fa") {
			t.Errorf("partial session after the lock: %d → %q, want it ended", status, loc)
		}
		in.nextStep()
		if status, _, _ := c.form("/login/2fa", "code", u.code(0)); status == http.StatusSeeOther {
			t.Error("the right code opened a locked account")
		}
		if status, _ := c.loginWeb(email, pw); status != http.StatusUnauthorized {
			t.Errorf("right password on a locked account: %d, want 401", status)
		}
		if evs, _ := in.app.Audit.List(t.Context(), audit.Filter{Action: "auth.lock"}); len(evs) != 1 || evs[0].Target != id {
			t.Errorf("lock events = %+v", evs)
		}
		// Through the API, wrong codes count the same way, after the lock lifts.
		in.clock.Advance(16 * time.Minute)
		for i := range 5 {
			var out map[string]any
			status := in.client().json("POST", "/api/v1/login", map[string]string{"email": email, "password": pw, "otp": "11111" + string(rune('0'+i))}, &out)
			if status != http.StatusUnauthorized {
				t.Fatalf("API wrong otp %d: %d", i+1, status)
			}
		}
		in.nextStep()
		var out map[string]any
		if status := in.client().json("POST", "/api/v1/login", map[string]string{"email": email, "password": pw, "otp": u.code(0)}, &out); status != http.StatusUnauthorized {
			t.Errorf("right otp after five wrong ones: %d, want 401 (locked)", status)
		}
	})
}
