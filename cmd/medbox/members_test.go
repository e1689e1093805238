package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMemberLifecycle walks R-M1–R-M3 and R-M6 over HTTP: register with a proof,
// confirm by mail, wait as pending with nothing allowed, be approved, sign in, and
// find colleagues in the directory without ever seeing an e-mail address. The
// rules themselves are internal/member's tests.
func TestMemberLifecycle(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		admin := in.admin()
		_, colleagueID := in.approvedMember(admin, newMember{Email: "sato@clinic.example.jp", Name: "佐藤 花子", Kana: "サトウ ハナコ",
			Workplace: "北町クリニック", Department: "内科"})

		c := in.client()
		proof := pngProof(t, "tanaka")
		status, body := c.registerAPI(newMember{Email: "tanaka@hospital.example.jp", Name: "田中 一郎", Kana: "たなか いちろう",
			Proof: proof, ProofName: "menkyo.png"})
		must(t, status, http.StatusAccepted, "register", string(body))
		in.lastMailTo("tanaka@hospital.example.jp", "/confirm?token=")
		// Unconfirmed: may sign in, may do nothing.
		me := c.login("tanaka@hospital.example.jp", "correct horse battery")
		if me["status"] != "unconfirmed" {
			t.Fatalf("status after register = %v", me["status"])
		}
		in.confirmFromMail("tanaka@hospital.example.jp")
		var meNow map[string]any
		c.json("GET", "/api/v1/me", nil, &meNow)
		if meNow["status"] != "pending" {
			t.Fatalf("status after confirm = %v", meNow["status"])
		}
		if in.lastMailTo(admin.email(), "/admin/members?status=pending").Subject == "" {
			t.Error("administrators were not told a review is waiting")
		}
		// Pending: every member route is closed.
		for _, p := range []string{"/api/v1/members?q=佐藤"} {
			if status := c.json("GET", p, nil, nil); status != http.StatusForbidden {
				t.Errorf("pending member GET %s = %d, want 403", p, status)
			}
		}
		if status := c.json("POST", "/api/v1/invitations", map[string]string{"email": "x@example.jp"}, nil); status != http.StatusForbidden {
			t.Errorf("pending member invites: %d, want 403", status)
		}
		web := in.client()
		web.form("/login", "email", "tanaka@hospital.example.jp", "password", "correct horse battery")
		if status, _, h := web.do("GET", "/members", nil, nil); status != http.StatusSeeOther || h.Get("Location") != "/pending" {
			t.Errorf("pending member opening /members: %d → %q, want redirect to /pending", status, h.Get("Location"))
		}
		// The review queue shows them with the proof, to administrators only.
		var queue struct{ Members []map[string]any }
		admin.json("GET", "/api/v1/admin/members?status=pending", nil, &queue)
		var id string
		for _, m := range queue.Members {
			if m["email"] == "tanaka@hospital.example.jp" {
				id = m["id"].(string)
			}
		}
		if id == "" {
			t.Fatalf("pending member not in review queue: %v", queue.Members)
		}
		status, got, _ := admin.do("GET", "/api/v1/admin/members/"+id+"/proof", nil, nil)
		if status != http.StatusOK || !bytes.Equal(got, proof) {
			t.Errorf("admin reads proof: status %d, %d bytes, equal %v", status, len(got), bytes.Equal(got, proof))
		}
		if status, _, _ := c.do("GET", "/api/v1/admin/members/"+id+"/proof", nil, nil); status != http.StatusNotFound {
			t.Errorf("member reads own proof through admin route: %d, want 404", status)
		}
		must(t, admin.json("POST", "/api/v1/admin/members/"+id+"/approve", nil, nil), http.StatusNoContent, "approve")
		in.lastMailTo("tanaka@hospital.example.jp", "/login")

		// Approved: the directory finds the colleague and never shows an e-mail
		// address (kana folding and who is listed: member.TestDirectorySearch).
		var dir struct{ Members []map[string]any }
		must(t, c.json("GET", "/api/v1/members?q="+urlEscape("さとう"), nil, &dir), http.StatusOK, "directory")
		if len(dir.Members) != 1 || dir.Members[0]["id"] != colleagueID {
			t.Errorf("directory = %v, want only the colleague", dir.Members)
		}
		if raw, _ := json.Marshal(dir); strings.Contains(string(raw), "@") {
			t.Errorf("directory answer shows an e-mail address: %s", raw)
		}
		status, page := web.get("/members?q=" + urlEscape("佐藤"))
		if status != http.StatusOK || !strings.Contains(page, "佐藤 花子") || strings.Contains(page, "sato@clinic") {
			t.Errorf("directory page: %d, has name %v, leaks e-mail %v", status, strings.Contains(page, "佐藤 花子"), strings.Contains(page, "sato@clinic"))
		}
	})
}

func (c *client) email() string {
	var me map[string]any
	c.json("GET", "/api/v1/me", nil, &me)
	return me["email"].(string)
}

// TestReviewThroughTheAPI: the administrators' review routes and what a member
// sees of them — a rejection without a reason is 400, the reason shows on GET
// /api/v1/me, a suspended member's token answers 401 and their sign-in
// "suspended", and approving again reinstates them. Which decision is allowed
// from which state, and the mails: member.TestReview and auth.TestSessions.
func TestReviewThroughTheAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		admin := in.admin()
		c := in.client()
		c.registerAPI(newMember{Email: "reject@example.jp"})
		in.confirmFromMail("reject@example.jp")
		me := c.login("reject@example.jp", "correct horse battery")
		id := me["id"].(string)
		var errOut map[string]map[string]any
		if status := admin.json("POST", "/api/v1/admin/members/"+id+"/reject", map[string]string{"reason": ""}, &errOut); status != http.StatusBadRequest {
			t.Errorf("reject without reason: %d, want 400", status)
		}
		must(t, admin.json("POST", "/api/v1/admin/members/"+id+"/reject", map[string]string{"reason": "免許証の画像が不鮮明です"}, nil),
			http.StatusNoContent, "reject")
		var meNow map[string]any
		c.json("GET", "/api/v1/me", nil, &meNow)
		if meNow["status"] != "rejected" || meNow["reject_reason"] != "免許証の画像が不鮮明です" {
			t.Errorf("after reject: %v", meNow)
		}

		s, sid := in.approvedMember(admin, newMember{Email: "suspend@example.jp"})
		must(t, s.json("GET", "/api/v1/members", nil, nil), http.StatusOK, "before suspension")
		must(t, admin.json("POST", "/api/v1/admin/members/"+sid+"/suspend", nil, nil), http.StatusNoContent, "suspend")
		must(t, s.json("GET", "/api/v1/members", nil, nil), http.StatusUnauthorized, "after suspension")
		var out map[string]map[string]any
		in.client().json("POST", "/api/v1/login", map[string]string{"email": "suspend@example.jp", "password": "correct horse battery"}, &out)
		if out["error"]["code"] != "suspended" {
			t.Errorf("sign-in while suspended: %v", out)
		}
		must(t, admin.json("POST", "/api/v1/admin/members/"+sid+"/approve", nil, nil), http.StatusNoContent, "reinstate")
		in.client().login("suspend@example.jp", "correct horse battery")
	})
}

// TestFixedIdentity checks the API's wall of R-M4: a change to a fixed field is
// refused with 400 fixed_identity, a change of workplace goes through. The
// database's wall: member.TestFixedIdentityInTheDatabase.
func TestFixedIdentity(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		admin := in.admin()
		c, _ := in.approvedMember(admin, newMember{Email: "fixed@example.jp"})
		for _, field := range []string{"name", "name_kana", "profession", "license_number"} {
			var out map[string]map[string]any
			status := c.json("PATCH", "/api/v1/me", map[string]string{field: "変更"}, &out)
			if status != http.StatusBadRequest || out["error"]["code"] != "fixed_identity" {
				t.Errorf("PATCH %s: %d %v, want 400 fixed_identity", field, status, out)
			}
		}
		var me map[string]any
		must(t, c.json("PATCH", "/api/v1/me", map[string]string{"workplace": "西病院", "department": "救急科"}, &me), http.StatusOK, "change workplace")
		if me["workplace"] != "西病院" || me["name"] != "山田 太郎" {
			t.Errorf("after PATCH: %v", me)
		}
	})
}

// TestLockout: over HTTP a locked account answers with the very bytes an
// unknown address gets, and the administrator's unlock route lifts the lock.
// Durations, doubling and who may unlock: auth.TestLockout, auth.TestUnlock.
func TestLockout(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		admin := in.admin()
		_, id := in.approvedMember(admin, newMember{Email: "lock@example.jp"})
		c := in.client()
		try := func(email, pw string) (int, string) {
			status, body, _ := c.do("POST", "/api/v1/login", strings.NewReader(`{"email":"`+email+`","password":"`+pw+`"}`),
				map[string]string{"Content-Type": "application/json"})
			return status, string(body)
		}
		_, unknownBody := try("nobody@example.jp", "whatever password")
		for i := range 5 {
			if status, body := try("lock@example.jp", "wrong password "+string(rune('a'+i))); status != http.StatusUnauthorized || body != unknownBody {
				t.Fatalf("wrong password %d: %d %s", i+1, status, body)
			}
		}
		status, body := try("lock@example.jp", "correct horse battery")
		if status != http.StatusUnauthorized || body != unknownBody {
			t.Fatalf("6th attempt with the right password: %d %s, want the unknown-address answer %s", status, body, unknownBody)
		}
		must(t, admin.json("POST", "/api/v1/admin/members/"+id+"/unlock", nil, nil), http.StatusNoContent, "admin unlock")
		if status, _ := try("lock@example.jp", "correct horse battery"); status != http.StatusOK {
			t.Fatalf("after admin unlock: %d", status)
		}
	})
}

// TestPasswordResetByMail: the reset pages answer a known and an unknown
// address alike, show the policy's message for a weak password, and answer 410
// for a used link. Lifetime, sessions ended and the rate limit:
// auth.TestResetPassword, member.TestRequestReset.
func TestPasswordResetByMail(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		admin := in.admin()
		in.approvedMember(admin, newMember{Email: "reset@example.jp"})
		web := in.client()
		status, page, _ := web.form("/reset", "email", "reset@example.jp")
		unknownStatus, unknownPage, _ := in.client().form("/reset", "email", "nobody@example.jp")
		if status != http.StatusOK || unknownStatus != status || page != unknownPage {
			t.Errorf("reset request answers differ for a known and an unknown address")
		}
		link := in.lastMailTo("reset@example.jp", "/reset?token=").link(t, "/reset?token=")
		u, _ := url.Parse(link)
		token := u.Query().Get("token")
		if status, _ := web.get(u.RequestURI()); status != http.StatusOK {
			t.Fatalf("open reset link: %d", status)
		}
		status, body, _ := web.form("/reset/new", "token", token, "password", "short", "password2", "short")
		if status != http.StatusBadRequest || !strings.Contains(body, "10文字以上") {
			t.Errorf("weak password: %d", status)
		}
		status, _, _ = web.form("/reset/new", "token", token, "password", "a brand new secret", "password2", "a brand new secret")
		must(t, status, http.StatusSeeOther, "reset")
		status, _, _ = web.form("/reset/new", "token", token, "password", "another new secret", "password2", "another new secret")
		if status != http.StatusGone {
			t.Errorf("reusing the reset link: %d, want 410", status)
		}
		in.client().login("reset@example.jp", "a brand new secret")
	})
}

// TestSignOutEverywhere is the lost-device path (R-X4) over HTTP: the settings
// form ends the web session and the API token, the API then answers 403
// new_password_required, and an administrator's route does the same for a
// member who phones in. What ends and what is demanded: auth.TestSignOutEverywhere.
func TestSignOutEverywhere(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		admin := in.admin()
		phone, _ := in.approvedMember(admin, newMember{Email: "lost@example.jp"})
		pc := in.client()
		pc.form("/login", "email", "lost@example.jp", "password", "correct horse battery")
		if status, _ := pc.get("/settings"); status != http.StatusOK {
			t.Fatalf("settings page: %d", status)
		}
		status, _, h := pc.form("/settings/signout-everywhere", "confirmed", "yes")
		if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
			t.Fatalf("sign out everywhere: %d %q", status, h.Get("Location"))
		}
		must(t, phone.json("GET", "/api/v1/me", nil, nil), http.StatusUnauthorized, "API token after sign-out everywhere")
		if status, _, h := pc.do("GET", "/settings", nil, nil); status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
			t.Errorf("web session after sign-out everywhere: %d", status)
		}
		var out map[string]map[string]any
		status = in.client().json("POST", "/api/v1/login", map[string]string{"email": "lost@example.jp", "password": "correct horse battery"}, &out)
		if status != http.StatusForbidden || out["error"]["code"] != "new_password_required" {
			t.Errorf("old password after sign-out everywhere: %d %v", status, out)
		}
		other, _ := in.approvedMember(admin, newMember{Email: "phoned@example.jp"})
		var me map[string]any
		other.json("GET", "/api/v1/me", nil, &me)
		must(t, admin.json("POST", "/api/v1/admin/members/"+me["id"].(string)+"/reset", nil, nil), http.StatusNoContent, "admin reset")
		must(t, other.json("GET", "/api/v1/me", nil, nil), http.StatusUnauthorized, "API token after the administrator's reset")
	})
}

// TestInvitation: the invitation route, the registration page it links to —
// prefilled with the address, the inviter and their note — and the API
// registration through it. What the mails say and when the inviter is told:
// member.TestInvitation.
func TestInvitation(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		admin := in.admin()
		inviter, _ := in.approvedMember(admin, newMember{Email: "inviter@example.jp", Name: "招待 する"})
		must(t, inviter.json("POST", "/api/v1/invitations", map[string]string{"email": "new@example.jp", "message": "MRI を見てほしい"}, nil),
			http.StatusAccepted, "invite")
		link := in.lastMailTo("new@example.jp", "/register?invite=").link(t, "/register?invite=")
		u, _ := url.Parse(link)
		status, page := in.client().get(u.RequestURI())
		if status != http.StatusOK || !strings.Contains(page, `value="new@example.jp"`) || !strings.Contains(page, "招待 する") || !strings.Contains(page, "MRI を見てほしい") {
			t.Fatalf("invitation page: %d, prefilled %v", status, strings.Contains(page, "new@example.jp"))
		}
		c := in.client()
		status, body := c.registerAPI(newMember{Email: "new@example.jp", Name: "新人 医師", Invite: u.Query().Get("invite")})
		must(t, status, http.StatusAccepted, "register by invitation", string(body))
		var n int
		in.db().QueryRowContext(t.Context(), `SELECT count(*) FROM members WHERE email = 'new@example.jp' AND invited_by IS NOT NULL`).Scan(&n)
		if n != 1 {
			t.Errorf("the registration through the invitation does not record the inviter")
		}
	})
}

// TestRegistrationRefusesBadInput: POST /api/v1/register answers 400 with the
// fields at fault, refuses a proof by its content and one over 10 MiB before
// storing anything, and answers a second registration of an address as it did
// the first. Every rule of the fields and what is mailed: member's
// TestRegisterRefusesBadInput and TestRegisterKnownAddress.
func TestRegistrationRefusesBadInput(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		c := in.client()
		var out map[string]map[string]any
		status, body := c.registerAPI(newMember{Email: "not-an-address", Kana: "Yamada"})
		json.Unmarshal(body, &out)
		fields, _ := out["error"]["fields"].(map[string]any)
		if status != http.StatusBadRequest || fields["email"] == nil || fields["name_kana"] == nil {
			t.Errorf("bad fields: %d %s", status, body)
		}
		exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), bytes.Repeat([]byte{0}, 200)...)
		status, body = c.registerAPI(newMember{Email: "exe@example.jp", Proof: exe, ProofName: "licence.jpg"})
		if status != http.StatusBadRequest || !strings.Contains(string(body), "proof") {
			t.Errorf("EXE as proof: %d %s", status, body)
		}
		big := append(pngProof(t, "big"), bytes.Repeat([]byte{1}, 10<<20)...)
		status, body = c.registerAPI(newMember{Email: "big@example.jp", Proof: big})
		if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
			t.Errorf("11 MB proof: %d %s", status, body)
		}
		var n int
		in.db().QueryRowContext(t.Context(), `SELECT count(*) FROM members`).Scan(&n)
		if n != 0 {
			t.Errorf("refused registrations left %d member rows", n)
		}
		if files := blobFiles(t, in); len(files) != 0 {
			t.Errorf("refused registrations left blobs: %v", files)
		}
		must(t, mustStatus(c.registerAPI(newMember{Email: "twice@example.jp"})), http.StatusAccepted, "first")
		in.confirmFromMail("twice@example.jp")
		must(t, mustStatus(c.registerAPI(newMember{Email: "twice@example.jp", Name: "別人"})), http.StatusAccepted, "second")
	})
}

func mustStatus(status int, _ []byte) int { return status }

// blobFiles lists the files under the instance's blob directory, but for the
// audit log's anchors (chain heads and counts, no personal data), which stay.
func blobFiles(t testing.TB, in *instance) []string {
	var out []string
	root := filepath.Join(in.data, "blobs")
	anchors := filepath.Join(root, "audit") + string(filepath.Separator) // audit.AnchorPrefix, audit.SupersededPrefix
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(p, anchors) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestWithdrawal: DELETE /api/v1/me with a wrong password answers 400 and
// withdraws no one; with the right one 204, and the token is dead. What
// withdrawal erases, down to the raw SQLite file: member.TestWithdraw and
// member.TestWithdrawLeavesNoTrace.
func TestWithdrawal(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	admin := in.admin()
	c, _ := in.approvedMember(admin, newMember{Email: "leaving@example.jp"})
	var out map[string]map[string]any
	if status := c.json("DELETE", "/api/v1/me", map[string]string{"password": "wrong"}, &out); status != http.StatusBadRequest {
		t.Fatalf("withdraw with a wrong password: %d", status)
	}
	must(t, c.json("GET", "/api/v1/me", nil, nil), http.StatusOK, "after a refused withdrawal")
	must(t, c.json("DELETE", "/api/v1/me", map[string]string{"password": "correct horse battery"}, nil), http.StatusNoContent, "withdraw")
	must(t, c.json("GET", "/api/v1/me", nil, nil), http.StatusUnauthorized, "after withdrawal")
}
