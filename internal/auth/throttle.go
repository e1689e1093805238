package auth

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// throttled reports how long addr must still wait, if it has failed AddrFailures
// times within the current window. The counters live in the database so that every
// instance behind a load balancer sees the same numbers.
func (s *Service) throttled(ctx context.Context, addr string, now time.Time) (time.Duration, error) {
	if addr == "" {
		return 0, nil
	}
	var start int64
	var count int
	err := s.db.QueryRowContext(ctx, `SELECT window_start, count FROM throttle WHERE key = $1`, "signin:"+addr).Scan(&start, &count)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	end := sqldb.FromMillis(start).Add(s.policy.AddrWindow)
	if count >= s.policy.AddrFailures && end.After(now) {
		return end.Sub(now), nil
	}
	return 0, nil
}

// failAddr counts a failed sign-in from addr, starting a new window when the last
// one has passed.
func (s *Service) failAddr(ctx context.Context, addr string, now time.Time) {
	if addr == "" {
		return
	}
	windowStart := sqldb.Millis(now.Add(-s.policy.AddrWindow))
	_, err := s.db.ExecContext(ctx, `INSERT INTO throttle (key, window_start, count) VALUES ($1, $2, 1)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN throttle.window_start <= $3 THEN 1 ELSE throttle.count + 1 END,
			window_start = CASE WHEN throttle.window_start <= $3 THEN $2 ELSE throttle.window_start END`,
		"signin:"+addr, sqldb.Millis(now), windowStart)
	if err != nil {
		s.log.ErrorContext(ctx, "count failed sign-in", "err", err)
	}
}

// PurgeThrottle deletes windows that have ended; a periodic job.
func (s *Service) PurgeThrottle(ctx context.Context, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM throttle WHERE window_start <= $1`, sqldb.Millis(now.Add(-s.policy.AddrWindow)))
	return err
}
