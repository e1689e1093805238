package member_test

import (
	"errors"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestConfirmLink (R-M1): the confirmation link works once, within 48 hours on
// the moved clock, for the newest link only; using it makes the member pending
// and tells the administrators.
func TestConfirmLink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		use     func(t *testing.T, w *featuretest.World, email, token string) string // returns the token to use
		wantErr error
	}{
		{"fresh link", func(_ *testing.T, _ *featuretest.World, _, token string) string { return token }, nil},
		{"just before 48 hours", func(_ *testing.T, w *featuretest.World, _, token string) string {
			w.Clock.Advance(member.ConfirmTTL - time.Second)
			return token
		}, nil},
		{"at 48 hours", func(_ *testing.T, w *featuretest.World, _, token string) string {
			w.Clock.Advance(member.ConfirmTTL)
			return token
		}, member.ErrBadToken},
		{"used before", func(t *testing.T, w *featuretest.World, _, token string) string {
			if _, err := w.Members.Confirm(t.Context(), token, ""); err != nil {
				t.Fatalf("first Confirm() = %v", err)
			}
			return token
		}, member.ErrBadToken},
		{"replaced by a newer link", func(t *testing.T, w *featuretest.World, email, token string) string {
			w.Clock.Advance(time.Second) // mails of one clock tick have no order
			if _, err := w.Members.Register(t.Context(), registration(t, email)); err != nil {
				t.Fatal(err)
			}
			if w.LinkToken(email, "/confirm?token=") == token {
				t.Fatal("registering again mailed the same link")
			}
			return token
		}, member.ErrBadToken},
		{"newer link", func(t *testing.T, w *featuretest.World, email, _ string) string {
			w.Clock.Advance(time.Second)
			if _, err := w.Members.Register(t.Context(), registration(t, email)); err != nil {
				t.Fatal(err)
			}
			return w.LinkToken(email, "/confirm?token=")
		}, nil},
		{"unknown token", func(_ *testing.T, _ *featuretest.World, _, token string) string { return token + "x" }, member.ErrBadToken},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		admin := w.Admin()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				email := newAddress("confirm")
				m := register(t, w, registration(t, email))
				token := tt.use(t, w, email, w.LinkToken(email, "/confirm?token="))
				reviews := len(mailed(w, string(admin.Email), "review_needed", nil))
				got, err := w.Members.Confirm(t.Context(), token, "192.0.2.1")
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Confirm() = %v, want %v", err, tt.wantErr)
				}
				wantStatus, wantReviews := member.Pending, reviews+1
				if tt.wantErr != nil {
					wantStatus, wantReviews = get(t, w, m.ID).Status, reviews // what it was: a refused link changes nothing
				} else if got.ID != m.ID || got.Status != member.Pending {
					t.Errorf("Confirm() = %s %s, want %s pending", got.ID, got.Status, m.ID)
				}
				if s := get(t, w, m.ID).Status; s != wantStatus {
					t.Errorf("status %s, want %s", s, wantStatus)
				}
				if n := len(mailed(w, string(admin.Email), "review_needed", nil)); n != wantReviews {
					t.Errorf("administrator was told of %d reviews, want %d", n-reviews, wantReviews-reviews)
				}
			})
		}
	})
}

// TestConfirmLinkIsNotAnotherLink: a link of one purpose does not work for another.
func TestConfirmLinkIsNotAnotherLink(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		m := w.Member(featuretest.NewMember{})
		if err := w.Members.RequestReset(t.Context(), string(m.Email), ""); err != nil {
			t.Fatal(err)
		}
		reset := w.LinkToken(string(m.Email), "/reset?token=")
		if _, err := w.Members.Confirm(t.Context(), reset, ""); !errors.Is(err, member.ErrBadToken) {
			t.Errorf("Confirm(reset link) = %v, want ErrBadToken", err)
		}
		if !w.Members.ResetLinkValid(t.Context(), reset) {
			t.Error("trying a reset link as a confirmation used it up")
		}
	})
}

// TestPurgeExpired: the hourly purge deletes expired links and unused
// invitations, and registrations never confirmed within 7 days, with their
// proof; it keeps what is still live and every member who confirmed.
func TestPurgeExpired(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		purge := func() {
			t.Helper()
			if err := w.Members.PurgeExpired(ctx, w.Clock.Now()); err != nil {
				t.Fatalf("PurgeExpired() = %v", err)
			}
		}
		stale := register(t, w, registration(t, newAddress("stale")))
		pending := w.Registered(featuretest.NewMember{})
		inviter := w.Member(featuretest.NewMember{})
		if err := w.Members.Invite(ctx, inviter.ID, newAddress("invited"), "", ""); err != nil {
			t.Fatal(err)
		}
		invitee := newAddress("invitee")
		if err := w.Members.Invite(ctx, inviter.ID, invitee, "", ""); err != nil {
			t.Fatal(err)
		}
		r := registration(t, invitee)
		r.InviteToken = inviteToken(t, w, invitee)
		register(t, w, r)
		if _, err := w.Members.Confirm(ctx, w.LinkToken(invitee, "/confirm?token="), ""); err != nil {
			t.Fatal(err)
		}

		w.Clock.Advance(member.UnconfirmedTTL - time.Hour)
		fresh := register(t, w, registration(t, newAddress("fresh")))
		purge()
		if _, err := w.Members.Get(ctx, stale.ID); err != nil {
			t.Errorf("a registration of 6 days 23 hours was purged: %v", err)
		}
		w.Clock.Advance(time.Hour)
		if err := w.Members.RequestReset(ctx, string(inviter.Email), ""); err != nil {
			t.Fatal(err)
		}
		purge()
		if _, err := w.Members.Get(ctx, stale.ID); !errors.Is(err, member.ErrNotFound) {
			t.Errorf("a registration unconfirmed for 7 days: Get() = %v, want ErrNotFound", err)
		}
		if hasBlob(t, w, "proofs/"+string(stale.ID)) {
			t.Error("the proof of a purged registration is still stored")
		}
		if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'member.purge_unconfirmed' AND target = $1`, stale.ID); n != 1 {
			t.Errorf("%d member.purge_unconfirmed events, want 1", n)
		}
		for _, m := range []*member.Member{pending, inviter, fresh} {
			if _, err := w.Members.Get(ctx, m.ID); err != nil {
				t.Errorf("member %s (%s) was purged: %v", m.ID, m.Status, err)
			}
		}
		if n := count(t, w, `SELECT count(*) FROM member_tokens WHERE expires_at <= $1`, w.Clock.Now().UnixMilli()); n != 0 {
			t.Errorf("%d expired links left", n)
		}
		if n := count(t, w, `SELECT count(*) FROM member_tokens WHERE member_id IN ($1, $2)`, fresh.ID, inviter.ID); n != 2 {
			t.Errorf("%d links left of the fresh registration and the reset, want both", n)
		}
		if n := count(t, w, `SELECT count(*) FROM invitations`); n != 2 {
			t.Errorf("%d invitations left a week on, want both", n)
		}
		w.Clock.Advance(member.InviteTTL - member.UnconfirmedTTL)
		purge()
		if n := count(t, w, `SELECT count(*) FROM invitations WHERE member_id IS NOT NULL`); n != 1 {
			t.Errorf("%d used invitations left, want the one used (it says who invited whom)", n)
		}
		if n := count(t, w, `SELECT count(*) FROM invitations WHERE member_id IS NULL`); n != 0 {
			t.Errorf("%d unused invitations left after 14 days, want 0", n)
		}
	})
}
