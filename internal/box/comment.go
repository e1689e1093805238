package box

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// MaxComment bounds a comment's length in characters.
const MaxComment = 4000

// CommentEvent is the payload of EventComment.
type CommentEvent struct {
	Box     ID        `json:"box"`
	Comment string    `json:"comment"`
	By      member.ID `json:"by"`
}

// AddComment writes a comment to a box's thread (R-S6); any participant may.
func (s *Service) AddComment(ctx context.Context, actor member.ID, id ID, body, addr string) (*Comment, error) {
	// Visibility first: to an outsider the box does not exist, whatever they send.
	if err := Participates(ctx, s.db, actor, id); err != nil {
		return nil, err
	}
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	switch {
	case body == "":
		return nil, &InputError{"body", "required"}
	case utf8.RuneCountInString(body) > MaxComment:
		return nil, &InputError{"body", "too_long"}
	}
	now := s.now()
	c := &Comment{ID: newID(), Author: actor, Body: body, CreatedAt: now}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if _, err := get(ctx, tx, actor, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO comments (id, box_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
			c.ID, id, actor, body, sqldb.Millis(now)); err != nil {
			return err
		}
		// A participant's own comment does not make the box unread for them.
		if _, err := tx.ExecContext(ctx, `UPDATE participants SET read_at = $1 WHERE box_id = $2 AND member_id = $3`,
			sqldb.Millis(now), id, actor); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(actor), Action: "box.comment", Target: c.ID, Box: string(id), Addr: addr}); err != nil {
			return err
		}
		return job.Enqueue(ctx, tx, now, EventComment, CommentEvent{Box: id, Comment: c.ID, By: actor})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
