package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// SignIn checks email and password and opens a session of kind. It returns the
// session token (for a cookie or a bearer header) and the member. It is SignInWith
// without a second factor: a web session of a member who has one is partial, and
// an API sign-in of such a member fails with ErrSecondFactorRequired.
func (s *Service) SignIn(ctx context.Context, email, password, addr, userAgent string, kind Kind) (string, *member.Member, error) {
	token, m, _, err := s.SignInWith(ctx, Attempt{Email: email, Password: password, Addr: addr, UserAgent: userAgent, Kind: kind})
	return token, m, err
}

// Attempt is one sign-in: the credentials, and what else the client brings.
type Attempt struct {
	Email, Password string
	Code            string // a TOTP or recovery code given with the password (the API's "otp")
	Device          string // the remembered-device cookie of a browser, if any
	Addr, UserAgent string
	Kind            Kind
}

// SignInWith checks the password of at and, for a member with a second factor,
// the code or remembered device that comes with it, and opens a session. It
// returns the session token, the member, and what the session still owes: for a
// web sign-in without a code, NeedSecondFactor (the session is partial until
// CompleteSecondFactor); for a member who must enrol a factor, NeedEnrolment. An
// API sign-in of a member with a factor gets no token without a valid code:
// ErrSecondFactorRequired without one, ErrBadCredentials with a wrong one.
//
// The password is checked before the lock is looked at, so a locked account, an
// unknown address and a wrong password cost the same time and get the same
// ErrBadCredentials. While an account is locked even the right password is refused.
// A wrong code counts towards the lock like a wrong password.
func (s *Service) SignInWith(ctx context.Context, at Attempt) (string, *member.Member, Need, error) {
	email, password, addr, userAgent, kind := at.Email, at.Password, at.Addr, at.UserAgent, at.Kind
	now := s.now()
	if wait, err := s.throttled(ctx, addr, now); err != nil {
		return "", nil, "", err
	} else if wait > 0 {
		s.recordSignIn(ctx, now, "", addr, audit.Denied, "throttled")
		return "", nil, "", &ThrottledError{RetryAfter: wait}
	}
	m, ok, err := s.members.Credentials(ctx, email, password)
	if errors.Is(err, member.ErrNotFound) {
		s.failAddr(ctx, addr, now)
		s.recordSignIn(ctx, now, "", addr, audit.Failed, "unknown_account")
		return "", nil, "", ErrBadCredentials
	}
	if err != nil {
		return "", nil, "", fmt.Errorf("sign in: %w", err)
	}
	var token string
	var need Need
	var result error
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		st, err := loginState(ctx, tx, m.ID)
		if err != nil {
			return err
		}
		switch {
		case st.lockedUntil.After(now):
			result = ErrBadCredentials
			return s.record(ctx, tx, now, m.ID, addr, audit.Denied, "locked")
		case !ok:
			result = ErrBadCredentials
			if _, err := s.countFailure(ctx, tx, m.ID, addr, now, &st); err != nil {
				return err
			}
			return s.record(ctx, tx, now, m.ID, addr, audit.Failed, "wrong_password")
		}
		// The right password, and not locked. Failures start again from zero — but
		// not while a second factor is still owed, or the password alone would wipe
		// out the wrong codes before it. The count of locks stays, so an attacker who
		// locks the account again meets a doubled lock even if the member signed in
		// between.
		has, err := hasFactor(ctx, tx, m.ID)
		if err != nil {
			return err
		}
		if st.failures > 0 && !has {
			st.failures = 0
			if err := saveLoginState(ctx, tx, m.ID, st); err != nil {
				return err
			}
		}
		switch {
		case m.Status == member.Suspended:
			result = ErrSuspended
			return s.record(ctx, tx, now, m.ID, addr, audit.Denied, "suspended")
		case m.MustChangePassword:
			result = ErrNewPassword
			return s.record(ctx, tx, now, m.ID, addr, audit.Denied, "new_password_required")
		}
		var method string
		need, method, err = s.secondStep(ctx, tx, m, at, now)
		switch {
		case errors.Is(err, errWrongCode):
			result = ErrBadCredentials
			if _, err := s.countFailure(ctx, tx, m.ID, addr, now, &st); err != nil {
				return err
			}
			if err := s.recordFactorUse(ctx, tx, now, m.ID, addr, audit.Failed, method); err != nil {
				return err
			}
			return s.record(ctx, tx, now, m.ID, addr, audit.Failed, "wrong_second_factor")
		case errors.Is(err, ErrSecondFactorRequired):
			result = err
			return s.record(ctx, tx, now, m.ID, addr, audit.Denied, "second_factor_required")
		case err != nil:
			return err
		}
		if method != "" {
			if st.failures > 0 {
				st.failures = 0
				if err := saveLoginState(ctx, tx, m.ID, st); err != nil {
					return err
				}
			}
			if err := s.recordFactorUse(ctx, tx, now, m.ID, addr, audit.OK, method); err != nil {
				return err
			}
		}
		if token, err = s.openSession(ctx, tx, m.ID, kind, addr, userAgent, now, need == NeedSecondFactor); err != nil {
			return err
		}
		reason := string(kind)
		if need != NeedNothing {
			reason += "_" + string(need) + "_owed"
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(m.ID), Action: "auth.signin", Target: string(m.ID), Addr: addr,
			Detail: map[string]string{"reason": reason, "device": DeviceID(userAgent)}})
	})
	if err != nil {
		return "", nil, "", fmt.Errorf("sign in: %w", err)
	}
	if result != nil {
		if errors.Is(result, ErrBadCredentials) {
			s.failAddr(ctx, addr, now)
		}
		if errors.Is(result, ErrNewPassword) {
			if err := s.members.RequestReset(ctx, string(m.Email), addr); err != nil {
				return "", nil, "", fmt.Errorf("sign in: mail reset link: %w", err)
			}
		}
		return "", nil, "", result
	}
	return token, m, need, nil
}

// countFailure counts one failed attempt at id's account — a wrong password or a
// wrong second factor — and locks it after LockAfter in a row. It reports whether
// this attempt locked the account.
func (s *Service) countFailure(ctx context.Context, tx *sqldb.Tx, id member.ID, addr string, now time.Time, st *state) (bool, error) {
	locked := false
	st.failures++
	if st.failures >= s.policy.LockAfter {
		if st.lockedUntil.Before(now.Add(-lockMemory)) {
			st.locks = 0 // a day without locks: start again from the base duration
		}
		st.locks++
		st.failures = 0
		st.lockedUntil = now.Add(lockDuration(s.policy.LockFor, st.locks))
		locked = true
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: "system", Action: "auth.lock", Target: string(id), Addr: addr,
			Detail: map[string]string{"until": st.lockedUntil.Format(time.RFC3339), "lock": fmt.Sprint(st.locks)}}); err != nil {
			return false, err
		}
		if err := s.members.MailLockedTx(ctx, tx, id, st.lockedUntil); err != nil {
			return false, err
		}
	}
	return locked, saveLoginState(ctx, tx, id, *st)
}

// DeviceID names the kind of device a sign-in came from — a short hash of its
// User-Agent — so new-device sign-ins can be noticed without keeping the
// User-Agent itself in the audit log.
func DeviceID(userAgent string) string {
	sum := sha256.Sum256([]byte("medbox-device\x00" + userAgent))
	return hex.EncodeToString(sum[:6])
}

// lockMemory is how long past locks count towards doubling the next one.
const lockMemory = 24 * time.Hour

// lockDuration is base for the first lock and doubles with each further lock, up
// to a day.
func lockDuration(base time.Duration, locks int) time.Duration {
	d := float64(base) * math.Pow(2, float64(locks-1))
	return time.Duration(min(d, float64(24*time.Hour)))
}

func (s *Service) record(ctx context.Context, tx *sqldb.Tx, now time.Time, id member.ID, addr, result, reason string) error {
	return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(id), Action: "auth.signin", Target: string(id), Addr: addr,
		Result: result, Detail: map[string]string{"reason": reason}})
}

// recordSignIn records a sign-in attempt that has no account behind it.
func (s *Service) recordSignIn(ctx context.Context, now time.Time, id member.ID, addr, result, reason string) {
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error { return s.record(ctx, tx, now, id, addr, result, reason) })
	if err != nil {
		s.log.ErrorContext(ctx, "record sign-in attempt", "err", err)
	}
}

type state struct {
	failures    int
	locks       int
	lockedUntil time.Time
}

func loginState(ctx context.Context, tx *sqldb.Tx, id member.ID) (state, error) {
	var st state
	var until int64
	q := `SELECT failures, locks, locked_until FROM login_state WHERE member_id = $1`
	if tx.Dialect() == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	err := tx.QueryRowContext(ctx, q, id).Scan(&st.failures, &st.locks, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return state{}, nil
	}
	if err != nil {
		return st, fmt.Errorf("read login state: %w", err)
	}
	st.lockedUntil = sqldb.FromMillis(until)
	return st, nil
}

func saveLoginState(ctx context.Context, tx *sqldb.Tx, id member.ID, st state) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO login_state (member_id, failures, locks, locked_until) VALUES ($1, $2, $3, $4)
		ON CONFLICT (member_id) DO UPDATE SET failures = excluded.failures, locks = excluded.locks, locked_until = excluded.locked_until`,
		id, st.failures, st.locks, sqldb.Millis(st.lockedUntil))
	if err != nil {
		return fmt.Errorf("save login state: %w", err)
	}
	return nil
}

func clearLoginState(ctx context.Context, tx *sqldb.Tx, id member.ID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_state WHERE member_id = $1`, id); err != nil {
		return fmt.Errorf("clear login state: %w", err)
	}
	return nil
}

// Locked reports until when id is locked (zero when not locked), for administrators.
func (s *Service) Locked(ctx context.Context, id member.ID) (time.Time, error) {
	var until int64
	err := s.db.QueryRowContext(ctx, `SELECT locked_until FROM login_state WHERE member_id = $1`, id).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read lock of %s: %w", id, err)
	}
	if t := sqldb.FromMillis(until); t.After(s.now()) {
		return t, nil
	}
	return time.Time{}, nil
}

// Unlock lifts a lock at an administrator's request.
func (s *Service) Unlock(ctx context.Context, admin *member.Member, id member.ID, addr string) error {
	if !admin.IsAdmin() {
		return member.ErrNotFound
	}
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := s.members.GetTx(ctx, tx, id); err != nil {
			return err
		}
		if err := clearLoginState(ctx, tx, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(admin.ID), Action: "auth.unlock", Target: string(id), Addr: addr})
	})
}
