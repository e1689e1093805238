package preview

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/seal"
)

// unpreviewable marks a failure that retrying cannot fix: the content itself
// cannot be shown. Its code becomes the preview's reason.
type unpreviewable struct {
	code string
	err  error
}

func (u *unpreviewable) Error() string { return u.code + ": " + u.err.Error() }
func (u *unpreviewable) Unwrap() error { return u.err }

func cannot(code string, format string, args ...any) error {
	return &unpreviewable{code: code, err: fmt.Errorf(format, args...)}
}

// source is a file whose preview is to be made.
type source struct {
	file box.File
	kind Kind
}

// pendingSource reads what the job needs about file; ok is false when there is
// nothing to do (the file is gone, or its preview was made already).
func (s *Service) pendingSource(ctx context.Context, file box.FileID) (src source, ok bool, err error) {
	var status Status
	f := &src.file
	err = s.db.QueryRowContext(ctx, `SELECT pv.kind, pv.status, f.id, f.box_id, f.sender_id, f.size, f.content_type, f.class, f.key_id, f.chunk_size, f.chunk_count
		FROM previews pv JOIN files f ON f.id = pv.file_id WHERE pv.file_id = $1`, file).
		Scan(&src.kind, &status, &f.ID, &f.Box, &f.Sender, &f.Size, &f.ContentType, &f.Class, &f.KeyID, &f.ChunkSize, &f.ChunkCount)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return src, false, nil
	case err != nil:
		return src, false, fmt.Errorf("preview of %s: %w", file, err)
	}
	return src, status == Pending, nil
}

// generate is the job that makes one file's preview. A file that cannot be
// shown ends as Failed ("download only"); errors of our own (the blob store, the
// database) are retried, and after the last attempt the preview fails too, so
// that nobody waits for it forever.
func (s *Service) generate(ctx context.Context, j *job.Job) error {
	var p generatePayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	src, ok, err := s.pendingSource(ctx, p.File)
	if err != nil || !ok {
		return err
	}
	dk, err := s.boxes.Master().Key(ctx, s.db, src.file.KeyID)
	if errors.Is(err, seal.ErrKeyNotFound) {
		return nil // deleted since
	}
	if err != nil {
		return err
	}
	st := &counting{Store: s.boxes.Sealed().With(dk)}
	start := time.Now()
	o, err := s.produce(ctx, src, st)
	var u *unpreviewable
	switch {
	case errors.As(err, &u):
		s.log.InfoContext(ctx, "file cannot be previewed", "file", src.file.ID, "kind", src.kind, "reason", u.code, "err", err)
		if derr := s.boxes.Sealed().DeleteAll(ctx, box.PreviewPrefix(src.file.ID)); derr != nil {
			return derr
		}
		o = outcome{status: Failed, reason: u.code}
	case err != nil && ctx.Err() == nil && j.Attempt >= j.MaxAttempts:
		s.log.ErrorContext(ctx, "preview failed for good", "file", src.file.ID, "kind", src.kind, "err", err)
		if derr := s.boxes.Sealed().DeleteAll(ctx, box.PreviewPrefix(src.file.ID)); derr != nil {
			s.log.WarnContext(ctx, "remove a failed preview's objects", "file", src.file.ID, "err", derr) // the sweep has them later
		}
		o = outcome{status: Failed, reason: ReasonError}
	case err != nil:
		return fmt.Errorf("preview of %s: %w", src.file.ID, err)
	default:
		o.status, o.bytes = Ready, st.bytes.Load()
		s.log.InfoContext(ctx, "preview made", "file", src.file.ID, "kind", src.kind, "frames", o.frames, "bytes", o.bytes,
			"took", time.Since(start).Round(time.Millisecond))
	}
	found, err := s.finish(ctx, src.file, o)
	if err != nil {
		return err
	}
	if !found {
		// Deleted while we worked: its key is gone, so these objects are
		// unreadable already; remove them rather than wait for a sweep.
		return s.boxes.Sealed().DeleteAll(ctx, box.PreviewPrefix(src.file.ID))
	}
	return nil
}

// produce makes the preview objects of src in st.
func (s *Service) produce(ctx context.Context, src source, st *counting) (outcome, error) {
	c, err := s.boxes.OpenStored(ctx, src.file)
	if errors.Is(err, box.ErrNotFound) {
		return outcome{}, cannot(ReasonCannotPreview, "file deleted")
	}
	if err != nil {
		return outcome{}, err
	}
	defer c.Close()
	in := &sourceReader{c: c, size: src.file.Size}
	var o outcome
	switch src.kind {
	case Image:
		o, err = s.makeImage(ctx, src.file, in, st)
	case Video:
		o, err = s.makeVideo(ctx, src.file, in, st)
	case PDF:
		o, err = s.makePDF(ctx, src.file, in, st)
	case DICOM:
		o, err = s.makeDICOM(ctx, src.file, in, st)
	case Study:
		o, err = s.makeStudy(ctx, src.file, in, st)
	default:
		return outcome{}, cannot(ReasonCannotPreview, "kind %q", src.kind)
	}
	// A read of our own stored bytes that failed is our error, never the
	// content's, whatever the decoder made of it.
	if err := in.failed(); err != nil {
		return outcome{}, fmt.Errorf("read file: %w", err)
	}
	return o, err
}

// sourceReader reads a file's content (a *box.Content) and remembers the first
// read error that came from storage rather than from the end of the file.
// Its ReadAt may be called from several goroutines (a study's entries).
type sourceReader struct {
	c interface {
		io.Reader
		io.ReaderAt
	}
	size int64
	mu   sync.Mutex
	err  error
}

func (r *sourceReader) note(err error) error {
	if err != nil && !errors.Is(err, io.EOF) {
		r.mu.Lock()
		r.err = cmp.Or(r.err, err)
		r.mu.Unlock()
	}
	return err
}

// failed returns the first storage error seen.
func (r *sourceReader) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *sourceReader) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	return n, r.note(err)
}

func (r *sourceReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.c.ReadAt(p, off)
	return n, r.note(err)
}

// counting is a blob.Store that counts the bytes put through it; put may be
// called from several goroutines.
type counting struct {
	blob.Store
	bytes atomic.Int64
}

func (c *counting) put(ctx context.Context, key string, b []byte) error {
	if err := c.Store.Put(ctx, key, bytes.NewReader(b), int64(len(b))); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	c.bytes.Add(int64(len(b)))
	return nil
}

// SweepOrphans deletes preview objects whose file is gone: what a job stored
// while its file was being deleted, or left by a crash. Their keys are destroyed
// already, so these bytes are unreadable even before the sweep. A periodic job.
func (s *Service) SweepOrphans(ctx context.Context, now time.Time) error {
	seen := map[string]bool{}
	err := s.boxes.Sealed().List(ctx, "p/", func(key string, _ int64) error {
		if id, _, ok := strings.Cut(strings.TrimPrefix(key, "p/"), "/"); ok {
			seen[id] = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list stored previews: %w", err)
	}
	for id := range seen {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM previews WHERE file_id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("check stored preview %s: %w", id, err)
		}
		if n > 0 {
			continue
		}
		if err := s.boxes.Sealed().DeleteAll(ctx, box.PreviewPrefix(box.FileID(id))); err != nil {
			return fmt.Errorf("delete orphaned preview %s: %w", id, err)
		}
		s.log.InfoContext(ctx, "orphaned preview removed", "file", id)
	}
	return nil
}
