package member_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// inState returns a new member in status.
func inState(t *testing.T, w *featuretest.World, status member.Status) *member.Member {
	t.Helper()
	ctx, admin := t.Context(), w.Admin().ID
	switch status {
	case member.Unconfirmed:
		return register(t, w, registration(t, newAddress("unconfirmed")))
	case member.Pending:
		return w.Registered(featuretest.NewMember{})
	case member.Active:
		return w.Member(featuretest.NewMember{})
	case member.Rejected:
		m := w.Registered(featuretest.NewMember{})
		if err := w.Members.Reject(ctx, admin, m.ID, "不鮮明", ""); err != nil {
			t.Fatal(err)
		}
		return m
	case member.Suspended:
		m := w.Member(featuretest.NewMember{})
		if err := w.Members.Suspend(ctx, admin, m.ID, ""); err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Fatalf("no member in status %q", status)
	return nil
}

// Decisions of a review.
const (
	approve = "approve"
	reject  = "reject"
	suspend = "suspend"
)

func decide(t *testing.T, w *featuretest.World, decision string, by, id member.ID) error {
	switch decision {
	case approve:
		return w.Members.Approve(t.Context(), by, id, "192.0.2.9")
	case reject:
		return w.Members.Reject(t.Context(), by, id, "免許証の画像が不鮮明です", "192.0.2.9")
	case suspend:
		return w.Members.Suspend(t.Context(), by, id, "192.0.2.9")
	}
	t.Fatalf("no decision %q", decision)
	return nil
}

// TestReview (R-M3): which decision an administrator may take from which state,
// that no one else may take any, and that the member is mailed either way.
func TestReview(t *testing.T) {
	t.Parallel()
	admin := func(_ *testing.T, w *featuretest.World, _ *member.Member) member.ID { return w.Admin().ID }
	tests := []struct {
		name       string
		from       member.Status
		decision   string
		by         func(t *testing.T, w *featuretest.World, m *member.Member) member.ID
		wantErr    error
		wantStatus member.Status
		wantMail   string
	}{
		{"approve pending", member.Pending, approve, admin, nil, member.Active, "approved"},
		{"approve rejected", member.Rejected, approve, admin, nil, member.Active, "approved"},
		{"reinstate suspended", member.Suspended, approve, admin, nil, member.Active, "approved"},
		{"approve active", member.Active, approve, admin, member.ErrWrongState, member.Active, ""},
		{"approve unconfirmed", member.Unconfirmed, approve, admin, member.ErrWrongState, member.Unconfirmed, ""},
		{"reject pending", member.Pending, reject, admin, nil, member.Rejected, "rejected"},
		{"reject active", member.Active, reject, admin, member.ErrWrongState, member.Active, ""},
		{"reject suspended", member.Suspended, reject, admin, member.ErrWrongState, member.Suspended, ""},
		{"reject unconfirmed", member.Unconfirmed, reject, admin, member.ErrWrongState, member.Unconfirmed, ""},
		{"suspend active", member.Active, suspend, admin, nil, member.Suspended, "suspended"},
		{"suspend pending", member.Pending, suspend, admin, member.ErrWrongState, member.Pending, ""},
		{"suspend rejected", member.Rejected, suspend, admin, member.ErrWrongState, member.Rejected, ""},
		{"member approves", member.Pending, approve, func(_ *testing.T, w *featuretest.World, _ *member.Member) member.ID {
			return w.Member(featuretest.NewMember{}).ID
		}, member.ErrNotFound, member.Pending, ""},
		{"member suspends", member.Active, suspend, func(_ *testing.T, w *featuretest.World, _ *member.Member) member.ID {
			return w.Member(featuretest.NewMember{}).ID
		}, member.ErrNotFound, member.Active, ""},
		{"member approves themself", member.Rejected, approve, func(_ *testing.T, _ *featuretest.World, m *member.Member) member.ID {
			return m.ID
		}, member.ErrNotFound, member.Rejected, ""},
		{"suspended member rejects", member.Pending, reject, func(t *testing.T, w *featuretest.World, _ *member.Member) member.ID {
			return inState(t, w, member.Suspended).ID
		}, member.ErrNotFound, member.Pending, ""},
		{"stranger approves", member.Pending, approve, func(*testing.T, *featuretest.World, *member.Member) member.ID { return "nobody" },
			member.ErrNotFound, member.Pending, ""},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := inState(t, w, tt.from)
				by := tt.by(t, w, m)
				mailsBefore := w.Mail(string(m.Email))
				const eventsQ = `SELECT count(*) FROM audit_events WHERE action = $1 AND target = $2 AND actor = $3`
				eventsBefore := count(t, w, eventsQ, "member."+tt.decision, m.ID, by)
				if err := decide(t, w, tt.decision, by, m.ID); !errors.Is(err, tt.wantErr) {
					t.Fatalf("%s = %v, want %v", tt.decision, err, tt.wantErr)
				}
				if got := get(t, w, m.ID).Status; got != tt.wantStatus {
					t.Errorf("status %s, want %s", got, tt.wantStatus)
				}
				var want []string
				if tt.wantMail != "" {
					want = []string{subject(tt.wantMail, nil)}
				}
				if got := newSubjects(mailsBefore, w.Mail(string(m.Email))); !slices.Equal(got, want) {
					t.Errorf("new mails to the member: %q, want %q", got, want)
				}
				wantEvents := 0
				if tt.wantErr == nil {
					wantEvents = 1
				}
				if n := count(t, w, eventsQ, "member."+tt.decision, m.ID, by) - eventsBefore; n != wantEvents {
					t.Errorf("%d new member.%s events by %s, want %d", n, tt.decision, by, wantEvents)
				}
			})
		}
	})
}

// TestReviewLeavesAdministratorsAlone: the review decisions are for members; an
// administrator's account is not suspended or rejected through them.
func TestReviewLeavesAdministratorsAlone(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		other, err := w.Members.CreateAdmin(t.Context(), member.NewAdmin{Email: newAddress("admin"), Password: featuretest.Password, Name: "管理 次郎"})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{approve, reject, suspend} {
			if err := decide(t, w, d, w.Admin().ID, other.ID); !errors.Is(err, member.ErrWrongState) {
				t.Errorf("%s an administrator = %v, want ErrWrongState", d, err)
			}
		}
		if got := get(t, w, other.ID); !got.IsAdmin() {
			t.Errorf("the other administrator is now %s %s", got.Role, got.Status)
		}
	})
}

// TestRejectNeedsReason: a rejection says why, and the member reads it in the mail
// and on their page.
func TestRejectNeedsReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		reason   string
		wantCode string
	}{
		{"no reason", "  ", "required"},
		{"reason of 1001 characters", strings.Repeat("理", member.MaxReasonLen+1), "too_long"},
		{"reason of 1000 characters", strings.Repeat("理", member.MaxReasonLen), ""},
		{"short reason", " 免許証の画像が不鮮明です ", ""},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := w.Registered(featuretest.NewMember{})
				err := w.Members.Reject(t.Context(), w.Admin().ID, m.ID, tt.reason, "")
				if got := fieldErrors(err)["reason"]; got != tt.wantCode || (tt.wantCode == "" && err != nil) {
					t.Fatalf("Reject() = %v, want reason code %q", err, tt.wantCode)
				}
				got := get(t, w, m.ID)
				if tt.wantCode != "" {
					if got.Status != member.Pending {
						t.Errorf("status after a refused rejection: %s, want pending", got.Status)
					}
					return
				}
				want := strings.TrimSpace(tt.reason)
				if got.Status != member.Rejected || got.RejectReason != want {
					t.Errorf("after Reject(): %s with reason %q, want rejected with %q", got.Status, got.RejectReason, want)
				}
				if msgs := mailed(w, string(m.Email), "rejected", map[string]any{"Reason": want}); len(msgs) != 1 || !strings.Contains(msgs[0].Text, want) {
					t.Errorf("rejection mails: %q, want one holding the reason", subjects(w, string(m.Email)))
				}
				// Approval later clears the reason.
				if err := w.Members.Approve(t.Context(), w.Admin().ID, m.ID, ""); err != nil {
					t.Fatal(err)
				}
				if got := get(t, w, m.ID); got.RejectReason != "" {
					t.Errorf("reason after approval: %q, want none", got.RejectReason)
				}
			})
		}
	})
}

// TestReviewQueue: administrators see who waits in each state, oldest first,
// never an administrator.
func TestReviewQueue(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		first := w.Registered(featuretest.NewMember{})
		w.Clock.Advance(1)
		second := w.Registered(featuretest.NewMember{})
		w.Member(featuretest.NewMember{})
		queue, err := w.Members.Review(t.Context(), member.Pending)
		if err != nil {
			t.Fatal(err)
		}
		var got []member.ID
		for _, m := range queue {
			got = append(got, m.ID)
		}
		if len(got) != 2 || got[0] != first.ID || got[1] != second.ID {
			t.Errorf("pending queue %v, want [%s %s]", got, first.ID, second.ID)
		}
		active, err := w.Members.Review(t.Context(), member.Active)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range active {
			if m.Role != member.RoleMember {
				t.Errorf("the active list shows %s, a %s", m.ID, m.Role)
			}
		}
		if len(active) != 1 {
			t.Errorf("%d active members listed, want 1", len(active))
		}
	})
}

// TestApproveByEmail: `medbox admin approve --email` approves as "cli".
func TestApproveByEmail(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		m := w.Registered(featuretest.NewMember{})
		got, err := w.Members.ApproveByEmail(t.Context(), strings.ToUpper(string(m.Email)))
		if err != nil || got.Status != member.Active || !got.Fixed() {
			t.Fatalf("ApproveByEmail() = %v, %v; want an approved member", got, err)
		}
		if n := count(t, w, `SELECT count(*) FROM audit_events WHERE action = 'member.approve' AND actor = 'cli' AND target = $1`, m.ID); n != 1 {
			t.Errorf("%d member.approve events by cli, want 1", n)
		}
		if _, err := w.Members.ApproveByEmail(t.Context(), "nobody@example.jp"); !errors.Is(err, member.ErrNotFound) {
			t.Errorf("ApproveByEmail(unknown) = %v, want ErrNotFound", err)
		}
	})
}
