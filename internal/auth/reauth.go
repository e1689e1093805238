package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Re-authentication (R-X8): a sensitive change — password, e-mail, second
// factors, and the administrators' approve, reject, suspend, unlock and sign out
// everywhere — needs the password (and the second factor, if the member has one)
// given within ReauthWindow on this session. Signing in counts; the web asks again
// at /reauth, and an API client simply signs in again for a fresh token.

// ReauthWindow is how recent an authentication a sensitive change needs.
const ReauthWindow = 10 * time.Minute

// ErrReauthRequired means a sensitive change came without a recent authentication.
var ErrReauthRequired = errors.New("a recent authentication is required")

// Recent reports whether a's session authenticated within ReauthWindow.
func (s *Service) Recent(ctx context.Context, a *Actor) (bool, error) {
	if a == nil || a.Session == nil {
		return false, nil
	}
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT reauth_at FROM sessions WHERE id_hash = $1`, a.Session.Hash).Scan(&at)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read reauthentication time: %w", err)
	}
	return at > 0 && s.now().Before(sqldb.FromMillis(at).Add(ReauthWindow)), nil
}

// ReauthNeedsFactor reports whether re-authenticating a asks for a second factor
// besides the password: when the member has one and device is not one of their
// remembered devices.
func (s *Service) ReauthNeedsFactor(ctx context.Context, a *Actor, device string) (bool, error) {
	has, err := hasFactor(ctx, s.db, a.ID())
	if err != nil || !has {
		return false, err
	}
	remembered, err := s.DeviceRemembered(ctx, a, device)
	return !remembered, err
}

// Reauthenticate checks a's password and, when ReauthNeedsFactor, the proof p,
// and on success marks the session as freshly authenticated. A wrong password
// gives member.ErrBadPassword and a wrong proof ErrBadCode; both count towards the
// account lock, and while the account is locked it gives ErrTooManyAttempts.
func (s *Service) Reauthenticate(ctx context.Context, a *Actor, password string, p Proof, device string) error {
	pwErr := s.members.CheckPassword(ctx, a.ID(), password)
	if pwErr != nil && !errors.Is(pwErr, member.ErrBadPassword) {
		return pwErr
	}
	needFactor, err := s.ReauthNeedsFactor(ctx, a, device)
	if err != nil {
		return err
	}
	now := s.now()
	var result error
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		st, err := loginState(ctx, tx, a.ID())
		if err != nil {
			return err
		}
		if st.lockedUntil.After(now) {
			result = ErrTooManyAttempts
			return s.recordReauth(ctx, tx, a, now, audit.Denied, "locked")
		}
		reason, method := "", ""
		if pwErr != nil {
			result, reason = member.ErrBadPassword, "wrong_password"
		} else if needFactor {
			var ok bool
			if method, ok, err = s.checkProof(ctx, tx, a.ID(), a.Session.Hash, p, now); err != nil {
				return err
			}
			if !ok {
				result, reason = ErrBadCode, "wrong_second_factor"
			}
		}
		if result != nil {
			locked, err := s.countFailure(ctx, tx, a.ID(), a.Addr, now, &st)
			if err != nil {
				return err
			}
			if locked {
				result = ErrTooManyAttempts
			}
			return s.recordReauth(ctx, tx, a, now, audit.Failed, reason)
		}
		if st.failures > 0 {
			st.failures = 0
			if err := saveLoginState(ctx, tx, a.ID(), st); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET reauth_at = $1 WHERE id_hash = $2`, sqldb.Millis(now), a.Session.Hash); err != nil {
			return fmt.Errorf("mark reauthentication: %w", err)
		}
		if !needFactor {
			method = "password"
		}
		return s.recordReauth(ctx, tx, a, now, audit.OK, method)
	})
	if err != nil {
		return fmt.Errorf("reauthenticate: %w", err)
	}
	return result
}

func (s *Service) recordReauth(ctx context.Context, tx *sqldb.Tx, a *Actor, now time.Time, result, reason string) error {
	d := map[string]string{}
	if reason != "" {
		d["reason"] = reason
	}
	return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(a.ID()), Action: "auth.reauth", Target: string(a.ID()), Addr: a.Addr,
		Result: result, Detail: d})
}
