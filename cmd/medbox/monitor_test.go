package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// adminMails returns the alert mails the administrator received.
func (in *instance) alertMails(admin string) []sentMail {
	var out []sentMail
	for _, m := range in.outbox() {
		if strings.Contains(m.To, admin) && strings.Contains(m.Subject, "警告") {
			out = append(out, m)
		}
	}
	return out
}

// TestMisuseRaisesAlerts (R-X6): brute force on one account, credential stuffing
// across accounts and unusual download volume each raise one alert: an audit entry,
// a stored alert (and metric), and a mail to administrators.
func TestMisuseRaisesAlerts(t *testing.T) {
	eachDBWith(t, map[string]string{"MEDBOX_CHUNK_SIZE": "256KiB", "MEDBOX_ALERT_DOWNLOAD_BYTES": "2MB"}, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		admin := x.admin.user
		login := func(email, pw string) int {
			return in.client().json("POST", "/api/v1/login", map[string]string{"email": email, "password": pw}, nil)
		}
		for i := range 5 {
			login("outside@c.example.jp", fmt.Sprintf("wrong %d", i))
		}
		in.clock.Advance(time.Minute)
		in.deliver()
		if got := in.alertMails(admin); len(got) != 1 || !strings.Contains(got[0].Subject, "ロック") {
			t.Fatalf("after brute force: %v", subjects(got))
		}
		for i := range 10 {
			login(fmt.Sprintf("nobody%d@example.jp", i), "Summer2026!")
		}
		in.clock.Advance(time.Minute)
		in.deliver()
		got := in.alertMails(admin)
		if len(got) != 2 || !strings.Contains(got[1].Subject, "パスワードリスト") {
			t.Fatalf("after stuffing: %v", subjects(got))
		}
		in.clock.Advance(time.Minute)
		in.deliver()
		if again := in.alertMails(admin); len(again) != 2 {
			t.Errorf("the same stuffing window alerted twice: %v", subjects(again))
		}
		x.sender.relogin()
		file := x.sender.upload(x.box, "big.jpg", jpeg(60, 900_000))
		x.rcpt.relogin()
		for range 3 {
			must(t, mustStatus(x.rcpt.do2("GET", "/api/v1/files/"+file+"/content")), http.StatusOK, "download")
		}
		in.clock.Advance(time.Minute)
		in.deliver()
		got = in.alertMails(admin)
		if len(got) != 3 || !strings.Contains(got[2].Subject, "ダウンロード") || !strings.Contains(got[2].Text, x.rcptID) {
			t.Fatalf("after heavy downloading: %v", subjects(got))
		}
		alerts, err := in.app.Monitor.Recent(context.Background(), 10)
		if err != nil || len(alerts) != 3 {
			t.Errorf("stored alerts: %d, %v", len(alerts), err)
		}
		var n int
		in.db().QueryRowContext(context.Background(), `SELECT count(*) FROM audit_events WHERE action = 'security.alert'`).Scan(&n)
		if n != 3 {
			t.Errorf("security.alert audit entries = %d, want 3", n)
		}
	})
}

func (c *client) do2(method, path string) (int, []byte) {
	status, body, _ := c.do(method, path, nil, nil)
	return status, body
}

// TestMembersAreToldOfNewDevicesAndChanges: a sign-in from a device not seen
// before and a password change are mailed to the member; the first sign-in ever
// and a known device are not.
func TestMembersAreToldOfNewDevicesAndChanges(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	admin := in.admin()
	in.approvedMember(admin, newMember{Email: "devices@example.jp"})
	account := func() []sentMail {
		var out []sentMail
		for _, m := range in.outbox() {
			if strings.Contains(m.To, "devices@example.jp") && (strings.Contains(m.Subject, "端末") || strings.Contains(m.Subject, "変更")) {
				out = append(out, m)
			}
		}
		return out
	}
	in.clock.Advance(time.Minute)
	in.deliver()
	if got := account(); len(got) != 0 {
		t.Errorf("first sign-in was news: %v", subjects(got))
	}
	signIn := func(ua string) *client {
		c := in.client()
		status, _, _ := c.do("POST", "/api/v1/login", strings.NewReader(`{"email":"devices@example.jp","password":"correct horse battery"}`),
			map[string]string{"Content-Type": "application/json", "User-Agent": ua})
		must(t, status, http.StatusOK, "sign in with "+ua)
		return c
	}
	signIn("Go-http-client/1.1") // the same kind of client as the first sign-in
	in.clock.Advance(time.Minute)
	in.deliver()
	if got := account(); len(got) != 0 {
		t.Errorf("a known device was news: %v", subjects(got))
	}
	signIn("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)")
	in.clock.Advance(time.Minute)
	in.deliver()
	if got := account(); len(got) != 1 || !strings.Contains(got[0].Subject, "新しい端末") {
		t.Fatalf("after a new device: %v", subjects(got))
	}
	web := in.client()
	web.form("/login", "email", "devices@example.jp", "password", "correct horse battery")
	status, _, _ := web.form("/settings/password", "current", "correct horse battery", "password", "a new long secret", "password2", "a new long secret")
	must(t, status, http.StatusSeeOther, "change password")
	in.clock.Advance(time.Minute)
	in.deliver()
	if got := account(); len(got) != 2 || !strings.Contains(got[1].Subject, "変更") {
		t.Errorf("after a password change: %v", subjects(got))
	}
}
