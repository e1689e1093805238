package member_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestRequestEmailChange: a change of address needs the password and a valid
// address, and only mails the new address; nothing changes yet.
func TestRequestEmailChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		password  string
		newEmail  string
		wantErr   error
		wantField string
	}{
		{"right password", featuretest.Password, "", nil, ""},
		{"wrong password", "wrong password", "", member.ErrBadPassword, ""},
		{"bad address", featuretest.Password, "not-an-address", nil, "email"},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := w.Member(featuretest.NewMember{})
				to := tt.newEmail
				if to == "" {
					to = newAddress("new")
				}
				err := w.Members.RequestEmailChange(t.Context(), m.ID, tt.password, strings.ToUpper(to), "")
				switch {
				case tt.wantField != "":
					if fieldErrors(err)[tt.wantField] == "" {
						t.Errorf("RequestEmailChange() = %v, want a problem with %s", err, tt.wantField)
					}
				case !errors.Is(err, tt.wantErr):
					t.Errorf("RequestEmailChange() = %v, want %v", err, tt.wantErr)
				}
				wantMails := 0
				if err == nil {
					wantMails = 1
				}
				if got := mailed(w, to, "email_change", nil); len(got) != wantMails {
					t.Errorf("%d confirmation mails to the new address, want %d", len(got), wantMails)
				}
				if got := get(t, w, m.ID).Email; got != m.Email {
					t.Errorf("address changed to %s before the link was used", got)
				}
			})
		}
	})
}

// TestConfirmEmailChange: the link to the new address changes the address, once,
// within 48 hours, unless someone has taken it meanwhile; the old address is told.
func TestConfirmEmailChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		before    func(t *testing.T, w *featuretest.World, to, token string)
		wantErr   error
		wantField string
		wantNew   bool // the address is the new one afterwards
	}{
		{"fresh link", func(*testing.T, *featuretest.World, string, string) {}, nil, "", true},
		{"47 hours later", func(_ *testing.T, w *featuretest.World, _, _ string) { w.Clock.Advance(47 * time.Hour) }, nil, "", true},
		{"48 hours later", func(_ *testing.T, w *featuretest.World, _, _ string) { w.Clock.Advance(member.ConfirmTTL) }, member.ErrBadToken, "", false},
		{"used before", func(t *testing.T, w *featuretest.World, _, token string) {
			if _, err := w.Members.ConfirmEmailChange(t.Context(), token, ""); err != nil {
				t.Fatal(err)
			}
		}, member.ErrBadToken, "", true},
		{"address taken meanwhile", func(_ *testing.T, w *featuretest.World, to, _ string) {
			w.Registered(featuretest.NewMember{Email: to})
		}, nil, "email", false},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := w.Member(featuretest.NewMember{})
				to := newAddress("new")
				if err := w.Members.RequestEmailChange(t.Context(), m.ID, featuretest.Password, to, ""); err != nil {
					t.Fatal(err)
				}
				token := w.LinkToken(to, "/settings/email?token=")
				tt.before(t, w, to, token)
				toldBefore := len(mailed(w, string(m.Email), "email_changed", nil))
				got, err := w.Members.ConfirmEmailChange(t.Context(), token, "")
				switch {
				case tt.wantField != "":
					if fieldErrors(err)[tt.wantField] != "email_taken" {
						t.Fatalf("ConfirmEmailChange() = %v, want email: email_taken", err)
					}
				case !errors.Is(err, tt.wantErr):
					t.Fatalf("ConfirmEmailChange() = %v, want %v", err, tt.wantErr)
				}
				changed := tt.wantErr == nil && tt.wantField == ""
				wantEmail, wantTold := m.Email, toldBefore
				if tt.wantNew {
					wantEmail = member.Email(to)
				}
				if changed {
					wantTold++
					if got.Email != wantEmail {
						t.Errorf("ConfirmEmailChange() = member with %s, want %s", got.Email, wantEmail)
					}
				}
				if now := get(t, w, m.ID).Email; now != wantEmail {
					t.Errorf("address %s, want %s", now, wantEmail)
				}
				if n := len(mailed(w, string(m.Email), "email_changed", nil)); n != wantTold {
					t.Errorf("the old address was told %d more times, want %d", n-toldBefore, wantTold-toldBefore)
				}
				if tt.wantNew {
					if _, ok, err := w.Members.Credentials(t.Context(), to, featuretest.Password); !ok || err != nil {
						t.Errorf("sign-in with the new address: %v, %v", ok, err)
					}
					if _, err := w.Members.ByEmail(t.Context(), string(m.Email)); !errors.Is(err, member.ErrNotFound) {
						t.Errorf("ByEmail(old address) = %v, want ErrNotFound", err)
					}
				}
			})
		}
	})
}
