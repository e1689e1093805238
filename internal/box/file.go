package box

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/erase"
	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// FileAddedEvent is the payload of EventFileAdded.
type FileAddedEvent struct {
	Box  ID        `json:"box"`
	File FileID    `json:"file"`
	By   member.ID `json:"by"`
}

// AddFileTx records a completed file in the caller's transaction. The bytes were
// reserved by ReserveTx when its upload began, so nothing about the limits
// changes here; the file's arrival is queued for previews and notifications.
func (s *Service) AddFileTx(ctx context.Context, tx *sqldb.Tx, f File, addr string) error {
	now := s.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO files (id, box_id, sender_id, name, size, content_type, class, key_id, chunk_size, chunk_count, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		f.ID, f.Box, f.Sender, f.Name, f.Size, f.ContentType, f.Class, f.KeyID, f.ChunkSize, f.ChunkCount, sqldb.Millis(now))
	if err != nil {
		return fmt.Errorf("add file to box %s: %w", f.Box, err)
	}
	if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(f.Sender), Action: "file.upload", Target: string(f.ID), Box: string(f.Box),
		Addr: addr, Detail: map[string]string{"size": fmt.Sprint(f.Size), "type": f.ContentType}}); err != nil {
		return err
	}
	for _, fn := range s.onFileAdded {
		if err := fn(ctx, tx, f); err != nil {
			return fmt.Errorf("add file to box %s: %w", f.Box, err)
		}
	}
	return job.Enqueue(ctx, tx, now, EventFileAdded, FileAddedEvent{Box: f.Box, File: f.ID, By: f.Sender})
}

// OnFileAdded registers fn to run inside the transaction that adds a completed
// file to its box, so that features above this one (previews) can queue their
// work with the file's arrival.
func (s *Service) OnFileAdded(fn func(ctx context.Context, tx *sqldb.Tx, f File) error) {
	s.onFileAdded = append(s.onFileAdded, fn)
}

// File returns file id if actor takes part in its box; otherwise ErrNotFound.
func (s *Service) File(ctx context.Context, actor member.ID, id FileID) (*File, error) {
	return file(ctx, s.db, actor, id)
}

func file(ctx context.Context, q sqldb.Querier, actor member.ID, id FileID) (*File, error) {
	row := q.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files f
		JOIN participants p ON p.box_id = f.box_id AND p.member_id = $1
		JOIN members m ON m.id = f.sender_id
		WHERE f.id = $2`, actor, id)
	f, err := scanFile(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("get file %s: %w", id, err)
	}
	return &f, nil
}

// DeleteFile deletes a file before its box expires (R-S5). Only whoever sent the
// file may. Its key is destroyed in the same transaction, so its bytes are
// unreadable from the commit on; a job then removes them.
func (s *Service) DeleteFile(ctx context.Context, actor member.ID, id FileID, addr string) error {
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		f, err := file(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if f.Sender != actor {
			return ErrNotSender
		}
		if err := s.dropFileTx(ctx, tx, f); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(actor), Action: "file.delete", Target: string(id), Box: string(f.Box), Addr: addr})
	})
}

// dropFileTx removes a file's row and key, gives its bytes back to the box and
// the sender's quota, and queues the removal of its sealed bytes and previews.
func (s *Service) dropFileTx(ctx context.Context, tx *sqldb.Tx, f *File) error {
	if err := seal.DestroyKey(ctx, tx, f.KeyID); err != nil {
		return fmt.Errorf("destroy key of file %s: %w", f.ID, err)
	}
	if err := erase.Later(ctx, tx, s.now()); err != nil { // its name
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM files WHERE id = $1`, f.ID)
	if err != nil {
		return fmt.Errorf("delete file %s: %w", f.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Deleted by a concurrent transaction (expiry on another instance, the
		// sender's own delete): its quota went back there, not again here.
		return ErrNotFound
	}
	if err := s.ReleaseTx(ctx, tx, f.Sender, f.Box, f.Size); err != nil {
		return err
	}
	return s.EraseLater(ctx, tx, FilePrefix(f.ID), PreviewPrefix(f.ID))
}

// EraseKind is the job that deletes blobs under prefixes whose keys are gone.
const EraseKind = "blob.erase"

type erasePayload struct {
	Prefixes []string `json:"prefixes"`
}

// EraseLater queues the deletion of every blob under prefixes, in the caller's
// transaction. The job is idempotent and retried until the store confirms.
func (s *Service) EraseLater(ctx context.Context, tx *sqldb.Tx, prefixes ...string) error {
	return job.Enqueue(ctx, tx, s.now(), EraseKind, erasePayload{Prefixes: prefixes}, job.MaxAttempts(50))
}

// RegisterJobs makes q erase blobs and expire boxes.
func (s *Service) RegisterJobs(q *job.Queue) {
	q.Handle(EraseKind, func(ctx context.Context, j *job.Job) error {
		var p erasePayload
		if err := j.Decode(&p); err != nil {
			return err
		}
		for _, prefix := range p.Prefixes {
			if err := s.sealed.DeleteAll(ctx, prefix); err != nil {
				return fmt.Errorf("erase %s: %w", prefix, err)
			}
		}
		return nil
	})
}
