package auth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// TOTP (RFC 6238) as authenticator apps expect it: SHA-1, six digits, 30-second
// steps, a 160-bit secret. A code is accepted for the current step and one step
// either side (clock skew), and each step once only.
const (
	totpPeriod = 30
	totpSkew   = 1
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// totpAAD binds a sealed TOTP secret to its member.
func totpAAD(id member.ID) []byte { return []byte("medbox/mfa_totp/v1\x00" + string(id)) }

// TOTPEnrolment is a TOTP secret waiting for its first code: the member scans the
// QR code (a PNG) or types the secret into an authenticator app.
type TOTPEnrolment struct {
	Secret string // base32, grouped in fours for typing
	URL    string // otpauth://totp/…
	QR     []byte // PNG of URL
}

// BeginTOTP makes a new TOTP secret for a's member, sealed and stored as pending;
// an earlier pending one is replaced. A confirmed authenticator stays in use
// until ConfirmTOTP replaces it.
func (s *Service) BeginTOTP(ctx context.Context, a *Actor) (*TOTPEnrolment, error) {
	mfa, err := s.factors()
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: mfa.issuer, AccountName: string(a.Member.Email), Period: totpPeriod, SecretSize: 20})
	if err != nil {
		return nil, fmt.Errorf("make totp secret: %w", err)
	}
	raw, err := b32.DecodeString(key.Secret())
	if err != nil {
		return nil, fmt.Errorf("make totp secret: %w", err)
	}
	now := s.now()
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := deleteTOTPState(ctx, tx, a.ID(), "pending"); err != nil {
			return err
		}
		keyID, dk, err := mfa.master.NewKey(ctx, tx, now)
		if err != nil {
			return err
		}
		sealed, err := dk.SealBytes(totpAAD(a.ID()), raw)
		if err != nil {
			return err
		}
		// An active authenticator stays in use beside the pending one until the
		// new one is confirmed, so a member can move to a new phone without a gap.
		_, err = tx.ExecContext(ctx, `INSERT INTO mfa_totp (member_id, state, key_id, secret, created_at) VALUES ($1, 'pending', $2, $3, $4)`,
			a.ID(), string(keyID), sealed, sqldb.Millis(now))
		if err != nil {
			return fmt.Errorf("store pending totp: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("begin totp enrolment: %w", err)
	}
	return s.PendingTOTP(ctx, a)
}

// PendingTOTP returns the enrolment waiting for its first code, to show the QR
// code again; ErrNoEnrolment if there is none.
func (s *Service) PendingTOTP(ctx context.Context, a *Actor) (*TOTPEnrolment, error) {
	mfa, err := s.factors()
	if err != nil {
		return nil, err
	}
	raw, err := s.totpSecret(ctx, s.db, a.ID(), false)
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: mfa.issuer, AccountName: string(a.Member.Email), Period: totpPeriod, Secret: raw})
	if err != nil {
		return nil, fmt.Errorf("totp key: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, fmt.Errorf("totp qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp qr code: %w", err)
	}
	return &TOTPEnrolment{Secret: groupSecret(key.Secret()), URL: key.URL(), QR: buf.Bytes()}, nil
}

func groupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// totpSecret unseals the TOTP secret of id: the confirmed one, or the pending one.
func (s *Service) totpSecret(ctx context.Context, q sqldb.Querier, id member.ID, active bool) ([]byte, error) {
	state := "pending"
	if active {
		state = "active"
	}
	var keyID string
	var sealed []byte
	err := q.QueryRowContext(ctx, `SELECT key_id, secret FROM mfa_totp WHERE member_id = $1 AND state = $2`, id, state).Scan(&keyID, &sealed)
	if isNoRows(err) {
		return nil, ErrNoEnrolment
	}
	if err != nil {
		return nil, fmt.Errorf("read totp of %s: %w", id, err)
	}
	dk, err := s.mfa.master.Key(ctx, q, seal.KeyID(keyID))
	if err != nil {
		return nil, err
	}
	raw, err := dk.OpenBytes(totpAAD(id), sealed)
	if err != nil {
		return nil, fmt.Errorf("open totp secret of %s: %w", id, err)
	}
	return raw, nil
}

// ConfirmTOTP activates the pending TOTP secret of a's member with a code from
// the app. If it is the member's first second factor, it returns the ten
// recovery codes, to be shown once. A wrong code gives ErrBadCode (an enrolment
// is not an attack on the account, so it does not count towards the lock).
func (s *Service) ConfirmTOTP(ctx context.Context, a *Actor, code string) (recovery []string, err error) {
	if _, err := s.factors(); err != nil {
		return nil, err
	}
	now := s.now()
	var result error
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		raw, err := s.totpSecret(ctx, tx, a.ID(), false)
		if err != nil {
			return err
		}
		step, ok := matchTOTP(raw, normalizeCode(code), now, 0)
		if !ok {
			result = ErrBadCode
			return nil
		}
		had, err := hasFactor(ctx, tx, a.ID())
		if err != nil {
			return err
		}
		if err := deleteTOTPState(ctx, tx, a.ID(), "active"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mfa_totp SET state = 'active', confirmed_at = $1, last_step = $2 WHERE member_id = $3 AND state = 'pending'`,
			sqldb.Millis(now), step, a.ID()); err != nil {
			return fmt.Errorf("confirm totp: %w", err)
		}
		if !had {
			if recovery, err = newRecoveryCodes(ctx, tx, a.ID(), now); err != nil {
				return err
			}
		}
		if err := s.recordFactorChange(ctx, tx, now, a.ID(), a.ID(), a.Addr, "auth.factor.add", "totp"); err != nil {
			return err
		}
		return s.mailFactor(ctx, tx, a.Member, mailTOTPAdded)
	})
	if err != nil {
		return nil, fmt.Errorf("confirm totp: %w", err)
	}
	return recovery, result
}

// RemoveTOTP removes a's authenticator app. While a factor is required, the last
// one cannot go (ErrLastFactor).
func (s *Service) RemoveTOTP(ctx context.Context, a *Actor) error {
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		n, err := countTOTP(ctx, tx, a.ID())
		if err != nil || n == 0 {
			return err
		}
		if err := s.mayRemove(ctx, tx, a.Member, 1, 0); err != nil {
			return err
		}
		if err := deleteTOTP(ctx, tx, a.ID()); err != nil {
			return err
		}
		if err := afterRemoval(ctx, tx, a.ID()); err != nil {
			return err
		}
		if err := s.recordFactorChange(ctx, tx, now, a.ID(), a.ID(), a.Addr, "auth.factor.remove", "totp"); err != nil {
			return err
		}
		return s.mailFactor(ctx, tx, a.Member, mailTOTPRemoved)
	})
}

func countTOTP(ctx context.Context, tx *sqldb.Tx, id member.ID) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mfa_totp WHERE member_id = $1 AND state = 'active'`, id).Scan(&n)
	return n, err
}

// deleteTOTP deletes every TOTP row of id, pending or confirmed, with its key.
func deleteTOTP(ctx context.Context, tx *sqldb.Tx, id member.ID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM seal_keys WHERE id IN (SELECT key_id FROM mfa_totp WHERE member_id = $1)`, id); err != nil {
		return fmt.Errorf("destroy totp key of %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_totp WHERE member_id = $1`, id); err != nil {
		return fmt.Errorf("delete totp of %s: %w", id, err)
	}
	return nil
}

// deleteTOTPState deletes the TOTP row of id in state, if any, with its key.
func deleteTOTPState(ctx context.Context, tx *sqldb.Tx, id member.ID, state string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM seal_keys WHERE id IN
		(SELECT key_id FROM mfa_totp WHERE member_id = $1 AND state = $2)`, id, state); err != nil {
		return fmt.Errorf("destroy %s totp key of %s: %w", state, id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_totp WHERE member_id = $1 AND state = $2`, id, state); err != nil {
		return fmt.Errorf("delete %s totp of %s: %w", state, id, err)
	}
	return nil
}

// checkTOTP accepts code if it matches a step within the skew that is later than
// the last one accepted, and remembers that step, so no code works twice.
func (s *Service) checkTOTP(ctx context.Context, tx *sqldb.Tx, id member.ID, code string, now time.Time) (bool, error) {
	if _, err := s.factors(); err != nil {
		return false, err
	}
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT last_step FROM mfa_totp WHERE member_id = $1 AND state = 'active'`, id).Scan(&last)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read totp of %s: %w", id, err)
	}
	raw, err := s.totpSecret(ctx, tx, id, true)
	if err != nil {
		return false, err
	}
	step, ok := matchTOTP(raw, code, now, last)
	if !ok {
		return false, nil
	}
	// The condition makes the step single-use even against a concurrent sign-in.
	res, err := tx.ExecContext(ctx, `UPDATE mfa_totp SET last_step = $1 WHERE member_id = $2 AND state = 'active' AND last_step < $1`, step, id)
	if err != nil {
		return false, fmt.Errorf("use totp step: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// matchTOTP returns the time step within ±totpSkew of now, and after last, whose
// code is code.
func matchTOTP(secret []byte, code string, now time.Time, last int64) (int64, bool) {
	if !isTOTPCode(code) {
		return 0, false
	}
	enc := b32.EncodeToString(secret)
	cur := now.Unix() / totpPeriod
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		if step <= last {
			continue
		}
		want, err := hotp.GenerateCodeCustom(enc, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// TOTPCode returns the code of secret (base32, as shown at enrolment) at t — what
// an authenticator app shows; for tests and the command line.
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(strings.ReplaceAll(secret, " ", ""), t, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// normalizeCode drops the spaces and hyphens people type into codes.
func normalizeCode(code string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t', '\u3000':
			return -1
		}
		// Full-width digits and letters from a Japanese keyboard.
		if r >= '０' && r <= '９' {
			return r - '０' + '0'
		}
		if r >= 'Ａ' && r <= 'Ｚ' {
			return r - 'Ａ' + 'A'
		}
		if r >= 'ａ' && r <= 'ｚ' {
			return r - 'ａ' + 'a'
		}
		return r
	}, strings.TrimSpace(code)))
}

func isTOTPCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
