package box

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Limits of a box that are not configuration.
const (
	MaxMessage    = 2000 // characters of the sender's message
	MaxRecipients = 50
)

// InputError says which field of a request is wrong and why (an i18n code).
type InputError struct{ Field, Code string }

func (e *InputError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Code) }

// Draft is a new box.
type Draft struct {
	Recipients []member.ID
	Message    string
	ExpiresIn  time.Duration // 0 means the default
}

// Events that other features (notify) act on, queued with the change.
const (
	EventShared    = "box.shared"     // members were given a box: {box, to}
	EventFileAdded = "box.file_added" // a file completed: {box, file, by}
	EventComment   = "box.commented"  // a comment was written: {box, comment, by}
)

// SharedEvent is the payload of EventShared.
type SharedEvent struct {
	Box ID          `json:"box"`
	To  []member.ID `json:"to"`
	By  member.ID   `json:"by"`
}

// Create opens a box from sender to recipients chosen from the directory (never by
// address). Every recipient must be an approved member other than the sender.
func (s *Service) Create(ctx context.Context, sender member.ID, d Draft, addr string) (*Box, error) {
	d.Message = strings.TrimSpace(d.Message)
	if utf8.RuneCountInString(d.Message) > MaxMessage {
		return nil, &InputError{"message", "too_long"}
	}
	if d.ExpiresIn == 0 {
		d.ExpiresIn = s.limits.DefaultExpiry
	}
	if d.ExpiresIn < s.limits.MinExpiry || d.ExpiresIn > s.limits.MaxExpiry {
		return nil, &InputError{"expires_in_hours", "expiry_range"}
	}
	to := dedupe(d.Recipients, sender)
	if len(to) == 0 {
		return nil, &InputError{"recipients", "choose_recipient"}
	}
	if len(to) > MaxRecipients {
		return nil, &InputError{"recipients", "too_many_recipients"}
	}
	now := s.now()
	id := ID(newID())
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := requireExchanging(ctx, tx, "recipients", append([]member.ID{sender}, to...)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO boxes (id, sender_id, message, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			id, sender, d.Message, sqldb.Millis(now), sqldb.Millis(now.Add(d.ExpiresIn)))
		if err != nil {
			return fmt.Errorf("create box: %w", err)
		}
		if err := addParticipant(ctx, tx, id, sender, "sender", sender, now); err != nil {
			return err
		}
		for _, r := range to {
			if err := addParticipant(ctx, tx, id, r, "recipient", sender, now); err != nil {
				return err
			}
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(sender), Action: "box.create", Target: string(id), Box: string(id),
			Addr: addr, Detail: map[string]string{"recipients": fmt.Sprint(len(to)), "expires_at": now.Add(d.ExpiresIn).UTC().Format(time.RFC3339)}}); err != nil {
			return err
		}
		return job.Enqueue(ctx, tx, now, EventShared, SharedEvent{Box: id, To: to, By: sender})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, sender, id)
}

// AddRecipients gives more members a box (R-S3): they see its files and thread at
// once, without anything being uploaded again. Only the sender may.
func (s *Service) AddRecipients(ctx context.Context, actor member.ID, id ID, who []member.ID, addr string) error {
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		b, err := get(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if !b.IsSender() {
			return ErrNotSender
		}
		present := map[member.ID]bool{}
		for _, p := range b.Participants {
			present[p.ID] = true
		}
		var added []member.ID
		for _, m := range dedupe(who, actor) {
			if !present[m] {
				added = append(added, m)
			}
		}
		if len(added) == 0 {
			return &InputError{"member_ids", "choose_recipient"}
		}
		if len(b.Participants)+len(added) > MaxRecipients+1 {
			return &InputError{"member_ids", "too_many_recipients"}
		}
		if err := requireExchanging(ctx, tx, "member_ids", added); err != nil {
			return err
		}
		for _, m := range added {
			if err := addParticipant(ctx, tx, id, m, "recipient", actor, now); err != nil {
				return err
			}
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(actor), Action: "box.add_recipients", Target: string(id), Box: string(id),
			Addr: addr, Detail: map[string]string{"added": joinIDs(added)}}); err != nil {
			return err
		}
		return job.Enqueue(ctx, tx, now, EventShared, SharedEvent{Box: id, To: added, By: actor})
	})
}

func addParticipant(ctx context.Context, tx *sqldb.Tx, id ID, m member.ID, role string, by member.ID, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO participants (box_id, member_id, role, added_at, added_by) VALUES ($1, $2, $3, $4, $5)`,
		id, m, role, sqldb.Millis(now), by)
	if err != nil {
		return fmt.Errorf("add %s to box %s: %w", m, id, err)
	}
	return nil
}

// requireExchanging refuses unless every id is an approved member (not an
// administrator, not pending or suspended), naming field, the request's field
// that held the ids. A bad id is reported like an unknown one, so the answer
// does not tell what kind of account it is.
func requireExchanging(ctx context.Context, tx *sqldb.Tx, field string, ids []member.ID) error {
	for _, id := range ids {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE id = $1 AND role = 'member' AND status = 'active'`, id).Scan(&n)
		if err != nil {
			return fmt.Errorf("check member %s: %w", id, err)
		}
		if n == 0 {
			return &InputError{field, "unknown_recipient"}
		}
	}
	return nil
}

func dedupe(ids []member.ID, except member.ID) []member.ID {
	seen := map[member.ID]bool{except: true}
	var out []member.ID
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func joinIDs(ids []member.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ",")
}
