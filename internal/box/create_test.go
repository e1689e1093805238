package box_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/server"
)

// checkInputError fails t unless err is an *box.InputError for field with code,
// or nil when code is empty.
func checkInputError(t *testing.T, what string, err error, field, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("%s error = %v, want none", what, err)
		}
		return
	}
	var ie *box.InputError
	if !errors.As(err, &ie) || ie.Field != field || ie.Code != code {
		t.Fatalf("%s error = %v, want invalid %s: %s", what, err, field, code)
	}
}

// TestCreate (R-S2, R-S4): a box goes from an approved member to approved
// members chosen by id, with a message of bounded length, for between an hour
// and 14 days (72 hours unless said).
func TestCreate(t *testing.T) {
	t.Parallel()
	many := func(n int) func(*testing.T, *fixture) []member.ID {
		return func(_ *testing.T, f *fixture) []member.ID {
			ids := []member.ID{f.colleague.ID}
			for i := range n - 1 {
				ids = append(ids, member.ID(fmt.Sprintf("nobody%d", i)))
			}
			return ids
		}
	}
	colleague := func(_ *testing.T, f *fixture) []member.ID { return []member.ID{f.colleague.ID} }
	tests := []struct {
		name        string
		sender      func(*testing.T, *fixture) member.ID // default: the fixture's sender
		to          func(*testing.T, *fixture) []member.ID
		message     string
		expiresIn   time.Duration
		field, code string // the InputError expected, if any
		wantExpiry  time.Duration
	}{
		{name: "default expiry", to: colleague, wantExpiry: 72 * time.Hour},
		{name: "one hour", to: colleague, expiresIn: time.Hour, wantExpiry: time.Hour},
		{name: "14 days", to: colleague, expiresIn: 14 * 24 * time.Hour, wantExpiry: 14 * 24 * time.Hour},
		{name: "under an hour", to: colleague, expiresIn: 59 * time.Minute, field: "expires_in_hours", code: "expiry_range"},
		{name: "over 14 days", to: colleague, expiresIn: 14*24*time.Hour + time.Minute, field: "expires_in_hours", code: "expiry_range"},
		{name: "negative expiry", to: colleague, expiresIn: -time.Hour, field: "expires_in_hours", code: "expiry_range"},
		{name: "message of 2000 characters", to: colleague, message: strings.Repeat("頭", 2000), wantExpiry: 72 * time.Hour},
		{name: "message of 2001 characters", to: colleague, message: strings.Repeat("頭", 2001), field: "message", code: "too_long"},
		{name: "nobody", to: func(*testing.T, *fixture) []member.ID { return nil }, field: "recipients", code: "choose_recipient"},
		{name: "only the sender", to: func(_ *testing.T, f *fixture) []member.ID { return []member.ID{f.sender.ID, ""} },
			field: "recipients", code: "choose_recipient"},
		{name: "unknown id", to: func(*testing.T, *fixture) []member.ID { return []member.ID{"zzzzzzzzzzzzzzzzzzzzzzzzzz"} },
			field: "recipients", code: "unknown_recipient"},
		{name: "member awaiting review", to: func(_ *testing.T, f *fixture) []member.ID {
			return []member.ID{f.colleague.ID, f.Registered(featuretest.NewMember{}).ID}
		}, field: "recipients", code: "unknown_recipient"},
		{name: "suspended member", to: func(t *testing.T, f *fixture) []member.ID {
			m := f.Member(featuretest.NewMember{})
			if err := f.Members.Suspend(t.Context(), f.Admin().ID, m.ID, ""); err != nil {
				t.Fatal(err)
			}
			return []member.ID{m.ID}
		}, field: "recipients", code: "unknown_recipient"},
		{name: "administrator", to: func(_ *testing.T, f *fixture) []member.ID { return []member.ID{f.Admin().ID} },
			field: "recipients", code: "unknown_recipient"},
		{name: "50 recipients", to: func(t *testing.T, f *fixture) []member.ID { return f.crowd(t, 50) }, wantExpiry: 72 * time.Hour},
		{name: "51 recipients", to: many(51), field: "recipients", code: "too_many_recipients"},
		{name: "sender awaiting review", sender: func(_ *testing.T, f *fixture) member.ID { return f.Registered(featuretest.NewMember{}).ID },
			to: colleague, field: "recipients", code: "unknown_recipient"},
		{name: "administrator as sender", sender: func(_ *testing.T, f *fixture) member.ID { return f.Admin().ID },
			to: colleague, field: "recipients", code: "unknown_recipient"},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				sender := f.sender.ID
				if tt.sender != nil {
					sender = tt.sender(t, f)
				}
				to := tt.to(t, f)
				_, sentBefore, err := f.Boxes.List(ctx, sender)
				if err != nil {
					t.Fatal(err)
				}
				b, err := f.Boxes.Create(ctx, sender, box.Draft{Recipients: to, Message: tt.message, ExpiresIn: tt.expiresIn}, "")
				checkInputError(t, "Create()", err, tt.field, tt.code)
				if tt.code != "" {
					if _, sent, err := f.Boxes.List(ctx, sender); err != nil || len(sent) != len(sentBefore) {
						t.Errorf("after a refusal the sender lists %d sent boxes (error %v), want %d as before", len(sent), err, len(sentBefore))
					}
					return
				}
				now := f.Clock.Now()
				if !b.ExpiresAt.Equal(now.Add(tt.wantExpiry)) || b.Message != tt.message || b.Role != "sender" || len(b.Participants) != len(to)+1 {
					t.Errorf("Create() = expires %v, message of %d characters, role %q, %d participants; want %v, %d, sender, %d",
						b.ExpiresAt.Sub(now), len([]rune(b.Message)), b.Role, len(b.Participants), tt.wantExpiry, len([]rune(tt.message)), len(to)+1)
				}
				for _, r := range to {
					if _, err := f.Boxes.Get(ctx, r, b.ID); err != nil {
						t.Errorf("recipient %s: Get() error %v", r, err)
					}
				}
			})
		}
	})
}

// TestAddRecipients: the sender gives the box to more approved members, within
// the same bounds as at creation.
func TestAddRecipients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		who         func(*testing.T, *fixture) []member.ID
		field, code string
		wantPeople  int
	}{
		{"a colleague", func(_ *testing.T, f *fixture) []member.ID { return []member.ID{f.outsider().ID} }, "", "", 3},
		{"twice the same, and those already in", func(_ *testing.T, f *fixture) []member.ID {
			return []member.ID{f.outsider().ID, f.outsider().ID, f.colleague.ID, f.sender.ID}
		}, "", "", 3},
		{"only those already in", func(_ *testing.T, f *fixture) []member.ID { return []member.ID{f.colleague.ID, f.sender.ID} },
			"member_ids", "choose_recipient", 2},
		{"a member awaiting review", func(_ *testing.T, f *fixture) []member.ID {
			return []member.ID{f.outsider().ID, f.Registered(featuretest.NewMember{}).ID}
		}, "member_ids", "unknown_recipient", 2},
		{"the administrator", func(_ *testing.T, f *fixture) []member.ID { return []member.ID{f.Admin().ID} },
			"member_ids", "unknown_recipient", 2},
		{"up to 50 recipients", func(t *testing.T, f *fixture) []member.ID { return f.crowd(t, 49) }, "", "", 51},
		{"beyond 50 recipients", func(_ *testing.T, f *fixture) []member.ID {
			var ids []member.ID
			for i := range 50 {
				ids = append(ids, member.ID(fmt.Sprint("nobody", i)))
			}
			return ids
		}, "member_ids", "too_many_recipients", 2},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, w)
				err := f.Boxes.AddRecipients(t.Context(), f.sender.ID, f.box, tt.who(t, f), "")
				checkInputError(t, "AddRecipients()", err, tt.field, tt.code)
				b, err := f.Boxes.Get(t.Context(), f.sender.ID, f.box)
				if err != nil {
					t.Fatal(err)
				}
				if len(b.Participants) != tt.wantPeople {
					t.Errorf("%d participants, want %d", len(b.Participants), tt.wantPeople)
				}
			})
		}
	})
}

// crowds are approved members made once per World for the cases that need
// many recipients; being recipients harms no other case.
var crowds struct {
	sync.Mutex
	m map[*server.Instance][]member.ID
}

// crowd returns n approved members of f's World (at most 50), none of them the
// fixture's.
func (f *fixture) crowd(t *testing.T, n int) []member.ID {
	t.Helper()
	crowds.Lock()
	defer crowds.Unlock()
	if crowds.m == nil {
		crowds.m = map[*server.Instance][]member.ID{}
	}
	ids := crowds.m[f.Instance]
	for len(ids) < box.MaxRecipients {
		ids = append(ids, f.Member(featuretest.NewMember{}).ID)
	}
	crowds.m[f.Instance] = ids
	return ids[:n]
}
