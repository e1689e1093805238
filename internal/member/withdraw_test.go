package member_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// send opens a box from sender to recipient holding one file of content, through
// the box and upload services as the API does.
func send(t *testing.T, w *featuretest.World, sender, recipient member.ID, content []byte) (*box.Box, *box.File) {
	t.Helper()
	ctx := t.Context()
	b, err := w.Boxes.Create(ctx, sender, box.Draft{Recipients: []member.ID{recipient}}, "192.0.2.1")
	if err != nil {
		t.Fatalf("create box: %v", err)
	}
	u, err := w.Uploads.Create(ctx, sender, b.ID, "scan.png", int64(len(content)), "image/png", "192.0.2.1")
	if err != nil {
		t.Fatalf("create upload: %v", err)
	}
	for n := range u.ChunkCount {
		chunk := content[int64(n)*u.ChunkSize : int64(n)*u.ChunkSize+u.ChunkLen(n)]
		if err := w.Uploads.PutChunk(ctx, sender, u.ID, n, bytes.NewReader(chunk), int64(len(chunk)), nil); err != nil {
			t.Fatalf("put chunk %d: %v", n, err)
		}
	}
	f, err := w.Uploads.Complete(ctx, sender, u.ID, "192.0.2.1")
	if err != nil {
		t.Fatalf("complete upload: %v", err)
	}
	return b, f
}

// signIn opens a web session of m and returns its actor.
func signIn(t *testing.T, w *featuretest.World, m *member.Member) (token string, a *auth.Actor) {
	t.Helper()
	token, _, err := w.Auth.SignIn(t.Context(), string(m.Email), featuretest.Password, "192.0.2.1", "test", auth.Web)
	if err != nil {
		t.Fatalf("sign in %s: %v", m.Email, err)
	}
	if a, err = w.Auth.Authenticate(t.Context(), token, auth.Web, "192.0.2.1"); err != nil {
		t.Fatalf("authenticate %s: %v", m.Email, err)
	}
	return token, a
}

// enrolTOTP gives a's member an authenticator app, with its recovery codes.
func enrolTOTP(t *testing.T, w *featuretest.World, a *auth.Actor) {
	t.Helper()
	e, err := w.Auth.BeginTOTP(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	code, err := auth.TOTPCode(e.Secret, w.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Auth.ConfirmTOTP(t.Context(), a, code); err != nil {
		t.Fatal(err)
	}
}

// TestWithdrawNeedsPassword: a wrong password withdraws no one.
func TestWithdrawNeedsPassword(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		m := w.Member(featuretest.NewMember{})
		if err := w.Members.Withdraw(t.Context(), m.ID, "wrong password", ""); !errors.Is(err, member.ErrBadPassword) {
			t.Errorf("Withdraw(wrong password) = %v, want ErrBadPassword", err)
		}
		if _, err := w.Members.Get(t.Context(), m.ID); err != nil {
			t.Errorf("after a refused withdrawal: %v", err)
		}
		if err := w.Members.Withdraw(t.Context(), "nobody", featuretest.Password, ""); !errors.Is(err, member.ErrNotFound) {
			t.Errorf("Withdraw(stranger) = %v, want ErrNotFound", err)
		}
	})
}

// TestWithdraw (R-M7): withdrawal deletes the member and everything of theirs in
// every feature — the boxes and files they sent, their second factors with the
// sealed secret's key, their sessions, their proof — mails a goodbye, and keeps
// the audit log under the pseudonymous id. Boxes others sent them stay with
// their senders.
func TestWithdraw(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		leaving := w.Member(featuretest.NewMember{})
		colleague := w.Member(featuretest.NewMember{})
		sent, sentFile := send(t, w, leaving.ID, colleague.ID, featuretest.ProofPNG(t))
		received, _ := send(t, w, colleague.ID, leaving.ID, featuretest.ProofPNG(t))
		token, a := signIn(t, w, leaving)
		enrolTOTP(t, w, a)
		var totpKey string
		if err := w.DB.QueryRowContext(ctx, `SELECT key_id FROM mfa_totp WHERE member_id = $1`, leaving.ID).Scan(&totpKey); err != nil {
			t.Fatal(err)
		}
		if !hasBlob(t, w, string(sentFile.ID)) {
			t.Fatalf("the sent file is not stored: %v", blobFiles(t, w))
		}

		if err := w.Members.Withdraw(ctx, leaving.ID, featuretest.Password, "192.0.2.1"); err != nil {
			t.Fatalf("Withdraw() = %v", err)
		}
		if got := mailed(w, string(leaving.Email), "withdrawn", nil); len(got) != 1 {
			t.Errorf("mails to the withdrawn member: %q, want one goodbye", subjects(w, string(leaving.Email)))
		}
		w.RunJobs() // erasing the blobs of deleted boxes is queued work

		if _, err := w.Members.Get(ctx, leaving.ID); !errors.Is(err, member.ErrNotFound) {
			t.Errorf("Get(withdrawn) = %v, want ErrNotFound", err)
		}
		if _, err := w.Auth.Authenticate(ctx, token, auth.Web, ""); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("the withdrawn member's session: %v, want ErrNoSession", err)
		}
		if _, err := w.Boxes.Get(ctx, colleague.ID, sent.ID); !errors.Is(err, box.ErrNotFound) {
			t.Errorf("the box the member sent: Get() = %v, want ErrNotFound", err)
		}
		if _, err := w.Boxes.Get(ctx, colleague.ID, received.ID); err != nil {
			t.Errorf("the box the member was sent is gone from its sender: %v", err)
		}
		if hasBlob(t, w, string(sentFile.ID)) || hasBlob(t, w, "proofs/"+string(leaving.ID)) {
			t.Errorf("stored objects left of the member: %v", blobFiles(t, w))
		}
		for _, table := range []string{"mfa_totp", "mfa_recovery", "sessions", "remembered_devices", "login_state", "member_tokens", "participants"} {
			if n := count(t, w, `SELECT count(*) FROM `+table+` WHERE member_id = $1`, leaving.ID); n != 0 {
				t.Errorf("%d rows of the member left in %s", n, table)
			}
		}
		if n := count(t, w, `SELECT count(*) FROM seal_keys WHERE id = $1`, totpKey); n != 0 {
			t.Error("the key of the member's TOTP secret is left")
		}
		if n := count(t, w, `SELECT count(*) FROM audit_events WHERE actor = $1 OR target = $1`, leaving.ID); n == 0 {
			t.Error("the audit entries of the member are gone; they must stay under the pseudonymous id")
		}
	})
}

// TestWithdrawLeavesNoTrace (R-M7): after withdrawal and the mail it sends, the
// raw SQLite files hold no trace of the member's personal data — not even an
// invitation to their address they never used.
func TestWithdrawLeavesNoTrace(t *testing.T) {
	t.Parallel()
	w := featuretest.New(t, "", featuretest.Options{})
	ctx := t.Context()
	const canary = "カナリア検出用ZQXJ"
	email := "canary-zqxj@example.jp"
	inviter := w.Member(featuretest.NewMember{})
	for range 2 { // a colleague invites them twice; they register through one link
		if err := w.Members.Invite(ctx, inviter.ID, email, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	r := registration(t, email)
	r.Name, r.NameKana, r.Workplace, r.Department, r.LicenseNumber = canary+" 太郎", "かなりあ", canary+"病院", canary+"科", "778899001"
	r.InviteToken = inviteToken(t, w, email)
	m := register(t, w, r)
	if _, err := w.Members.Confirm(ctx, w.LinkToken(email, "/confirm?token="), ""); err != nil {
		t.Fatal(err)
	}
	if err := w.Members.Approve(ctx, w.Admin().ID, m.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Members.UpdateProfile(ctx, m.ID, member.Profile{Department: ptr(canary + "内科")}, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.Members.Withdraw(ctx, m.ID, featuretest.Password, ""); err != nil {
		t.Fatal(err)
	}
	w.RunJobs() // the mails go out, and their rows keep no payload
	if err := w.DB.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if w.DB.Dialect() != sqldb.SQLite {
		t.Fatalf("dialect %s, want SQLite", w.DB.Dialect())
	}
	for _, f := range []string{"medbox.db", "medbox.db-wal", "medbox.db-shm"} {
		b, err := os.ReadFile(filepath.Join(w.Config.Data, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{canary, "canary-zqxj", "778899001"} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s still contains %q after withdrawal", f, needle)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }
