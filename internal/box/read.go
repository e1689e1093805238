package box

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Box is an exchange as one of its participants sees it.
type Box struct {
	ID           ID
	Sender       member.ID
	SenderName   string
	Message      string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	FileCount    int   // files and uploads in progress
	Bytes        int64 // their declared bytes
	Role         string
	ReadAt       time.Time // when the viewer last opened it; zero if never
	Participants []Participant
	Files        []File
	Comments     []Comment
}

// IsSender reports whether the viewer sent the box.
func (b *Box) IsSender() bool { return b.Role == "sender" }

// Participant is a member in a box.
type Participant struct {
	member.Entry
	Role    string
	AddedAt time.Time
}

// File is a completed file in a box.
type File struct {
	ID          FileID
	Box         ID
	Sender      member.ID
	SenderName  string
	Name        string
	Size        int64
	ContentType string
	Class       string
	KeyID       seal.KeyID
	ChunkSize   int64
	ChunkCount  int
	CreatedAt   time.Time
}

// Comment is one message of a box's thread.
type Comment struct {
	ID         string
	Author     member.ID
	AuthorName string
	Body       string
	CreatedAt  time.Time
}

// Get returns box id with its participants, files and comments, as actor sees it.
// To anyone who is not a participant it is ErrNotFound, never "forbidden".
func (s *Service) Get(ctx context.Context, actor member.ID, id ID) (*Box, error) {
	return get(ctx, s.db, actor, id)
}

func get(ctx context.Context, q sqldb.Querier, actor member.ID, id ID) (*Box, error) {
	var b Box
	var created, expires int64
	var readAt sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT b.id, b.sender_id, m.name, b.message, b.created_at, b.expires_at, b.file_count, b.bytes, p.role, p.read_at
		FROM boxes b
		JOIN participants p ON p.box_id = b.id AND p.member_id = $1
		JOIN members m ON m.id = b.sender_id
		WHERE b.id = $2`, actor, id).
		Scan(&b.ID, &b.Sender, &b.SenderName, &b.Message, &created, &expires, &b.FileCount, &b.Bytes, &b.Role, &readAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("get box %s: %w", id, err)
	}
	b.CreatedAt, b.ExpiresAt = sqldb.FromMillis(created), sqldb.FromMillis(expires)
	if readAt.Valid {
		b.ReadAt = sqldb.FromMillis(readAt.Int64)
	}
	if b.Participants, err = participants(ctx, q, id); err != nil {
		return nil, err
	}
	if b.Files, err = files(ctx, q, `f.box_id = $1`, id); err != nil {
		return nil, err
	}
	if b.Comments, err = comments(ctx, q, id); err != nil {
		return nil, err
	}
	return &b, nil
}

// Participates returns nil if actor takes part in box id, else ErrNotFound.
func Participates(ctx context.Context, q sqldb.Querier, actor member.ID, id ID) error {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM participants WHERE box_id = $1 AND member_id = $2`, id, actor).Scan(&n)
	if err != nil {
		return fmt.Errorf("check participant of %s: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func participants(ctx context.Context, q sqldb.Querier, id ID) ([]Participant, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.id, m.name, m.name_kana, m.profession, m.workplace, m.department, p.role, p.added_at
		FROM participants p JOIN members m ON m.id = p.member_id
		WHERE p.box_id = $1 ORDER BY p.role DESC, p.added_at, m.name_kana`, id)
	if err != nil {
		return nil, fmt.Errorf("list participants of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Participant
	for rows.Next() {
		var p Participant
		var added int64
		if err := rows.Scan(&p.ID, &p.Name, &p.NameKana, &p.Profession, &p.Workplace, &p.Department, &p.Role, &added); err != nil {
			return nil, err
		}
		p.AddedAt = sqldb.FromMillis(added)
		out = append(out, p)
	}
	return out, rows.Err()
}

const fileColumns = `f.id, f.box_id, f.sender_id, m.name, f.name, f.size, f.content_type, f.class, f.key_id, f.chunk_size, f.chunk_count, f.created_at`

func scanFile(row interface{ Scan(...any) error }) (File, error) {
	var f File
	var created int64
	err := row.Scan(&f.ID, &f.Box, &f.Sender, &f.SenderName, &f.Name, &f.Size, &f.ContentType, &f.Class, &f.KeyID, &f.ChunkSize, &f.ChunkCount, &created)
	f.CreatedAt = sqldb.FromMillis(created)
	f.Name = filetype.DisplayName(f.Name) // names stored before SafeName removed invisible characters
	return f, err
}

func files(ctx context.Context, q sqldb.Querier, where string, args ...any) ([]File, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+fileColumns+` FROM files f JOIN members m ON m.id = f.sender_id
		WHERE `+where+` ORDER BY f.created_at, f.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	defer rows.Close()
	out := []File{}
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func comments(ctx context.Context, q sqldb.Querier, id ID) ([]Comment, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.author_id, m.name, c.body, c.created_at
		FROM comments c JOIN members m ON m.id = c.author_id WHERE c.box_id = $1 ORDER BY c.created_at, c.id`, id)
	if err != nil {
		return nil, fmt.Errorf("list comments of %s: %w", id, err)
	}
	defer rows.Close()
	out := []Comment{}
	for rows.Next() {
		var c Comment
		var created int64
		if err := rows.Scan(&c.ID, &c.Author, &c.AuthorName, &c.Body, &created); err != nil {
			return nil, err
		}
		c.CreatedAt = sqldb.FromMillis(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// View returns the box like Get and records the view: the audit log gets an entry
// and the box counts as read for the viewer.
func (s *Service) View(ctx context.Context, actor member.ID, id ID, addr string) (*Box, error) {
	now := s.now()
	var b *Box
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if b, err = get(ctx, tx, actor, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE participants SET read_at = $1 WHERE box_id = $2 AND member_id = $3`,
			sqldb.Millis(now), id, actor); err != nil {
			return fmt.Errorf("mark box %s read: %w", id, err)
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(actor), Action: "box.view", Target: string(id), Box: string(id), Addr: addr})
	})
	return b, err
}

// Summary is a line of the inbox or the sent list.
type Summary struct {
	ID           ID
	Sender       member.ID
	SenderName   string
	Message      string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Files        int
	Bytes        int64
	Participants int
	Role         string
	Unread       bool // there is something newer than the viewer's last visit
}

// List returns the boxes actor takes part in, newest first: those sent to them
// (inbox) and those they sent.
func (s *Service) List(ctx context.Context, actor member.ID) (inbox, sent []Summary, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT b.id, b.sender_id, m.name, b.message, b.created_at, b.expires_at,
			(SELECT count(*) FROM files f WHERE f.box_id = b.id),
			(SELECT COALESCE(sum(f.size), 0) FROM files f WHERE f.box_id = b.id),
			(SELECT count(*) FROM participants q WHERE q.box_id = b.id),
			p.role, p.read_at,
			(SELECT max(t) FROM (
				SELECT b.created_at AS t
				UNION ALL SELECT f.created_at FROM files f WHERE f.box_id = b.id AND f.sender_id <> $1
				UNION ALL SELECT c.created_at FROM comments c WHERE c.box_id = b.id AND c.author_id <> $1) AS activity)
		FROM boxes b
		JOIN participants p ON p.box_id = b.id AND p.member_id = $1
		JOIN members m ON m.id = b.sender_id
		ORDER BY b.created_at DESC, b.id LIMIT 500`, actor)
	if err != nil {
		return nil, nil, fmt.Errorf("list boxes: %w", err)
	}
	defer rows.Close()
	inbox, sent = []Summary{}, []Summary{}
	for rows.Next() {
		var x Summary
		var created, expires, last int64
		var readAt sql.NullInt64
		if err := rows.Scan(&x.ID, &x.Sender, &x.SenderName, &x.Message, &created, &expires, &x.Files, &x.Bytes, &x.Participants,
			&x.Role, &readAt, &last); err != nil {
			return nil, nil, err
		}
		x.CreatedAt, x.ExpiresAt = sqldb.FromMillis(created), sqldb.FromMillis(expires)
		x.Unread = !readAt.Valid || readAt.Int64 < last
		if x.Role == "sender" {
			x.Unread = false
			sent = append(sent, x)
		} else {
			inbox = append(inbox, x)
		}
	}
	return inbox, sent, rows.Err()
}

// Reader is a participant as background work about a box sees them.
type Reader struct {
	Member member.ID
	Role   string
	ReadAt time.Time // zero if never opened
}

// Audience returns a box's expiry and its participants with the time each last
// opened it. It checks no visibility: it is for jobs acting on a box's events,
// never for answering a request. ErrNotFound once the box is gone.
func (s *Service) Audience(ctx context.Context, id ID) (time.Time, []Reader, error) {
	var expires int64
	err := s.db.QueryRowContext(ctx, `SELECT expires_at FROM boxes WHERE id = $1`, id).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil, ErrNotFound
	}
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("audience of %s: %w", id, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT member_id, role, read_at FROM participants WHERE box_id = $1`, id)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("audience of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Reader
	for rows.Next() {
		var r Reader
		var readAt sql.NullInt64
		if err := rows.Scan(&r.Member, &r.Role, &readAt); err != nil {
			return time.Time{}, nil, err
		}
		if readAt.Valid {
			r.ReadAt = sqldb.FromMillis(readAt.Int64)
		}
		out = append(out, r)
	}
	return sqldb.FromMillis(expires), out, rows.Err()
}

// HasFiles reports whether box id holds at least one complete file. Like
// Audience it checks no visibility: it is for jobs acting on a box's events.
func (s *Service) HasFiles(ctx context.Context, id ID) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM files WHERE box_id = $1`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("files of %s: %w", id, err)
	}
	return n > 0, nil
}

// IsFirstFile reports whether file is the first that arrived in box id: its
// arrival is the news that something was sent (notify).
func (s *Service) IsFirstFile(ctx context.Context, id ID, file FileID) (bool, error) {
	var first FileID
	err := s.db.QueryRowContext(ctx, `SELECT id FROM files WHERE box_id = $1 ORDER BY created_at, id LIMIT 1`, id).Scan(&first)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("first file of %s: %w", id, err)
	}
	return first == file, nil
}
