package upload

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Create starts an upload of size bytes into box b. The declared size is checked
// against the box's limits and the member's quota and reserved at once; it is
// given back on abort, refusal or expiry.
func (s *Service) Create(ctx context.Context, who member.ID, b box.ID, name string, size int64, declaredType, addr string) (*Upload, error) {
	// Visibility first: to an outsider the box does not exist, whatever they send.
	if err := box.Participates(ctx, s.db, who, b); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		return nil, ErrBadName
	}
	clean, err := cleanName(name)
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, ErrEmpty
	}
	if len(declaredType) > 200 {
		declaredType = ""
	}
	now := s.now()
	u := &Upload{ID: ID(newID()), File: box.FileID(newID()), Box: b, Member: who, Name: clean, Size: size,
		DeclaredType: declaredType, ChunkSize: s.chunk, ChunkCount: int((size + s.chunk - 1) / s.chunk), CreatedAt: now}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		// The box must exist for who (a participant); otherwise it does not exist.
		if err := box.Participates(ctx, tx, who, b); err != nil {
			return err
		}
		if err := s.boxes.ReserveTx(ctx, tx, who, b, size); err != nil {
			return err
		}
		keyID, _, err := s.boxes.Master().NewKey(ctx, tx, now)
		if err != nil {
			return fmt.Errorf("create upload: %w", err)
		}
		u.KeyID = keyID
		_, err = tx.ExecContext(ctx, `INSERT INTO uploads (`+uploadColumns+`, touched_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
			u.ID, u.File, u.Box, u.Member, u.Name, u.Size, u.DeclaredType, u.KeyID, u.ChunkSize, u.ChunkCount, sqldb.Millis(now))
		if err != nil {
			return fmt.Errorf("create upload: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(who), Action: "upload.create", Target: string(u.ID), Box: string(b), Addr: addr,
			Detail: map[string]string{"size": fmt.Sprint(size), "chunks": fmt.Sprint(u.ChunkCount)}})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Status returns the upload with the chunks received so far, for resuming.
func (s *Service) Status(ctx context.Context, who member.ID, id ID) (*Upload, error) {
	u, err := get(ctx, s.db, who, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT n FROM upload_chunks WHERE upload_id = $1 AND state = 'done' ORDER BY n`, id)
	if err != nil {
		return nil, fmt.Errorf("upload status %s: %w", id, err)
	}
	defer rows.Close()
	u.Received = []int{}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		u.Received = append(u.Received, n)
	}
	return u, rows.Err()
}

// Digest is an expected SHA-256 from a Content-Digest header, or nil.
type Digest []byte

// ParseContentDigest reads "sha-256=:BASE64:" from an RFC 9530 Content-Digest
// header. Other algorithms are ignored (nil, nil); a malformed sha-256 is an error.
func ParseContentDigest(h string) (Digest, error) {
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "sha-256") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) < 2 || v[0] != ':' || v[len(v)-1] != ':' {
			return nil, ErrDigest
		}
		sum, err := base64.StdEncoding.DecodeString(v[1 : len(v)-1])
		if err != nil || len(sum) != sha256.Size {
			return nil, ErrDigest
		}
		return sum, nil
	}
	return nil, nil
}

// PutChunk stores chunk n of upload id from r, sealed as it streams: nothing is
// kept in memory beyond the copy buffer and nothing plain reaches the disk. The
// chunk must have exactly its length (contentLength is what the client declared,
// or -1); with a digest, its SHA-256 must match.
//
// A chunk is claimed before its object is written and acknowledged after, and an
// acknowledged chunk is never written again: sending it again with the same bytes
// is answered 204 without storing anything (a client simply retries what it is
// unsure of), with other bytes ErrChunkConflict. So the bytes complete checked
// are the bytes the file holds, whatever a client sends later.
//
// While another request writes the chunk the answer is ErrChunkBusy, unless
// that request runs on this instance and r is an Interrupter: then the older
// request, whose client has given up on it, is interrupted and this one writes.
// The older one only ever loses its claim; the object is written by one
// request at a time.
func (s *Service) PutChunk(ctx context.Context, who member.ID, id ID, n int, r io.Reader, contentLength int64, digest Digest) error {
	u, err := get(ctx, s.db, who, id)
	if err != nil {
		return err
	}
	if n < 0 || n >= u.ChunkCount {
		return ErrBadChunk
	}
	want := u.ChunkLen(n)
	if contentLength >= 0 && contentLength != want {
		return ErrChunkSize
	}
	claim, done, err := s.claimChunk(ctx, u, n)
	if errors.Is(err, ErrChunkBusy) && s.writing.supersede(ctx, u.ID, n) {
		claim, done, err = s.claimChunk(ctx, u, n)
	}
	if err != nil {
		return err
	}
	h := sha256.New()
	lr := &lengthReader{r: io.TeeReader(r, h), want: want}
	if done != "" {
		// Already acknowledged: only compare.
		if _, err := io.Copy(io.Discard, lr); err != nil || lr.short {
			return ErrChunkSize
		}
		if extra, _ := r.Read(make([]byte, 1)); extra > 0 {
			return ErrChunkSize
		}
		sum := h.Sum(nil)
		if digest != nil && subtle.ConstantTimeCompare(sum, digest) != 1 {
			return ErrDigest
		}
		if hex.EncodeToString(sum) != done {
			return ErrChunkConflict
		}
		return nil
	}
	finish := s.writing.track(u.ID, n, r)
	defer finish()
	stop := s.holdClaim(ctx, u, n, claim)
	err = s.storeChunk(ctx, u, n, lr, r, want, h, digest)
	stop()
	// From here on the client may be gone (its context cancelled): the claim
	// must still be acknowledged or released, or the chunk would stay busy
	// until the claim went stale.
	bg := context.WithoutCancel(ctx)
	if err == nil {
		if err = s.ackChunk(bg, u, n, claim, want, h.Sum(nil)); err == nil {
			return nil
		}
	}
	s.releaseClaim(bg, u, n, claim)
	return err
}

// storeChunk writes the claimed chunk's object and checks its length and digest.
func (s *Service) storeChunk(ctx context.Context, u *Upload, n int, lr *lengthReader, r io.Reader, want int64, h hash.Hash, digest Digest) error {
	dk, err := s.boxes.Master().Key(ctx, s.db, u.KeyID)
	if err != nil {
		return ErrNotFound // aborted a moment ago
	}
	err = s.boxes.Sealed().With(dk).Put(ctx, box.ChunkKey(u.File, n), lr, want)
	if errors.Is(err, blob.ErrSize) || lr.short {
		return ErrChunkSize
	}
	if err != nil {
		return fmt.Errorf("store chunk %d of %s: %w", n, u.ID, err)
	}
	if extra, _ := r.Read(make([]byte, 1)); extra > 0 {
		return ErrChunkSize // more bytes than the chunk has; the next good PUT replaces the object
	}
	if digest != nil && subtle.ConstantTimeCompare(h.Sum(nil), digest) != 1 {
		return ErrDigest // likewise
	}
	return nil
}

// A writer renews its claim every claimBeat; a claim not renewed for claimStale
// belonged to a request whose instance died, and another request may take it.
const (
	claimBeat  = 5 * time.Second
	claimStale = 20 * time.Second
)

// holdClaim renews a claim while its chunk is being written; stop ends it.
func (s *Service) holdClaim(ctx context.Context, u *Upload, n int, claim string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(claimBeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_, err := s.db.ExecContext(context.WithoutCancel(ctx), `UPDATE upload_chunks SET claimed_at = $1
					WHERE upload_id = $2 AND n = $3 AND claim = $4 AND state = 'writing'`, sqldb.Millis(s.now()), u.ID, n, claim)
				if err != nil {
					s.log.WarnContext(ctx, "renew chunk claim", "upload", u.ID, "chunk", n, "err", err)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// claimChunk claims chunk n for writing. It returns the claim, or — when the chunk
// is already acknowledged — its SHA-256 in hex. ErrChunkBusy while another request
// writes it; ErrNotFound once the upload is completing or gone.
func (s *Service) claimChunk(ctx context.Context, u *Upload, n int) (claim, done string, err error) {
	now := s.now()
	claim = newID()
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		// Touching the upload row locks it against a concurrent complete or abort.
		res, err := tx.ExecContext(ctx, `UPDATE uploads SET touched_at = $1 WHERE id = $2 AND state = 'open'`, sqldb.Millis(now), u.ID)
		if err != nil {
			return fmt.Errorf("claim chunk %d of %s: %w", n, u.ID, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return ErrNotFound
		}
		var state, sum string
		var at int64
		err = tx.QueryRowContext(ctx, `SELECT state, sha256, claimed_at FROM upload_chunks WHERE upload_id = $1 AND n = $2`, u.ID, n).Scan(&state, &sum, &at)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("claim chunk %d of %s: %w", n, u.ID, err)
		case state == "done":
			done = sum
			return nil
		case sqldb.FromMillis(at).After(now.Add(-claimStale)):
			return ErrChunkBusy
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO upload_chunks (upload_id, n, state, claim, claimed_at, size, sha256)
			VALUES ($1, $2, 'writing', $3, $4, 0, '')
			ON CONFLICT (upload_id, n) DO UPDATE SET state = 'writing', claim = excluded.claim, claimed_at = excluded.claimed_at`,
			u.ID, n, claim, sqldb.Millis(now))
		if err != nil {
			return fmt.Errorf("claim chunk %d of %s: %w", n, u.ID, err)
		}
		return nil
	})
	return claim, done, err
}

// ackChunk records that chunk n holds what was just written under claim.
func (s *Service) ackChunk(ctx context.Context, u *Upload, n int, claim string, size int64, sum []byte) error {
	res, err := s.db.ExecContext(ctx, `UPDATE upload_chunks SET state = 'done', size = $1, sha256 = $2
		WHERE upload_id = $3 AND n = $4 AND claim = $5 AND state = 'writing'`, size, hex.EncodeToString(sum), u.ID, n, claim)
	if err != nil {
		return fmt.Errorf("record chunk %d of %s: %w", n, u.ID, err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return ErrChunkBusy // the claim was taken over or the upload is gone; the client sends it again
	}
	return nil
}

// releaseClaim lets another request write chunk n after this one failed.
func (s *Service) releaseClaim(ctx context.Context, u *Upload, n int, claim string) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM upload_chunks WHERE upload_id = $1 AND n = $2 AND claim = $3 AND state = 'writing'`,
		u.ID, n, claim); err != nil {
		s.log.WarnContext(ctx, "release chunk claim", "upload", u.ID, "chunk", n, "err", err)
	}
}

// lengthReader passes exactly want bytes and notes a stream that is shorter or
// longer, so a lying client cannot store a chunk of the wrong size.
type lengthReader struct {
	r     io.Reader
	want  int64
	got   int64
	short bool
}

func (l *lengthReader) Read(p []byte) (int, error) {
	if l.got >= l.want {
		return 0, io.EOF
	}
	if int64(len(p)) > l.want-l.got {
		p = p[:l.want-l.got]
	}
	n, err := l.r.Read(p)
	l.got += int64(n)
	if errors.Is(err, io.EOF) && l.got < l.want {
		l.short = true
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}
