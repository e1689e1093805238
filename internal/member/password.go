package member

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// HashParams are the argon2id cost settings.
type HashParams struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	Concurrent  int // hashes computed at once; more wait, so memory stays bounded
}

// DefaultHashParams follow the OWASP recommendation for argon2id (46 MiB, t=1).
var DefaultHashParams = HashParams{Memory: 46 * 1024, Iterations: 1, Parallelism: 1, Concurrent: 4}

// TestHashParams are cheap settings for tests only.
var TestHashParams = HashParams{Memory: 1024, Iterations: 1, Parallelism: 1, Concurrent: 8}

// Hasher hashes and checks passwords with argon2id, bounding how many hashes run at
// once so a burst of sign-ins cannot exhaust memory.
type Hasher struct {
	p     HashParams
	slots chan struct{}
	dummy string
}

// NewHasher returns a Hasher with p.
func NewHasher(p HashParams) *Hasher {
	if p.Concurrent < 1 {
		p.Concurrent = 1
	}
	h := &Hasher{p: p, slots: make(chan struct{}, p.Concurrent)}
	h.dummy, _ = h.Hash(context.Background(), "medbox-dummy-password")
	return h
}

// Hash returns the PHC-format argon2id hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.p.Iterations, h.p.Memory, h.p.Parallelism, 32)
	<-h.slots
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.Memory, h.p.Iterations, h.p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Check reports whether password matches encoded. An empty encoded hash is checked
// against a dummy so that an unknown account costs the same time as a known one.
func (h *Hasher) Check(ctx context.Context, encoded, password string) (bool, error) {
	dummy := encoded == ""
	if dummy {
		encoded = h.dummy
	}
	var v int
	var m, t uint32
	var p uint8
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("check password: unknown hash format")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, errors.New("check password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("check password: parameters: %w", err)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err := errors.Join(err1, err2); err != nil {
		return false, fmt.Errorf("check password: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	<-h.slots
	return subtle.ConstantTimeCompare(got, want) == 1 && !dummy, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait to hash password: %w", ctx.Err())
	}
}

// Password policy.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// CheckPasswordPolicy returns the i18n code of the first rule password breaks, or "".
func CheckPasswordPolicy(password, email string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen:
		return "password_short"
	case len(password) > MaxPasswordLen:
		return "password_long"
	case strings.EqualFold(password, email) || (email != "" && strings.Contains(strings.ToLower(password), strings.ToLower(strings.Split(email, "@")[0])) && len(strings.Split(email, "@")[0]) >= 4):
		return "password_email"
	case commonPasswords[strings.ToLower(password)]:
		return "password_common"
	}
	return ""
}

// commonPasswords are refused outright; they are the first guesses of every attacker.
var commonPasswords = map[string]bool{
	"password123": true, "password1234": true, "1234567890": true, "12345678910": true, "qwertyuiop": true,
	"iloveyou12": true, "passw0rd123": true, "0123456789": true, "1111111111": true, "abcdefghij": true,
	"medbox1234": true, "medboxmedbox": true, "password!!": true, "qwerty12345": true, "letmein123": true,
}
