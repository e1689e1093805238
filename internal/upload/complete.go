package upload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/erase"
	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// MissingError lists the chunks complete is still waiting for.
type MissingError struct{ Missing []int }

func (e *MissingError) Error() string { return fmt.Sprintf("%d chunks missing", len(e.Missing)) }
func (e *MissingError) Unwrap() error { return ErrIncomplete }

// Complete turns a fully received upload into a file of its box. The type is
// decided here, from the content (R-S7): a refused file is removed at once with
// everything it reserved, and the refusal is returned (a *filetype.Refusal).
func (s *Service) Complete(ctx context.Context, who member.ID, id ID, addr string) (*box.File, error) {
	u, err := s.Status(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if missing := missingChunks(u); len(missing) > 0 {
		return nil, &MissingError{Missing: missing}
	}
	// From here no chunk can be written: every chunk is acknowledged, and
	// completing refuses new claims, so the bytes checked below are final.
	if err := s.freeze(ctx, u); err != nil {
		return nil, err
	}
	kind, err := s.sniff(ctx, u)
	var refusal *filetype.Refusal
	if errors.As(err, &refusal) {
		if aerr := s.remove(ctx, u, audit.Event{At: s.now(), Actor: string(who), Action: "upload.refuse", Target: string(id), Box: string(u.Box),
			Addr: addr, Result: audit.Denied, Detail: map[string]string{"reason": refusal.Code}}); aerr != nil {
			return nil, aerr
		}
		return nil, refusal
	}
	if err != nil {
		return nil, err
	}
	f := box.File{ID: u.File, Box: u.Box, Sender: who, Name: u.Name, Size: u.Size, ContentType: kind.MIME, Class: string(kind.Class),
		KeyID: u.KeyID, ChunkSize: u.ChunkSize, ChunkCount: u.ChunkCount}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE id = $1 AND member_id = $2`, id, who)
		if err != nil {
			return fmt.Errorf("complete upload %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound // completed or aborted by a concurrent request
		}
		return s.boxes.AddFileTx(ctx, tx, f, addr)
	})
	if err != nil {
		return nil, err
	}
	got, err := s.boxes.File(ctx, who, f.ID)
	if err != nil {
		return nil, err
	}
	return got, nil
}

// freeze moves u to completing if every chunk is acknowledged and none is being
// written. A complete that was interrupted finds it completing already.
func (s *Service) freeze(ctx context.Context, u *Upload) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE uploads SET state = 'completing' WHERE id = $1`, u.ID); err != nil {
			return fmt.Errorf("complete upload %s: %w", u.ID, err)
		}
		var done int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM upload_chunks WHERE upload_id = $1 AND state = 'done'`, u.ID).Scan(&done); err != nil {
			return err
		}
		if done != u.ChunkCount {
			return ErrChunkBusy // a chunk is being rewritten; the client tries again
		}
		return nil
	})
}

func missingChunks(u *Upload) []int {
	have := make(map[int]bool, len(u.Received))
	for _, n := range u.Received {
		have[n] = true
	}
	var missing []int
	for n := range u.ChunkCount {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	return missing
}

// sniff decides the file's type from its sealed bytes, reading only the parts
// filetype asks for.
func (s *Service) sniff(ctx context.Context, u *Upload) (filetype.Kind, error) {
	c, err := s.boxes.OpenStored(ctx, box.File{ID: u.File, Box: u.Box, Name: u.Name, Size: u.Size, KeyID: u.KeyID,
		ChunkSize: u.ChunkSize, ChunkCount: u.ChunkCount})
	if err != nil {
		return filetype.Kind{}, err
	}
	defer c.Close()
	return filetype.Detect(c, u.Size, u.Name)
}

// Abort ends an upload at its creator's request and gives back everything.
func (s *Service) Abort(ctx context.Context, who member.ID, id ID, addr string) error {
	u, err := get(ctx, s.db, who, id)
	if err != nil {
		return err
	}
	return s.remove(ctx, u, audit.Event{At: s.now(), Actor: string(who), Action: "upload.abort", Target: string(id), Box: string(u.Box), Addr: addr})
}

// remove deletes an upload: its reservation, its key (so its chunks are
// unreadable at once) and its row, then queues the removal of its chunks.
func (s *Service) remove(ctx context.Context, u *Upload, ev audit.Event) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE id = $1`, u.ID)
		if err != nil {
			return fmt.Errorf("remove upload %s: %w", u.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if err := erase.Later(ctx, tx, s.now()); err != nil { // its file name
			return err
		}
		if err := s.releaseTx(ctx, tx, u); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, ev)
	})
}

func (s *Service) releaseTx(ctx context.Context, tx *sqldb.Tx, u *Upload) error {
	if err := s.boxes.ReleaseTx(ctx, tx, u.Member, u.Box, u.Size); err != nil {
		return err
	}
	if err := seal.DestroyKey(ctx, tx, u.KeyID); err != nil {
		return fmt.Errorf("destroy key of upload %s: %w", u.ID, err)
	}
	return s.boxes.EraseLater(ctx, tx, box.FilePrefix(u.File))
}

// SweepAbandoned removes uploads nobody has touched for AbandonAfter; a periodic job.
func (s *Service) SweepAbandoned(ctx context.Context, now time.Time) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE touched_at <= $1 LIMIT 500`,
		sqldb.Millis(now.Add(-AbandonAfter)))
	if err != nil {
		return fmt.Errorf("find abandoned uploads: %w", err)
	}
	var stale []*Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			rows.Close()
			return err
		}
		stale = append(stale, u)
	}
	rows.Close()
	for _, u := range stale {
		err := s.remove(ctx, u, audit.Event{At: now, Actor: "system", Action: "upload.abandon", Target: string(u.ID), Box: string(u.Box)})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// uploadsWhere returns the uploads matching a condition, inside tx.
func uploadsWhere(ctx context.Context, tx *sqldb.Tx, where string, args ...any) ([]*Upload, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// ReleaseBoxTx lets go of the uploads into a box that is being deleted, in the
// deleting transaction.
func (s *Service) ReleaseBoxTx(ctx context.Context, tx *sqldb.Tx, id box.ID) error {
	us, err := uploadsWhere(ctx, tx, `box_id = $1`, id)
	if err != nil {
		return err
	}
	for _, u := range us {
		if err := s.releaseTx(ctx, tx, u); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM uploads WHERE box_id = $1`, id)
	return err
}

// ReleaseMemberTx lets go of a withdrawing member's uploads, in the withdrawal
// transaction.
func (s *Service) ReleaseMemberTx(ctx context.Context, tx *sqldb.Tx, who member.ID) error {
	us, err := uploadsWhere(ctx, tx, `member_id = $1`, who)
	if err != nil {
		return err
	}
	for _, u := range us {
		if err := s.releaseTx(ctx, tx, u); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM uploads WHERE member_id = $1`, who)
	return err
}

// Reserved reports the bytes reserved by uploads in progress, for box.Recount.
func (s *Service) Reserved(ctx context.Context) (map[member.ID]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT member_id, sum(size) FROM uploads GROUP BY member_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[member.ID]int64{}
	for rows.Next() {
		var id member.ID
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}
