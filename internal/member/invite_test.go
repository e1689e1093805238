package member_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestInvitation (R-M5): an invitation mails a registration link whose page is
// prefilled (address, inviter, note); the note stays out of the mail. A
// registration through it records the inviter, uses the invitation up, and the
// inviter is told when — and only the first time — the colleague is approved.
func TestInvitation(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		inviter := w.Member(featuretest.NewMember{Name: "招待 する", NameKana: "しょうたい する"})
		email := newAddress("invited")
		if err := w.Members.Invite(ctx, inviter.ID, " "+strings.ToUpper(email)+" ", " MRI を見てほしい ", "192.0.2.1"); err != nil {
			t.Fatalf("Invite() = %v", err)
		}
		msgs := mailed(w, email, "invite", map[string]any{"Inviter": inviter.Name})
		if len(msgs) != 1 || !strings.Contains(msgs[0].Link, "/register?invite=") {
			t.Fatalf("mails to %s: %q, want one invitation with a registration link", email, subjects(w, email))
		}
		if strings.Contains(msgs[0].Text, "MRI") {
			t.Error("the inviter's note reached the mail; it belongs on the page only")
		}
		token := inviteToken(t, w, email)
		inv, err := w.Members.InvitationByToken(ctx, token)
		if err != nil {
			t.Fatalf("InvitationByToken() = %v", err)
		}
		if inv.Email != email || inv.Inviter != inviter.ID || inv.InviterName != "招待 する" || inv.Message != "MRI を見てほしい" {
			t.Errorf("invitation = %+v; want it prefilled with %s, 招待 する and the note", inv, email)
		}

		r := registration(t, email)
		r.Name, r.InviteToken = "新人 医師", token
		invitee := register(t, w, r)
		if invitee.InvitedBy != inviter.ID {
			t.Errorf("invited by %q, want %s", invitee.InvitedBy, inviter.ID)
		}
		if _, err := w.Members.InvitationByToken(ctx, token); !errors.Is(err, member.ErrBadToken) {
			t.Errorf("InvitationByToken(used) = %v, want ErrBadToken", err)
		}
		if _, err := w.Members.Confirm(ctx, w.LinkToken(email, "/confirm?token="), ""); err != nil {
			t.Fatal(err)
		}
		joined := map[string]any{"Name": "新人 医師"}
		if got := mailed(w, string(inviter.Email), "invitee_joined", joined); len(got) != 0 {
			t.Errorf("the inviter was told before the approval: %q", subjects(w, string(inviter.Email)))
		}
		admin := w.Admin().ID
		if err := w.Members.Approve(ctx, admin, invitee.ID, ""); err != nil {
			t.Fatal(err)
		}
		if got := mailed(w, string(inviter.Email), "invitee_joined", joined); len(got) != 1 || !strings.Contains(got[0].Text, "新人 医師") {
			t.Errorf("mails to the inviter: %q, want one saying 新人 医師 joined", subjects(w, string(inviter.Email)))
		}
		// Reinstated after a suspension: not news to the inviter.
		if err := w.Members.Suspend(ctx, admin, invitee.ID, ""); err != nil {
			t.Fatal(err)
		}
		if err := w.Members.Approve(ctx, admin, invitee.ID, ""); err != nil {
			t.Fatal(err)
		}
		if got := mailed(w, string(inviter.Email), "invitee_joined", joined); len(got) != 1 {
			t.Errorf("the inviter was told %d times, want once", len(got))
		}
	})
}

// TestInvitationOfAMember: inviting an address that is already registered
// answers the same, and the member is sent to sign in, not to register.
func TestInvitationOfAMember(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		inviter := w.Member(featuretest.NewMember{Name: "招待 する", NameKana: "しょうたい する"})
		known := w.Member(featuretest.NewMember{})
		if err := w.Members.Invite(t.Context(), inviter.ID, string(known.Email), "", ""); err != nil {
			t.Fatalf("Invite(member) = %v, want the answer a stranger's address gets", err)
		}
		got := mailed(w, string(known.Email), "invite_member", map[string]any{"Inviter": "招待 する"})
		if len(got) != 1 || strings.Contains(got[0].Text, "/register") || !strings.HasSuffix(got[0].Link, "/login") {
			t.Errorf("mails to the member: %q, want one sign-in reminder without a registration link", subjects(w, string(known.Email)))
		}
	})
}

// TestInvitationRefused: who may invite, what an invitation may hold, how many
// a day, and how long a link lives.
func TestInvitationRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		inviter func(t *testing.T, w *featuretest.World) member.ID
		email   string
		message string
		wantErr error
		field   string
	}{
		{"approved member", active, "", "", nil, ""},
		{"member awaiting review", func(_ *testing.T, w *featuretest.World) member.ID { return w.Registered(featuretest.NewMember{}).ID },
			"", "", member.ErrNotFound, ""},
		{"suspended member", func(t *testing.T, w *featuretest.World) member.ID { return inState(t, w, member.Suspended).ID },
			"", "", member.ErrNotFound, ""},
		{"administrator", func(_ *testing.T, w *featuretest.World) member.ID { return w.Admin().ID }, "", "", member.ErrNotFound, ""},
		{"stranger", func(*testing.T, *featuretest.World) member.ID { return "nobody" }, "", "", member.ErrNotFound, ""},
		{"bad address", active, "not-an-address", "", nil, "email"},
		{"note of 501 characters", active, "", strings.Repeat("診", 501), nil, "message"},
		{"note of 500 characters", active, "", strings.Repeat("診", 500), nil, ""},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				email := tt.email
				if email == "" {
					email = newAddress("invite")
				}
				err := w.Members.Invite(t.Context(), tt.inviter(t, w), email, tt.message, "")
				switch {
				case tt.field != "":
					if fieldErrors(err)[tt.field] == "" {
						t.Errorf("Invite() = %v, want a problem with %s", err, tt.field)
					}
				case !errors.Is(err, tt.wantErr):
					t.Errorf("Invite() = %v, want %v", err, tt.wantErr)
				}
				wantMails := 0
				if err == nil {
					wantMails = 1
				}
				if got := len(w.Mail(email)); got != wantMails {
					t.Errorf("%d mails to %s, want %d", got, email, wantMails)
				}
			})
		}
	})
}

func active(_ *testing.T, w *featuretest.World) member.ID {
	return w.Member(featuretest.NewMember{}).ID
}

// TestInvitationRateLimit: a member sends at most MaxInvitesPerDay invitations in
// 24 hours; the next day they may send again.
func TestInvitationRateLimit(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		inviter := w.Member(featuretest.NewMember{}).ID
		for i := range member.MaxInvitesPerDay {
			if err := w.Members.Invite(ctx, inviter, newAddress("many"), "", ""); err != nil {
				t.Fatalf("invitation %d: %v", i+1, err)
			}
		}
		over := newAddress("over")
		if err := w.Members.Invite(ctx, inviter, over, "", ""); !errors.Is(err, member.ErrTooMany) {
			t.Errorf("invitation %d = %v, want ErrTooMany", member.MaxInvitesPerDay+1, err)
		}
		if got := w.Mail(over); len(got) != 0 {
			t.Errorf("an invitation over the limit was mailed")
		}
		if err := w.Members.Invite(ctx, w.Member(featuretest.NewMember{}).ID, over, "", ""); err != nil {
			t.Errorf("another member's invitation = %v; the limit is per inviter", err)
		}
		w.Clock.Advance(24*time.Hour - time.Second)
		if err := w.Members.Invite(ctx, inviter, newAddress("over"), "", ""); !errors.Is(err, member.ErrTooMany) {
			t.Errorf("invitation within the same 24 hours = %v, want ErrTooMany", err)
		}
		w.Clock.Advance(time.Second)
		if err := w.Members.Invite(ctx, inviter, newAddress("next"), "", ""); err != nil {
			t.Errorf("invitation 24 hours later = %v", err)
		}
	})
}

// TestInvitationLink: an invitation link lives 14 days and only while its
// inviter is an approved member; a registration with a dead one is refused.
func TestInvitationLink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		after   func(t *testing.T, w *featuretest.World, inviter member.ID)
		wantErr error
	}{
		{"fresh", func(*testing.T, *featuretest.World, member.ID) {}, nil},
		{"13 days later", func(_ *testing.T, w *featuretest.World, _ member.ID) { w.Clock.Advance(member.InviteTTL - time.Hour) }, nil},
		{"14 days later", func(_ *testing.T, w *featuretest.World, _ member.ID) { w.Clock.Advance(member.InviteTTL) }, member.ErrBadToken},
		{"inviter suspended", func(t *testing.T, w *featuretest.World, inviter member.ID) {
			if err := w.Members.Suspend(t.Context(), w.Admin().ID, inviter, ""); err != nil {
				t.Fatal(err)
			}
		}, member.ErrBadToken},
		{"inviter withdrawn", func(t *testing.T, w *featuretest.World, inviter member.ID) {
			if err := w.Members.Withdraw(t.Context(), inviter, featuretest.Password, ""); err != nil {
				t.Fatal(err)
			}
		}, member.ErrBadToken},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				inviter := w.Member(featuretest.NewMember{}).ID
				email := newAddress("link")
				if err := w.Members.Invite(t.Context(), inviter, email, "", ""); err != nil {
					t.Fatal(err)
				}
				token := inviteToken(t, w, email)
				tt.after(t, w, inviter)
				if _, err := w.Members.InvitationByToken(t.Context(), token); !errors.Is(err, tt.wantErr) {
					t.Errorf("InvitationByToken() = %v, want %v", err, tt.wantErr)
				}
				r := registration(t, email)
				r.InviteToken = token
				m, err := w.Members.Register(t.Context(), r)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Register() with the link = %v, want %v", err, tt.wantErr)
				}
				if err == nil && m.InvitedBy != inviter {
					t.Errorf("invited by %q, want %s", m.InvitedBy, inviter)
				}
				if err != nil && count(t, w, `SELECT count(*) FROM members WHERE email = $1`, email) != 0 {
					t.Error("a registration with a dead invitation was stored")
				}
			})
		}
	})
}
