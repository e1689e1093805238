package box

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/erase"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// ExpireDue deletes every box whose time has come (R-S4), each in its own
// transaction: keys, rows, quota and the audit entry together, blob removal queued.
// It is a periodic job; if two runs overlap, each box is still deleted once, because
// the delete that finds the row is the one that records it.
func (s *Service) ExpireDue(ctx context.Context, now time.Time) error {
	// A box that fails is logged and passed over, so that one bad box does not
	// keep every later one from expiring; the next run tries it again.
	failed := map[ID]error{}
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT id FROM boxes WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2`,
			sqldb.Millis(now), 200+len(failed))
		if err != nil {
			return fmt.Errorf("find expired boxes: %w", err)
		}
		var ids []ID
		for rows.Next() {
			var id ID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		progress := false
		for _, id := range ids {
			if failed[id] != nil {
				continue
			}
			err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
				return s.deleteBoxTx(ctx, tx, id, audit.Event{At: now, Actor: "system", Action: "box.expire", Target: string(id), Box: string(id)})
			})
			if err != nil {
				s.log.ErrorContext(ctx, "expire box", "box", id, "err", err)
				failed[id] = err
				continue
			}
			progress = true
		}
		if !progress {
			if len(failed) > 0 {
				return fmt.Errorf("%d boxes could not expire; first: %w", len(failed), firstErr(failed))
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// deleteBoxTx deletes box id and everything in it, recording ev if the box was
// still there. Features above this one let go of their parts first (OnDelete).
func (s *Service) deleteBoxTx(ctx context.Context, tx *sqldb.Tx, id ID, ev audit.Event) error {
	var sender member.ID
	// A no-op UPDATE rather than a SELECT, for its row lock (on both engines): an
	// overlapping deletion waits here and then finds the box gone, instead of
	// giving back its quota a second time.
	err := tx.QueryRowContext(ctx, `UPDATE boxes SET expires_at = expires_at WHERE id = $1 RETURNING sender_id`, id).Scan(&sender)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // another run got here first
	}
	if err != nil {
		return fmt.Errorf("delete box %s: %w", id, err)
	}
	if err := erase.Later(ctx, tx, s.now()); err != nil { // its message, comments and file names
		return err
	}
	for _, fn := range s.onDelete {
		if err := fn(ctx, tx, id); err != nil {
			return fmt.Errorf("delete box %s: %w", id, err)
		}
	}
	fs, err := files(ctx, tx, `f.box_id = $1`, id)
	if err != nil {
		return err
	}
	for i := range fs {
		if err := s.dropFileTx(ctx, tx, &fs[i]); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM boxes WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete box %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	ev.Detail = map[string]string{"files": fmt.Sprint(len(fs))}
	return s.audit.Record(ctx, tx, ev)
}

// DeleteMemberTx deletes what a withdrawing member owns (R-M7): the boxes they sent
// with everything in them, and the files they sent into other members' boxes.
// Comments go with the member row.
func (s *Service) DeleteMemberTx(ctx context.Context, tx *sqldb.Tx, who member.ID) error {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM boxes WHERE sender_id = $1`, who)
	if err != nil {
		return err
	}
	var boxes []ID
	for rows.Next() {
		var id ID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		boxes = append(boxes, id)
	}
	rows.Close()
	now := s.now()
	for _, id := range boxes {
		if err := s.deleteBoxTx(ctx, tx, id, audit.Event{At: now, Actor: string(who), Action: "box.delete_on_withdrawal", Target: string(id), Box: string(id)}); err != nil {
			return err
		}
	}
	fs, err := files(ctx, tx, `f.sender_id = $1`, who)
	if err != nil {
		return err
	}
	for i := range fs {
		if err := s.dropFileTx(ctx, tx, &fs[i]); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

func firstErr(m map[ID]error) error {
	for _, err := range m {
		return err
	}
	return nil
}
