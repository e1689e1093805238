package main

import (
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

// TestMisuseRaisesAlerts (R-X6) over HTTP: failed sign-ins through the API are
// counted against the client's address, and downloads through the API are
// counted by size, so both raise their alert mail. The thresholds, windows and
// the brute-force alert: monitor.TestCredentialStuffing,
// monitor.TestUnusualDownloads and monitor.TestBruteForceAlert.
func TestMisuseRaisesAlerts(t *testing.T) {
	eachDBWith(t, map[string]string{"MEDBOX_CHUNK_SIZE": "256KiB", "MEDBOX_ALERT_DOWNLOAD_BYTES": "2MB"}, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		admin := x.admin.user
		for i := range 10 {
			in.client().json("POST", "/api/v1/login", map[string]string{"email": fmt.Sprintf("nobody%d@example.jp", i), "password": "Summer2026!"}, nil)
		}
		in.clock.Advance(time.Minute)
		in.deliver()
		got := in.alertMails(admin)
		if len(got) != 1 || !strings.Contains(got[0].Subject, "パスワードリスト") {
			t.Fatalf("after stuffing: %v", subjects(got))
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
		if len(got) != 2 || !strings.Contains(got[1].Subject, "ダウンロード") || !strings.Contains(got[1].Text, x.rcptID) {
			t.Fatalf("after heavy downloading: %v", subjects(got))
		}
	})
}

func (c *client) do2(method, path string) (int, []byte) {
	status, body, _ := c.do(method, path, nil, nil)
	return status, body
}

// TestMembersAreToldOfNewDevicesAndChanges: the User-Agent of an API sign-in
// is what tells one device from another, so a sign-in from a new one is mailed
// to the member. Which sign-ins and changes are news: monitor.TestMembersAreTold.
func TestMembersAreToldOfNewDevicesAndChanges(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	admin := in.admin()
	in.approvedMember(admin, newMember{Email: "devices@example.jp"})
	account := func() []sentMail {
		var out []sentMail
		for _, m := range in.outbox() {
			if strings.Contains(m.To, "devices@example.jp") && strings.Contains(m.Subject, "端末") {
				out = append(out, m)
			}
		}
		return out
	}
	signIn := func(ua string) {
		status, _, _ := in.client().do("POST", "/api/v1/login", strings.NewReader(`{"email":"devices@example.jp","password":"correct horse battery"}`),
			map[string]string{"Content-Type": "application/json", "User-Agent": ua})
		must(t, status, http.StatusOK, "sign in with "+ua)
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
}
