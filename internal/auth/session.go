package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// touchEvery limits how often a session's last-seen time is written, so that a
// burst of requests (the chunks of an upload) does not write on every one.
const touchEvery = time.Minute

// partialLifetime is how long a session that owes its second factor may take to
// give it.
const partialLifetime = 10 * time.Minute

// openSession opens a session of id. A partial one (owing its second factor)
// lives briefly; a full one counts as a fresh authentication (reauth_at).
func (s *Service) openSession(ctx context.Context, tx *sqldb.Tx, id member.ID, kind Kind, addr, userAgent string, now time.Time, partial bool) (string, error) {
	token := newSessionToken()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	expires, pending, reauth := now.Add(s.policy.AbsoluteTimeout), "", sqldb.Millis(now)
	if partial {
		expires, pending, reauth = now.Add(partialLifetime), string(NeedSecondFactor), 0
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, member_id, kind, created_at, last_seen_at, expires_at, addr, user_agent, pending, reauth_at)
		VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9)`,
		member.HashToken(token), id, kind, sqldb.Millis(now), sqldb.Millis(expires), addr, userAgent, pending, reauth)
	if err != nil {
		return "", fmt.Errorf("open session: %w", err)
	}
	return token, nil
}

// Authenticate returns the actor behind a session token of kind. A session ends
// after IdleTimeout without requests or AbsoluteTimeout after sign-in, whichever
// comes first; an ended session is deleted and yields ErrNoSession. The member is
// read afresh on every call. A session that owes a second factor, or whose member
// must first enrol one, yields a *PartialError carrying the actor, never the
// actor alone.
func (s *Service) Authenticate(ctx context.Context, token string, kind Kind, addr string) (*Actor, error) {
	if token == "" {
		return nil, ErrNoSession
	}
	return s.authenticate(ctx, member.HashToken(token), kind, addr)
}

// authenticate is Authenticate for the session whose token hashes to hash; an
// empty kind accepts a session of either kind (an upload grant's).
func (s *Service) authenticate(ctx context.Context, hash string, kind Kind, addr string) (*Actor, error) {
	now := s.now()
	var ses Session
	var created, seen, expires int64
	var pending Need
	err := s.db.QueryRowContext(ctx, `SELECT member_id, kind, created_at, last_seen_at, expires_at, addr, user_agent, pending
		FROM sessions WHERE id_hash = $1 AND ($2 = '' OR kind = $2)`, hash, kind).
		Scan(&ses.Member, &ses.Kind, &created, &seen, &expires, &ses.Addr, &ses.UserAgent, &pending)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	ses.Hash = hash
	ses.CreatedAt, ses.LastSeen, ses.ExpiresAt = sqldb.FromMillis(created), sqldb.FromMillis(seen), sqldb.FromMillis(expires)
	if !now.Before(ses.ExpiresAt) || !now.Before(ses.LastSeen.Add(s.policy.IdleTimeout)) {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hash); err != nil {
			return nil, fmt.Errorf("end expired session: %w", err)
		}
		return nil, ErrNoSession
	}
	m, err := s.members.Get(ctx, ses.Member)
	if errors.Is(err, member.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	if m.Status == member.Suspended || m.MustChangePassword {
		return nil, ErrNoSession
	}
	if now.Sub(ses.LastSeen) >= touchEvery {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2`, sqldb.Millis(now), hash); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
		ses.LastSeen = now
	}
	actor := &Actor{Member: m, Session: &ses, Addr: addr}
	if pending != NeedNothing {
		return nil, &PartialError{Actor: actor, Need: pending}
	}
	if s.FactorRequired(m) {
		has, err := hasFactor(ctx, s.db, m.ID)
		if err != nil {
			return nil, err
		}
		if !has {
			return nil, &PartialError{Actor: actor, Need: NeedEnrolment}
		}
	}
	return actor, nil
}

// SignOut ends the session behind token.
func (s *Service) SignOut(ctx context.Context, a *Actor) error {
	if a == nil || a.Session == nil {
		return nil
	}
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, a.Session.Hash); err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(a.ID()), Action: "auth.signout", Target: string(a.ID()), Addr: a.Addr})
	})
}

// SignOutEverywhere ends every session and API token of target at once — for a lost
// device (R-X4) — forgets every remembered device, and demands a new password,
// which only a reset link mailed to the member can set. actor is the member
// themself or an administrator.
func (s *Service) SignOutEverywhere(ctx context.Context, actor *Actor, target member.ID) error {
	if actor.ID() != target && !actor.Member.IsAdmin() {
		return member.ErrNotFound
	}
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := s.members.GetTx(ctx, tx, target); err != nil {
			return err
		}
		return s.signOutEverywhereTx(ctx, tx, actor, target, now)
	})
}

func (s *Service) signOutEverywhereTx(ctx context.Context, tx *sqldb.Tx, actor *Actor, target member.ID, now time.Time) error {
	if err := endSessions(ctx, tx, target, ""); err != nil {
		return err
	}
	if err := forgetDevices(ctx, tx, target); err != nil {
		return err
	}
	if err := s.members.RequirePasswordChangeTx(ctx, tx, target); err != nil {
		return err
	}
	return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(actor.ID()), Action: "auth.signout_everywhere", Target: string(target), Addr: actor.Addr})
}

// endSessions deletes every session of id except keep (a token hash, or "").
func endSessions(ctx context.Context, tx *sqldb.Tx, id member.ID, keep string) error {
	// Upload grants go too, also those of the session kept (it must set a new
	// password before anything else).
	if _, err := tx.ExecContext(ctx, `DELETE FROM upload_grants WHERE member_id = $1`, id); err != nil {
		return fmt.Errorf("sign out everywhere: end upload grants: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE member_id = $1 AND id_hash <> $2`, id, keep); err != nil {
		return fmt.Errorf("end sessions of %s: %w", id, err)
	}
	return nil
}

// Sessions lists the live sessions of id, newest first, for the settings page.
func (s *Service) Sessions(ctx context.Context, id member.ID) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id_hash, kind, created_at, last_seen_at, expires_at, addr, user_agent
		FROM sessions WHERE member_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC`, id, sqldb.Millis(s.now()))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var ses Session
		var c, l, e int64
		if err := rows.Scan(&ses.Hash, &ses.Kind, &c, &l, &e, &ses.Addr, &ses.UserAgent); err != nil {
			return nil, err
		}
		ses.Member, ses.CreatedAt, ses.LastSeen, ses.ExpiresAt = id, sqldb.FromMillis(c), sqldb.FromMillis(l), sqldb.FromMillis(e)
		out = append(out, ses)
	}
	return out, rows.Err()
}

// PurgeSessions deletes sessions past their absolute or idle end; a periodic job.
func (s *Service) PurgeSessions(ctx context.Context, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`,
		sqldb.Millis(now), sqldb.Millis(now.Add(-s.policy.IdleTimeout)))
	if err != nil {
		return fmt.Errorf("purge sessions: %w", err)
	}
	return nil
}

// EndSession ends one of a's own sessions — a device the member no longer uses,
// seen in their list of sessions — and its upload grants with it. Another
// member's session, or one that is gone, is ErrNoSession.
func (s *Service) EndSession(ctx context.Context, a *Actor, hash string) error {
	now := s.now()
	var ended bool
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1 AND member_id = $2`, hash, a.ID())
		if err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ended = true
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(a.ID()), Action: "auth.end_session", Target: string(a.ID()), Addr: a.Addr})
	})
	if err == nil && !ended {
		return ErrNoSession
	}
	return err
}
