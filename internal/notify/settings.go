package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Settings says which triggers mail a member (R-N2).
type Settings map[Kind]bool

func defaults() Settings {
	return Settings{Shared: true, FileAdded: true, Comment: true, Reminder: true, Expiring: true}
}

func settings(ctx context.Context, q sqldb.Querier, m member.ID) (Settings, error) {
	s := Settings{}
	var a, b, c, d, e bool
	err := q.QueryRowContext(ctx, `SELECT shared, file_added, comment, reminder, expiring FROM notify_settings WHERE member_id = $1`, m).
		Scan(&a, &b, &c, &d, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return defaults(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read mail settings of %s: %w", m, err)
	}
	s[Shared], s[FileAdded], s[Comment], s[Reminder], s[Expiring] = a, b, c, d, e
	return s, nil
}

// Settings returns m's triggers.
func (s *Service) Settings(ctx context.Context, m member.ID) (Settings, error) {
	return settings(ctx, s.db, m)
}

// SetSettings changes some of m's triggers; kinds not in change keep their value.
func (s *Service) SetSettings(ctx context.Context, m member.ID, change Settings, addr string) (Settings, error) {
	now := s.o.Now()
	var out Settings
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		cur, err := settings(ctx, tx, m)
		if err != nil {
			return err
		}
		detail := map[string]string{}
		for k, v := range change {
			if _, ok := cur[k]; !ok {
				return fmt.Errorf("unknown trigger %q", k)
			}
			if cur[k] != v {
				detail[string(k)] = fmt.Sprint(v)
			}
			cur[k] = v
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO notify_settings (member_id, shared, file_added, comment, reminder, expiring)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (member_id) DO UPDATE SET shared = excluded.shared,
			file_added = excluded.file_added, comment = excluded.comment, reminder = excluded.reminder, expiring = excluded.expiring`,
			m, cur[Shared], cur[FileAdded], cur[Comment], cur[Reminder], cur[Expiring])
		if err != nil {
			return fmt.Errorf("save mail settings of %s: %w", m, err)
		}
		out = cur
		if len(detail) == 0 {
			return nil
		}
		return s.o.Audit.Record(ctx, tx, audit.Event{At: now, Actor: string(m), Action: "member.mail_settings", Target: string(m), Addr: addr, Detail: detail})
	})
	return out, err
}

// IsKind reports whether k names a trigger.
func IsKind(k string) bool {
	for _, x := range Kinds {
		if string(x) == k {
			return true
		}
	}
	return false
}
