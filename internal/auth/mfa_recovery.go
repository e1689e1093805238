package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Recovery codes stand in for a lost phone or passkey: ten per member, each of 80
// random bits (16 base32 letters, shown as four groups), each usable once. Only a
// SHA-256 hash, salted with the member id, is stored: the codes are random enough
// that a slow password hash would add nothing.
const recoveryCount = 10

// recoveryHash is the stored form of a normalized recovery code of id.
func recoveryHash(id member.ID, code string) string {
	sum := sha256.Sum256([]byte("medbox/recovery/v1\x00" + string(id) + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

// newRecoveryCodes replaces every recovery code of id with ten new ones and returns
// them, formatted for display.
func newRecoveryCodes(ctx context.Context, tx *sqldb.Tx, id member.ID, now time.Time) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_recovery WHERE member_id = $1`, id); err != nil {
		return nil, fmt.Errorf("drop recovery codes of %s: %w", id, err)
	}
	codes := make([]string, 0, recoveryCount)
	for range recoveryCount {
		var b [10]byte
		rand.Read(b[:])
		code := strings.ToLower(b32.EncodeToString(b[:]))
		if _, err := tx.ExecContext(ctx, `INSERT INTO mfa_recovery (member_id, code_hash, created_at) VALUES ($1, $2, $3)`,
			id, recoveryHash(id, code), sqldb.Millis(now)); err != nil {
			return nil, fmt.Errorf("store recovery code: %w", err)
		}
		codes = append(codes, code[0:4]+"-"+code[4:8]+"-"+code[8:12]+"-"+code[12:16])
	}
	return codes, nil
}

// useRecoveryCode spends a recovery code of id, if it is one and unused.
func useRecoveryCode(ctx context.Context, tx *sqldb.Tx, id member.ID, code string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE mfa_recovery SET used_at = $1 WHERE member_id = $2 AND code_hash = $3 AND used_at = 0`,
		sqldb.Millis(now), id, recoveryHash(id, code))
	if err != nil {
		return false, fmt.Errorf("use recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// isRecoveryCode reports whether a normalized code has the shape of a recovery code.
func isRecoveryCode(code string) bool {
	if len(code) != 16 {
		return false
	}
	for _, c := range code {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// NewRecoveryCodes replaces a's recovery codes with ten new ones, to be shown once.
// Only a member with a second factor has recovery codes.
func (s *Service) NewRecoveryCodes(ctx context.Context, a *Actor) ([]string, error) {
	now := s.now()
	var codes []string
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		has, err := hasFactor(ctx, tx, a.ID())
		if err != nil {
			return err
		}
		if !has {
			return ErrNoEnrolment
		}
		if codes, err = newRecoveryCodes(ctx, tx, a.ID(), now); err != nil {
			return err
		}
		if err := s.recordFactorChange(ctx, tx, now, a.ID(), a.ID(), a.Addr, "auth.factor.add", "recovery_codes"); err != nil {
			return err
		}
		return s.mailFactor(ctx, tx, a.Member, mailRecoveryRenewed)
	})
	if err != nil {
		return nil, fmt.Errorf("new recovery codes: %w", err)
	}
	return codes, nil
}

// mayRemove refuses, with ErrLastFactor, a removal of totp authenticators and
// passkeys that would leave m without any second factor while one is required.
func (s *Service) mayRemove(ctx context.Context, tx *sqldb.Tx, m *member.Member, totp, passkeys int) error {
	if !s.FactorRequired(m) {
		return nil
	}
	var nt, np int
	err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM mfa_totp WHERE member_id = $1 AND state = 'active'),
		(SELECT count(*) FROM passkeys WHERE member_id = $1)`, m.ID).Scan(&nt, &np)
	if err != nil {
		return fmt.Errorf("count second factors of %s: %w", m.ID, err)
	}
	if nt-totp+np-passkeys <= 0 {
		return ErrLastFactor
	}
	return nil
}

// afterRemoval drops the recovery codes and remembered devices of a member whose
// last second factor has just gone: without a factor they protect nothing.
func afterRemoval(ctx context.Context, tx *sqldb.Tx, id member.ID) error {
	has, err := hasFactor(ctx, tx, id)
	if err != nil || has {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_recovery WHERE member_id = $1`, id); err != nil {
		return fmt.Errorf("drop recovery codes of %s: %w", id, err)
	}
	return forgetDevices(ctx, tx, id)
}
