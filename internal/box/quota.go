package box

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// ReserveTx reserves size bytes for one more file in box id, sent by who, in the
// caller's transaction: the box's file and byte limits (per send) and the member's
// quota are checked and moved in one step each, with the row locked, so that
// concurrent uploads can never pass a limit together.
func (s *Service) ReserveTx(ctx context.Context, tx *sqldb.Tx, who member.ID, id ID, size int64) error {
	if size > s.limits.MaxSendBytes {
		return ErrTooLarge
	}
	if size > s.limits.QuotaBytes {
		return ErrQuota
	}
	var count int
	var bytes int64
	err := tx.QueryRowContext(ctx, `UPDATE boxes SET file_count = file_count + 1, bytes = bytes + $1
		WHERE id = $2 RETURNING file_count, bytes`, size, id).Scan(&count, &bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("reserve in box %s: %w", id, err)
	}
	switch {
	case count > s.limits.MaxFiles:
		return ErrTooManyFiles
	case bytes > s.limits.MaxSendBytes:
		return ErrTooLarge
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO usage (member_id, bytes) VALUES ($1, 0) ON CONFLICT (member_id) DO NOTHING`, who); err != nil {
		return fmt.Errorf("reserve quota: %w", err)
	}
	var used int64
	if err := tx.QueryRowContext(ctx, `UPDATE usage SET bytes = bytes + $1 WHERE member_id = $2 RETURNING bytes`, size, who).Scan(&used); err != nil {
		return fmt.Errorf("reserve quota: %w", err)
	}
	if used > s.limits.QuotaBytes {
		return ErrQuota
	}
	return nil
}

// ReleaseTx gives back what ReserveTx took, when an upload is aborted or refused or
// a file is deleted. The box may be gone already (expiry); the quota still returns.
func (s *Service) ReleaseTx(ctx context.Context, tx *sqldb.Tx, who member.ID, id ID, size int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE boxes SET file_count = file_count - 1, bytes = bytes - $1 WHERE id = $2`, size, id); err != nil {
		return fmt.Errorf("release in box %s: %w", id, err)
	}
	return releaseQuota(ctx, tx, who, size)
}

func releaseQuota(ctx context.Context, tx *sqldb.Tx, who member.ID, size int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE usage SET bytes = bytes - $1 WHERE member_id = $2`, size, who); err != nil {
		return fmt.Errorf("release quota of %s: %w", who, err)
	}
	return nil
}

// Usage returns the bytes who has sent that are live or reserved.
func (s *Service) Usage(ctx context.Context, who member.ID) (int64, error) {
	var used int64
	err := s.db.QueryRowContext(ctx, `SELECT bytes FROM usage WHERE member_id = $1`, who).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read usage of %s: %w", who, err)
	}
	return used, nil
}

// Recount returns every member's usage as stored and as recomputed from the
// files that exist plus what the registered reservation counters report (uploads
// in progress); the two must agree.
func (s *Service) Recount(ctx context.Context) (stored, counted map[member.ID]int64, err error) {
	stored, counted = map[member.ID]int64{}, map[member.ID]int64{}
	if err := sumRows(ctx, s.db, `SELECT member_id, bytes FROM usage`, stored); err != nil {
		return nil, nil, err
	}
	if err := sumRows(ctx, s.db, `SELECT sender_id, sum(size) FROM files GROUP BY sender_id`, counted); err != nil {
		return nil, nil, err
	}
	for _, fn := range s.reserved {
		extra, err := fn(ctx)
		if err != nil {
			return nil, nil, err
		}
		for id, n := range extra {
			counted[id] += n
		}
	}
	for _, m := range []map[member.ID]int64{stored, counted} {
		for id, n := range m {
			if n == 0 {
				delete(m, id)
			}
		}
	}
	return stored, counted, nil
}

func sumRows(ctx context.Context, q sqldb.Querier, query string, into map[member.ID]int64) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("recount usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id member.ID
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		into[id] += n
	}
	return rows.Err()
}
