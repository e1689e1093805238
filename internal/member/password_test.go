package member_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestRequestReset: a reset link is mailed to a member's address, at most five
// an hour; an unknown address gets the same answer and no mail. Each new link
// replaces the last, and a link lives one hour.
func TestRequestReset(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		m := w.Member(featuretest.NewMember{})
		addr := string(m.Email)
		resets := func() int { return len(mailed(w, addr, "reset", nil)) }
		for i := range 5 {
			w.Clock.Advance(time.Minute)
			if err := w.Members.RequestReset(ctx, strings.ToUpper(addr), "192.0.2.1"); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		if n := resets(); n != 5 {
			t.Fatalf("%d reset mails after five requests, want 5", n)
		}
		token := w.LinkToken(addr, "/reset?token=")
		if !w.Members.ResetLinkValid(ctx, token) {
			t.Error("the newest reset link is not valid")
		}
		if n := count(t, w, `SELECT count(*) FROM member_tokens WHERE member_id = $1 AND purpose = 'reset'`, m.ID); n != 1 {
			t.Errorf("%d live reset links, want only the newest", n)
		}
		if err := w.Members.RequestReset(ctx, addr, "192.0.2.1"); err != nil {
			t.Errorf("sixth request = %v, want the same answer as the others", err)
		}
		if n := resets(); n != 5 {
			t.Errorf("%d reset mails after a sixth request within the hour, want 5", n)
		}
		if !w.Members.ResetLinkValid(ctx, token) {
			t.Error("a refused request replaced the link")
		}
		w.Clock.Advance(56 * time.Minute) // an hour after the first
		if err := w.Members.RequestReset(ctx, addr, ""); err != nil {
			t.Fatal(err)
		}
		if n := resets(); n != 6 {
			t.Errorf("%d reset mails an hour later, want 6", n)
		}

		unknown := newAddress("unknown")
		if err := w.Members.RequestReset(ctx, unknown, "192.0.2.1"); err != nil {
			t.Errorf("RequestReset(unknown) = %v, want nil", err)
		}
		if got := w.Mail(unknown); len(got) != 0 {
			t.Errorf("an unknown address was mailed: %q", subjects(w, unknown))
		}
	})
}

// TestResetLinkLifetime: a reset link is valid for an hour, then not.
func TestResetLinkLifetime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		after time.Duration
		valid bool
	}{
		{0, true},
		{member.ResetTTL - time.Second, true},
		{member.ResetTTL, false},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.after.String(), func(t *testing.T) {
				m := w.Member(featuretest.NewMember{})
				if err := w.Members.RequestReset(t.Context(), string(m.Email), ""); err != nil {
					t.Fatal(err)
				}
				token := w.LinkToken(string(m.Email), "/reset?token=")
				w.Clock.Advance(tt.after)
				if got := w.Members.ResetLinkValid(t.Context(), token); got != tt.valid {
					t.Errorf("ResetLinkValid() after %v = %v, want %v", tt.after, got, tt.valid)
				}
			})
		}
	})
}

func TestPasswordPolicy(t *testing.T) {
	tests := []struct {
		password, email, want string
	}{
		{"correct horse battery", "taro@example.jp", ""},
		{"123456789", "", "password_short"},
		{"１２３４５６７８９０", "", ""}, // ten characters, whatever their bytes
		{strings.Repeat("x", 256), "", ""},
		{strings.Repeat("x", 257), "", "password_long"},
		{strings.Repeat("あ", 86), "", "password_long"}, // 258 bytes
		{"Taro@Example.JP", "taro@example.jp", "password_email"},
		{"my yamada password", "yamada@example.jp", "password_email"},
		{"my abc password", "abc@example.jp", ""}, // a local part under four letters is no giveaway
		{"QwertyUiop", "", "password_common"},
		{"medbox1234", "", "password_common"},
	}
	for _, tt := range tests {
		if got := member.CheckPasswordPolicy(tt.password, tt.email); got != tt.want {
			t.Errorf("CheckPasswordPolicy(%q, %q) = %q, want %q", tt.password, tt.email, got, tt.want)
		}
	}
}

func TestHasher(t *testing.T) {
	ctx := context.Background()
	h := member.NewHasher(member.TestHashParams)
	hash, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string with its parameters", hash)
	}
	other, _ := h.Hash(ctx, "correct horse battery")
	if other == hash {
		t.Error("two hashes of one password are equal: no salt")
	}
	tests := []struct {
		name, encoded, password string
		want                    bool
		wantErr                 bool
	}{
		{"right password", hash, "correct horse battery", true, false},
		{"wrong password", hash, "correct horse battery!", false, false},
		{"no hash (unknown account)", "", "medbox-dummy-password", false, false},
		{"another format", "$2a$10$abcdefghijklmnopqrstuv", "x", false, true},
	}
	for _, tt := range tests {
		ok, err := h.Check(ctx, tt.encoded, tt.password)
		if ok != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("%s: Check() = %v, %v; want %v, error %v", tt.name, ok, err, tt.want, tt.wantErr)
		}
	}
}

// TestCredentials: the sign-in lookup finds a member by address in any case, and
// an unknown address is ErrNotFound.
func TestCredentials(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		m := w.Member(featuretest.NewMember{})
		tests := []struct {
			name, email, password string
			wantOK                bool
			wantErr               error
		}{
			{"right", " " + strings.ToUpper(string(m.Email)) + " ", featuretest.Password, true, nil},
			{"wrong password", string(m.Email), "wrong password", false, nil},
			{"unknown address", newAddress("unknown"), featuretest.Password, false, member.ErrNotFound},
		}
		for _, tt := range tests {
			got, ok, err := w.Members.Credentials(t.Context(), tt.email, tt.password)
			if ok != tt.wantOK || err != tt.wantErr || (err == nil && got.ID != m.ID) {
				t.Errorf("%s: Credentials() = %v, %v, %v; want %v, %v", tt.name, got, ok, err, tt.wantOK, tt.wantErr)
			}
		}
	})
}
