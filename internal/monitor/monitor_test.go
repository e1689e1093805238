package monitor_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/monitor"
)

// The tests of this package run the monitor (R-X6) on a whole wired instance
// (featuretest.World), on SQLite and on PostgreSQL, feeding it the audit events
// the real services write. Its windows are global, so the cases of a test move
// the clock past the last case's window before they begin.

var serial atomic.Int64

// newAddr returns a client address no other case uses.
func newAddr() string {
	n := serial.Add(1)
	return fmt.Sprintf("203.0.%d.%d", n/250, n%250+1)
}

// run runs the monitor as its periodic job does, at the World's time.
func run(t *testing.T, w *featuretest.World) {
	t.Helper()
	if err := w.Monitor.Run(t.Context(), w.Clock.Now()); err != nil {
		t.Fatalf("monitor run: %v", err)
	}
}

// mails counts the messages queued for addr whose subject is that of the
// monitor mail id ("alert.brute_force", "account.new_device" …).
func mails(w *featuretest.World, addr, id string) int {
	want := mail.Compose(i18n.Ja, "mail."+id, nil).Subject
	n := 0
	for _, m := range w.Mail(addr) {
		if m.Subject == want {
			n++
		}
	}
	return n
}

// alerts counts the stored alerts of kind.
func alerts(t *testing.T, w *featuretest.World, kind string) int {
	t.Helper()
	var n int
	if err := w.DB.QueryRowContext(t.Context(), `SELECT count(*) FROM alerts WHERE kind = $1`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// failSignIn makes one failed sign-in from addr at email's account.
func failSignIn(t *testing.T, w *featuretest.World, email, addr string) {
	t.Helper()
	_, _, _, err := w.Auth.SignInWith(t.Context(), auth.Attempt{Email: email, Password: "Summer2026!", Addr: addr, Kind: auth.API})
	if err == nil {
		t.Fatalf("sign-in of %s with a wrong password succeeded", email)
	}
}

// TestBruteForceAlert: every lock of an account raises one alert, mailed to the
// administrators and recorded in the audit log.
func TestBruteForceAlert(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		admin := string(w.Admin().Email)
		m := w.Member(featuretest.NewMember{})
		addr := newAddr()
		for range 4 {
			failSignIn(t, w, string(m.Email), addr)
		}
		run(t, w)
		if n := alerts(t, w, monitor.BruteForce); n != 0 {
			t.Fatalf("%d brute-force alerts after four failures, want 0", n)
		}
		failSignIn(t, w, string(m.Email), addr)
		run(t, w)
		run(t, w)
		if n := alerts(t, w, monitor.BruteForce); n != 1 {
			t.Errorf("%d brute-force alerts after the lock, want 1", n)
		}
		if n := mails(w, admin, "alert.brute_force"); n != 1 {
			t.Errorf("%d brute-force mails to the administrator, want 1", n)
		}
		got, err := w.Monitor.Recent(t.Context(), 10)
		if err != nil || len(got) != 1 || got[0].Detail["member"] != string(m.ID) || got[0].Detail["addr"] != addr {
			t.Errorf("Recent() = %+v, %v; want one alert naming %s from %s", got, err, m.ID, addr)
		}
		if n := securityEvents(t, w, monitor.BruteForce); n != 1 {
			t.Errorf("%d security.alert events, want 1", n)
		}
		// A second lock is a second alert.
		w.Clock.Advance(15 * time.Minute)
		for range 5 {
			failSignIn(t, w, string(m.Email), addr)
		}
		run(t, w)
		if n := alerts(t, w, monitor.BruteForce); n != 2 {
			t.Errorf("%d brute-force alerts after the second lock, want 2", n)
		}
	})
}

func securityEvents(t *testing.T, w *featuretest.World, kind string) int {
	t.Helper()
	var n int
	if err := w.DB.QueryRowContext(t.Context(), `SELECT count(*) FROM audit_events WHERE action = 'security.alert' AND target = $1`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCredentialStuffing: failed sign-ins on 10 accounts from one address, or on
// 50 from anywhere, within 10 minutes raise one alert per window.
func TestCredentialStuffing(t *testing.T) {
	t.Parallel()
	type failure struct{ account, addr int } // indexes; account -1 is an unknown address
	spread := func(accounts, addrs int) []failure {
		var out []failure
		for i := range accounts {
			out = append(out, failure{i, i % addrs})
		}
		return out
	}
	unknown := func(n, addrs int) []failure { // each unknown address counts as an account
		var out []failure
		for i := range n {
			out = append(out, failure{-1, i % addrs})
		}
		return out
	}
	tests := []struct {
		name      string
		failures  []failure
		pause     time.Duration // between the first half of the failures and the second
		wantAddr  bool          // an alert for the one address
		wantTotal bool          // an alert for all addresses
	}{
		{"10 accounts from one address", spread(10, 1), 0, true, false},
		{"9 accounts from one address", spread(9, 1), 0, false, false},
		{"10 accounts over 11 minutes", spread(10, 1), 11 * time.Minute, false, false},
		{"one account 12 times", func() []failure {
			var out []failure
			for range 12 { // a brute-force lock, not stuffing
				out = append(out, failure{0, 0})
			}
			return out
		}(), 0, false, false},
		{"10 unknown addresses from one address", unknown(10, 1), 0, true, false},
		{"50 accounts from 25 addresses", append(spread(10, 5), unknown(40, 20)...), 0, false, true},
		{"49 accounts from 25 addresses", append(spread(10, 5), unknown(39, 20)...), 0, false, false},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		admin := string(w.Admin().Email)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w.Clock.Advance(11 * time.Minute) // past the last case's window
				run(t, w)
				before, mailsBefore, eventsBefore := alerts(t, w, monitor.Stuffing), mails(w, admin, "alert.credential_stuffing"), securityEvents(t, w, monitor.Stuffing)
				accounts, addrs := map[int]string{}, map[int]string{}
				for i, f := range tt.failures {
					if i == len(tt.failures)/2 {
						w.Clock.Advance(tt.pause)
					}
					if addrs[f.addr] == "" {
						addrs[f.addr] = newAddr()
					}
					email := "nobody@example.jp"
					if f.account >= 0 {
						if accounts[f.account] == "" {
							accounts[f.account] = string(w.Member(featuretest.NewMember{}).Email)
						}
						email = accounts[f.account]
					}
					failSignIn(t, w, email, addrs[f.addr])
				}
				run(t, w)
				run(t, w) // the same window does not alert twice
				want := 0
				if tt.wantAddr {
					want++
				}
				if tt.wantTotal {
					want++
				}
				if n := alerts(t, w, monitor.Stuffing) - before; n != want {
					t.Errorf("%d stuffing alerts, want %d", n, want)
				}
				if n := mails(w, admin, "alert.credential_stuffing") - mailsBefore; n != want {
					t.Errorf("%d stuffing mails to the administrator, want %d", n, want)
				}
				if n := securityEvents(t, w, monitor.Stuffing) - eventsBefore; n != want {
					t.Errorf("%d security.alert events, want %d", n, want)
				}
				if want == 0 {
					return
				}
				got, _ := w.Monitor.Recent(t.Context(), 1)
				wantAddr := "*"
				if tt.wantAddr {
					wantAddr = addrs[0]
				}
				if len(got) != 1 || got[0].Kind != monitor.Stuffing || got[0].Detail["addr"] != wantAddr {
					t.Errorf("newest alert %+v, want stuffing from %s", got, wantAddr)
				}
			})
		}
	})
}

// send opens a box from sender to recipient holding one file of content.
func send(t *testing.T, w *featuretest.World, sender, recipient member.ID, content []byte) *box.File {
	t.Helper()
	ctx := t.Context()
	b, err := w.Boxes.Create(ctx, sender, box.Draft{Recipients: []member.ID{recipient}}, "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := w.Uploads.Create(ctx, sender, b.ID, "scan.png", int64(len(content)), "image/png", "")
	if err != nil {
		t.Fatal(err)
	}
	for n := range u.ChunkCount {
		chunk := content[int64(n)*u.ChunkSize : int64(n)*u.ChunkSize+u.ChunkLen(n)]
		if err := w.Uploads.PutChunk(ctx, sender, u.ID, n, bytes.NewReader(chunk), int64(len(chunk)), nil); err != nil {
			t.Fatal(err)
		}
	}
	f, err := w.Uploads.Complete(ctx, sender, u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestUnusualDownloads: one member reading more than MEDBOX_ALERT_DOWNLOAD_BYTES
// within an hour — downloads, views and ZIPs together — raises one alert naming
// them.
func TestUnusualDownloads(t *testing.T) {
	t.Parallel()
	content := featuretest.ProofPNG(t)
	size := len(content)
	tests := []struct {
		name    string
		reads   []string // actions, one read of the file each
		pause   time.Duration
		wantHit bool
	}{
		{"three downloads", []string{"file.download", "file.download", "file.download"}, 0, true},
		{"download, view and ZIP", []string{"file.download", "file.view", "box.download_zip"}, 0, true},
		{"two downloads", []string{"file.download", "file.download"}, 0, false},
		{"three downloads over two hours", []string{"file.download", "file.download", "file.download", "file.download"}, 61 * time.Minute, false},
	}
	env := map[string]string{"MEDBOX_ALERT_DOWNLOAD_BYTES": fmt.Sprint(2*size + 1)}
	featuretest.Each(t, featuretest.Options{Env: env}, func(t *testing.T, w *featuretest.World) {
		admin := string(w.Admin().Email)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				w.Clock.Advance(2 * time.Hour) // past the last case's window
				sender, reader := w.Member(featuretest.NewMember{}), w.Member(featuretest.NewMember{})
				f := send(t, w, sender.ID, reader.ID, content)
				before, mailsBefore, eventsBefore := alerts(t, w, monitor.DownloadVolume), mails(w, admin, "alert.download_volume"), securityEvents(t, w, monitor.DownloadVolume)
				for i, action := range tt.reads {
					if i == len(tt.reads)/2 {
						w.Clock.Advance(tt.pause)
					}
					if err := w.Boxes.RecordDownload(ctx, reader.ID, *f, action, ""); err != nil {
						t.Fatal(err)
					}
				}
				run(t, w)
				run(t, w)
				want := 0
				if tt.wantHit {
					want = 1
				}
				if n := alerts(t, w, monitor.DownloadVolume) - before; n != want {
					t.Errorf("%d download alerts, want %d", n, want)
				}
				if n := mails(w, admin, "alert.download_volume") - mailsBefore; n != want {
					t.Errorf("%d download mails to the administrator, want %d", n, want)
				}
				if n := securityEvents(t, w, monitor.DownloadVolume) - eventsBefore; n != want {
					t.Errorf("%d security.alert events, want %d", n, want)
				}
				if want == 0 {
					return
				}
				got, _ := w.Monitor.Recent(ctx, 1)
				if len(got) != 1 || got[0].Detail["member"] != string(reader.ID) || got[0].Detail["bytes"] != fmt.Sprint(len(tt.reads)*size) {
					t.Errorf("newest alert %+v, want %s reading %d bytes", got, reader.ID, len(tt.reads)*size)
				}
				for _, m := range w.Mail(admin) {
					if strings.Contains(m.Text, "scan.png") {
						t.Error("an alert mail names the file")
					}
				}
			})
		}
	})
}

// TestMembersAreTold: a member is mailed about a sign-in from a device not seen
// before on their account, and about changes to their credentials; the first
// sign-in ever, a known device and a failed sign-in are not news.
func TestMembersAreTold(t *testing.T) {
	t.Parallel()
	const phone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)"
	tests := []struct {
		name        string
		act         func(t *testing.T, w *featuretest.World, m *member.Member)
		wantDevice  int
		wantChanged int
	}{
		{"first sign-in", func(*testing.T, *featuretest.World, *member.Member) {}, 0, 0},
		{"the same device again", func(t *testing.T, w *featuretest.World, m *member.Member) {
			signIn(t, w, m, "test-browser")
		}, 0, 0},
		{"a new device", func(t *testing.T, w *featuretest.World, m *member.Member) {
			signIn(t, w, m, phone)
		}, 1, 0},
		{"a new device twice", func(t *testing.T, w *featuretest.World, m *member.Member) {
			signIn(t, w, m, phone)
			signIn(t, w, m, phone)
		}, 1, 0},
		{"a failed sign-in from a new device", func(t *testing.T, w *featuretest.World, m *member.Member) {
			w.Auth.SignInWith(t.Context(), auth.Attempt{Email: string(m.Email), Password: "wrong password", UserAgent: phone, Kind: auth.Web})
		}, 0, 0},
		{"password changed", func(t *testing.T, w *featuretest.World, m *member.Member) {
			if err := w.Auth.ChangePassword(t.Context(), signIn(t, w, m, "test-browser"), featuretest.Password, "a new long secret"); err != nil {
				t.Fatal(err)
			}
		}, 0, 1},
		{"signed out everywhere", func(t *testing.T, w *featuretest.World, m *member.Member) {
			if err := w.Auth.SignOutEverywhere(t.Context(), signIn(t, w, m, "test-browser"), m.ID); err != nil {
				t.Fatal(err)
			}
		}, 0, 1},
		{"password reset", func(t *testing.T, w *featuretest.World, m *member.Member) {
			if err := w.Members.RequestReset(t.Context(), string(m.Email), ""); err != nil {
				t.Fatal(err)
			}
			if err := w.Auth.ResetPassword(t.Context(), w.LinkToken(string(m.Email), "/reset?token="), "a new long secret", ""); err != nil {
				t.Fatal(err)
			}
		}, 0, 1},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := w.Member(featuretest.NewMember{})
				signIn(t, w, m, "test-browser")
				w.Clock.Advance(time.Minute)
				tt.act(t, w, m)
				run(t, w)
				run(t, w)
				if n := mails(w, string(m.Email), "account.new_device"); n != tt.wantDevice {
					t.Errorf("%d new-device mails, want %d", n, tt.wantDevice)
				}
				if n := mails(w, string(m.Email), "account.credentials_changed"); n != tt.wantChanged {
					t.Errorf("%d credentials-changed mails, want %d", n, tt.wantChanged)
				}
			})
		}
	})
}

// signIn signs m in with userAgent and returns the actor.
func signIn(t *testing.T, w *featuretest.World, m *member.Member, userAgent string) *auth.Actor {
	t.Helper()
	token, _, err := w.Auth.SignIn(t.Context(), string(m.Email), featuretest.Password, newAddr(), userAgent, auth.Web)
	if err != nil {
		t.Fatalf("sign in %s: %v", m.Email, err)
	}
	a, err := w.Auth.Authenticate(t.Context(), token, auth.Web, "")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRecentAlerts: the administrators' page lists the latest alerts, newest
// first, as many as asked for.
func TestRecentAlerts(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		w.Admin()
		var members []*member.Member
		for range 3 {
			m := w.Member(featuretest.NewMember{})
			members = append(members, m)
			for range 5 {
				failSignIn(t, w, string(m.Email), newAddr())
			}
			run(t, w)
			w.Clock.Advance(time.Minute)
		}
		got, err := w.Monitor.Recent(t.Context(), 2)
		if err != nil || len(got) != 2 {
			t.Fatalf("Recent(2) = %d alerts, %v; want 2", len(got), err)
		}
		if got[0].Detail["member"] != string(members[2].ID) || got[1].Detail["member"] != string(members[1].ID) || !got[0].CreatedAt.After(got[1].CreatedAt) {
			t.Errorf("Recent(2) = %+v, want the locks of the third and second member, newest first", got)
		}
	})
}
