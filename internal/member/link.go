package member

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// newLink stores a single-use token for purpose and returns the token to mail.
func (s *Service) newLink(ctx context.Context, tx *sqldb.Tx, purpose string, id ID, now time.Time, ttl time.Duration) (string, error) {
	return s.newLinkData(ctx, tx, purpose, id, "", now, ttl)
}

func (s *Service) newLinkData(ctx context.Context, tx *sqldb.Tx, purpose string, id ID, data string, now time.Time, ttl time.Duration) (string, error) {
	token, hash := newToken()
	var member any
	if id != "" {
		member = id
	}
	// An older link of the same purpose stops working when a new one is sent.
	if id != "" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM member_tokens WHERE member_id = $1 AND purpose = $2`, id, purpose); err != nil {
			return "", fmt.Errorf("replace %s link: %w", purpose, err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO member_tokens (hash, purpose, member_id, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, hash, purpose, member, data, sqldb.Millis(now), sqldb.Millis(now.Add(ttl)))
	if err != nil {
		return "", fmt.Errorf("store %s link: %w", purpose, err)
	}
	return token, nil
}

// useLink consumes token for purpose and returns the member and data it was for.
// A used, expired or unknown token is ErrBadToken; using it deletes it, so a link
// works once.
func useLink(ctx context.Context, tx *sqldb.Tx, purpose, token string, now time.Time) (ID, string, error) {
	var member sql.NullString
	var data string
	var expires int64
	err := tx.QueryRowContext(ctx, `DELETE FROM member_tokens WHERE hash = $1 AND purpose = $2
		RETURNING COALESCE(member_id, ''), data, expires_at`, HashToken(token), purpose).Scan(&member, &data, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", ErrBadToken
	case err != nil:
		return "", "", fmt.Errorf("use %s link: %w", purpose, err)
	case expires <= sqldb.Millis(now):
		return "", "", ErrBadToken
	}
	return ID(member.String), data, nil
}

// PurgeExpired deletes expired links and invitations, and registrations whose
// confirmation never came (with their proof), so unconfirmed personal data does not
// linger. It is a periodic job.
func (s *Service) PurgeExpired(ctx context.Context, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM member_tokens WHERE expires_at <= $1`, sqldb.Millis(now)); err != nil {
		return fmt.Errorf("purge expired links: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM invitations WHERE expires_at <= $1 AND member_id IS NULL`, sqldb.Millis(now)); err != nil {
		return fmt.Errorf("purge expired invitations: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM members WHERE status = 'unconfirmed' AND created_at <= $1`,
		sqldb.Millis(now.Add(-UnconfirmedTTL)))
	if err != nil {
		return fmt.Errorf("find stale registrations: %w", err)
	}
	var stale []ID
	for rows.Next() {
		var id ID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		stale = append(stale, id)
	}
	rows.Close()
	for _, id := range stale {
		if err := s.erase(ctx, id, "system", "", "member.purge_unconfirmed"); err != nil {
			return err
		}
	}
	return nil
}
