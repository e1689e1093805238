package auth

import (
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/clocktest"
)

// The RFC 6238 test secret ("12345678901234567890") and its SHA-1 codes.
var rfcSecret = []byte("12345678901234567890")

func TestMatchTOTP(t *testing.T) {
	at := time.Unix(1111111109, 0) // fixed date: RFC 6238 appendix B test vector, 07081804 → 081804 in six digits
	step := at.Unix() / totpPeriod
	tests := []struct {
		name     string
		code     string
		now      time.Time
		last     int64
		wantStep int64
		wantOK   bool
	}{
		{"RFC 6238 vector", "081804", at, 0, step, true},
		{"one step late", "081804", at.Add(totpPeriod * time.Second), 0, step, true},
		{"one step early", "081804", at.Add(-totpPeriod * time.Second), 0, step, true},
		{"two steps late", "081804", at.Add(2 * totpPeriod * time.Second), 0, 0, false},
		{"two steps early", "081804", at.Add(-2 * totpPeriod * time.Second), 0, 0, false},
		{"step already used", "081804", at, step, 0, false},
		{"later step used", "081804", at, step + 1, 0, false},
		{"wrong code", "081805", at, 0, 0, false},
		{"not six digits", "81804", at, 0, 0, false},
		{"letters", "08180a", at, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotStep, ok := matchTOTP(rfcSecret, tt.code, tt.now, tt.last)
			if ok != tt.wantOK || gotStep != tt.wantStep {
				t.Errorf("matchTOTP(%q) = %d, %v; want %d, %v", tt.code, gotStep, ok, tt.wantStep, tt.wantOK)
			}
		})
	}
}

func TestTOTPCodeMatches(t *testing.T) {
	now := clocktest.Start()
	code, err := TOTPCode(groupSecret(b32.EncodeToString(rfcSecret)), now)
	if err != nil {
		t.Fatal(err)
	}
	if step, ok := matchTOTP(rfcSecret, code, now, 0); !ok || step != now.Unix()/totpPeriod {
		t.Errorf("the code an app shows (%s) does not match its own step: %d %v", code, step, ok)
	}
}

func TestNormalizeCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{" 123 456 ", "123456"},
		{"１２３４５６", "123456"},
		{"ABCD-EFGH-2345-6723", "abcdefgh23456723"},
		{"ａｂｃｄ　ｅｆｇｈ", "abcdefgh"},
	}
	for _, tt := range tests {
		if got := normalizeCode(tt.in); got != tt.want {
			t.Errorf("normalizeCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !isTOTPCode("012345") || isTOTPCode("01234") || isTOTPCode("0123456") {
		t.Error("isTOTPCode misjudges six digits")
	}
	if !isRecoveryCode("abcdefgh23456723") || isRecoveryCode("abcdefgh23456781") || isRecoveryCode("abcdefgh2345672") {
		t.Error("isRecoveryCode misjudges 16 base32 letters")
	}
}

func TestRecoveryHashIsPerMember(t *testing.T) {
	if recoveryHash("a", "abcdefgh23456723") == recoveryHash("b", "abcdefgh23456723") {
		t.Error("the same recovery code hashes alike for two members")
	}
}
