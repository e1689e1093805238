package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// An upload grant lets the page send the chunks of one upload to the upload hosts
// (MEDBOX_UPLOAD_ORIGINS) — other host names, which the session cookie cannot
// reach (it is host-only, __Host-). The page gets one when it creates or resumes
// the upload on its own origin and sends it in the GrantHeader of each chunk PUT.
// A grant stands for its member, its one upload and its session; it is stored
// hashed and ends with any of them (the database's foreign keys), at
// GrantLifetime, or when the member signs out everywhere.

// GrantHeader is the request header that carries an upload grant.
const GrantHeader = "Medbox-Upload-Grant"

// GrantLifetime is how long a grant lasts; the page asks for a new one when a
// host answers that it has ended.
const GrantLifetime = 2 * time.Hour

// ErrNoGrant means a grant is missing, unknown, ended, or for another upload.
var ErrNoGrant = errors.New("no valid upload grant")

// GrantUpload returns a new grant for the chunks of upload, bound to the actor's
// member and session, and when it ends.
func (s *Service) GrantUpload(ctx context.Context, a *Actor, upload string) (string, time.Time, error) {
	if a == nil || a.Session == nil || a.Member == nil {
		return "", time.Time{}, ErrNoGrant
	}
	now := s.now()
	expires := now.Add(GrantLifetime)
	if expires.After(a.Session.ExpiresAt) {
		expires = a.Session.ExpiresAt
	}
	token := newSessionToken()
	_, err := s.db.ExecContext(ctx, `INSERT INTO upload_grants (hash, upload_id, member_id, session_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, member.HashToken(token), upload, a.Member.ID, a.Session.Hash, sqldb.Millis(now), sqldb.Millis(expires))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("grant upload %s: %w", upload, err)
	}
	return token, expires, nil
}

// AuthenticateGrant returns the actor a grant stands for, if it is valid now and
// was given for upload; else ErrNoGrant. The session behind it is checked (and
// kept alive) as Authenticate checks a session, and the member is read afresh.
func (s *Service) AuthenticateGrant(ctx context.Context, token, upload, addr string) (*Actor, error) {
	if token == "" || upload == "" {
		return nil, ErrNoGrant
	}
	var session string
	var expires int64
	err := s.db.QueryRowContext(ctx, `SELECT session_id, expires_at FROM upload_grants WHERE hash = $1 AND upload_id = $2`,
		member.HashToken(token), upload).Scan(&session, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNoGrant
	case err != nil:
		return nil, fmt.Errorf("authenticate upload grant: %w", err)
	case !s.now().Before(sqldb.FromMillis(expires)):
		return nil, ErrNoGrant
	}
	a, err := s.authenticate(ctx, session, "", addr)
	var partial *PartialError
	if errors.Is(err, ErrNoSession) || errors.As(err, &partial) {
		return nil, ErrNoGrant
	}
	return a, err
}

// PurgeGrants deletes grants past their end; a periodic job.
func (s *Service) PurgeGrants(ctx context.Context, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM upload_grants WHERE expires_at <= $1`, sqldb.Millis(now)); err != nil {
		return fmt.Errorf("purge upload grants: %w", err)
	}
	return nil
}
