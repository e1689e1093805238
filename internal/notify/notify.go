// Package notify decides which events mail whom (R-N1–R-N3): a box shared with
// you, a file added to a box you are in, a comment, a reminder after 24 hours
// unread, and a box about to expire unread. Each member chooses their triggers.
// Events become notices; a member's notices are gathered for a short window and
// sent as one mail, so a burst is not a flood. A mail says only that something is
// new and links to the box: never a patient, a file name, a message or a comment.
package notify

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Kind is a trigger (発信トリガー).
type Kind string

// The triggers of R-N1 and R-N2.
const (
	Shared    Kind = "shared"     // a box was sent to you, or you were added to one
	FileAdded Kind = "file_added" // a file arrived in a box you are in
	Comment   Kind = "comment"    // someone commented
	Reminder  Kind = "reminder"   // something has stayed unread for a day
	Expiring  Kind = "expiring"   // a box you have not read is about to be deleted
)

// Kinds lists the triggers in the order the settings page shows them.
var Kinds = []Kind{Shared, FileAdded, Comment, Reminder, Expiring}

// Options tune the service.
type Options struct {
	Window       time.Duration // notices within this window share one mail
	RemindAfter  time.Duration // unread for this long → a reminder (24 h)
	ExpiringLead time.Duration // this long before expiry, unread → a warning
	BaseURL      string
	Now          func() time.Time
	Log          *slog.Logger
	Audit        *audit.Log
}

// Service turns box events into mail.
type Service struct {
	db      *sqldb.DB
	boxes   *box.Service
	members *member.Service
	o       Options
}

// New returns a Service.
func New(db *sqldb.DB, boxes *box.Service, members *member.Service, o Options) *Service {
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.RemindAfter <= 0 {
		o.RemindAfter = 24 * time.Hour
	}
	if o.ExpiringLead <= 0 {
		o.ExpiringLead = 12 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{db: db, boxes: boxes, members: members, o: o}
}

// Job kinds of this package.
const (
	flushKind    = "notify.flush"
	remindKind   = "notify.remind"
	expiringKind = "notify.expiring"
)

// Register makes q act on box events and on this package's own jobs.
func (s *Service) Register(q *job.Queue) {
	q.Handle(box.EventShared, s.onShared)
	q.Handle(box.EventFileAdded, s.onFileAdded)
	q.Handle(box.EventComment, s.onComment)
	q.Handle(flushKind, s.flush)
	q.Handle(remindKind, s.remind)
	q.Handle(expiringKind, s.expiring)
}

func newID() string { return strings.ToLower(rand.Text()) }

type memberRef struct {
	Member member.ID `json:"member"`
	Box    box.ID    `json:"box"`
	Since  time.Time `json:"since"`
}

func (s *Service) onShared(ctx context.Context, j *job.Job) error {
	var ev box.SharedEvent
	if err := j.Decode(&ev); err != nil {
		return err
	}
	expires, _, err := s.boxes.Audience(ctx, ev.Box)
	if errors.Is(err, box.ErrNotFound) {
		return nil // expired or deleted before the event was handled
	}
	if err != nil {
		return err
	}
	// A box is news only once it holds a file: a send whose uploads all failed,
	// or that has not finished its first file yet, mails nobody. The first file
	// to arrive tells them instead (toOthers).
	hasFiles, err := s.boxes.HasFiles(ctx, ev.Box)
	if err != nil {
		return err
	}
	now := s.o.Now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for _, m := range ev.To {
			if hasFiles {
				if err := s.noticeTx(ctx, tx, m, ev.Box, Shared, now, time.Time{}); err != nil {
					return err
				}
			}
			if warn := expires.Add(-s.o.ExpiringLead); warn.After(now) {
				if err := job.Enqueue(ctx, tx, now, expiringKind, memberRef{Member: m, Box: ev.Box},
					job.Key(fmt.Sprintf("expiring:%s:%s", m, ev.Box)), job.At(warn)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *Service) onFileAdded(ctx context.Context, j *job.Job) error {
	var ev box.FileAddedEvent
	if err := j.Decode(&ev); err != nil {
		return err
	}
	first, err := s.boxes.IsFirstFile(ctx, ev.Box, ev.File)
	if err != nil {
		return err
	}
	return s.toOthers(ctx, ev.Box, ev.By, FileAdded, first)
}

func (s *Service) onComment(ctx context.Context, j *job.Job) error {
	var ev box.CommentEvent
	if err := j.Decode(&ev); err != nil {
		return err
	}
	return s.toOthers(ctx, ev.Box, ev.By, Comment, false)
}

// toOthers notes kind for every participant of b but the one who caused it. The
// box's first file is, to its recipients, the news that something was sent to
// them (the box was no news while it held no file): Shared, not FileAdded.
func (s *Service) toOthers(ctx context.Context, b box.ID, by member.ID, kind Kind, firstFile bool) error {
	_, readers, err := s.boxes.Audience(ctx, b)
	if errors.Is(err, box.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.o.Now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for _, r := range readers {
			if r.Member == by {
				continue
			}
			k := kind
			if firstFile && r.Role == "recipient" {
				k = Shared
			}
			if err := s.noticeTx(ctx, tx, r.Member, b, k, now, r.ReadAt); err != nil {
				return err
			}
		}
		return nil
	})
}

// noticeTx records a notice for m if m wants this kind of mail, schedules the
// mail that will carry it at the end of the current window, and the 24-hour
// reminder for it.
//
// News of a box (shared, file added, comment) is mailed once until the member
// opens it (readAt: when they last did): while a notice of that box waits to be
// mailed, or one was mailed after they last opened it, more news of it adds
// nothing. So one send of twelve files, a long upload, or a member added to a
// busy box makes one mail — they learn there is something new, and see all of
// it when they open the box. The reminder and the expiry warning are their own.
func (s *Service) noticeTx(ctx context.Context, tx *sqldb.Tx, m member.ID, b box.ID, kind Kind, now, readAt time.Time) error {
	set, err := settings(ctx, tx, m)
	if err != nil {
		return err
	}
	if kind != Reminder && kind != Expiring {
		// A reminder follows every new thing, whether or not it was mailed itself.
		if err := job.Enqueue(ctx, tx, now, remindKind, memberRef{Member: m, Box: b, Since: now},
			job.Key(fmt.Sprintf("remind:%s:%s:%d", m, b, now.UnixMilli())), job.At(now.Add(s.o.RemindAfter))); err != nil {
			return err
		}
	}
	if !set[kind] {
		return nil
	}
	if news(kind) {
		var pending int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM notices WHERE member_id = $1 AND box_id = $2
			AND kind IN ('shared', 'file_added', 'comment') AND (mailed_at IS NULL OR mailed_at > $3)`,
			m, b, readMillis(readAt)).Scan(&pending)
		if err != nil {
			return fmt.Errorf("news of %s for %s: %w", b, m, err)
		}
		if pending > 0 {
			return nil // told already, and not opened since
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO notices (id, member_id, box_id, kind, created_at) VALUES ($1, $2, $3, $4, $5)`,
		newID(), m, b, kind, sqldb.Millis(now)); err != nil {
		return fmt.Errorf("record notice for %s: %w", m, err)
	}
	slot := now.Truncate(s.o.Window)
	return job.Enqueue(ctx, tx, now, flushKind, memberRef{Member: m}, job.Key(fmt.Sprintf("flush:%s:%d", m, slot.UnixMilli())),
		job.At(slot.Add(s.o.Window)))
}

// remind sends the 24-hour reminder if what arrived then is still unread; opening
// the box in the meantime cancels it.
func (s *Service) remind(ctx context.Context, j *job.Job) error {
	var ref memberRef
	if err := j.Decode(&ref); err != nil {
		return err
	}
	return s.ifUnread(ctx, ref, ref.Since, Reminder)
}

// expiring warns that a box the member has never read will soon be deleted.
func (s *Service) expiring(ctx context.Context, j *job.Job) error {
	var ref memberRef
	if err := j.Decode(&ref); err != nil {
		return err
	}
	return s.ifUnread(ctx, ref, time.Time{}, Expiring)
}

// ifUnread records kind for ref.Member if they have not opened the box since since
// (at all, when since is zero).
func (s *Service) ifUnread(ctx context.Context, ref memberRef, since time.Time, kind Kind) error {
	_, readers, err := s.boxes.Audience(ctx, ref.Box)
	if errors.Is(err, box.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, r := range readers {
		if r.Member != ref.Member {
			continue
		}
		if !r.ReadAt.IsZero() && (since.IsZero() || !r.ReadAt.Before(since)) {
			return nil // read: nothing to remind of
		}
		now := s.o.Now()
		return s.db.Tx(ctx, func(tx *sqldb.Tx) error { return s.noticeTx(ctx, tx, ref.Member, ref.Box, kind, now, r.ReadAt) })
	}
	return nil // no longer a participant
}

// flush mails a member everything noted since their last mail, as one message.
// Notices are marked in the same transaction that queues the mail, so each is
// mailed exactly once however often flush runs.
func (s *Service) flush(ctx context.Context, j *job.Job) error {
	var ref memberRef
	if err := j.Decode(&ref); err != nil {
		return err
	}
	m, err := s.members.Get(ctx, ref.Member)
	if errors.Is(err, member.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !m.CanExchange() {
		return nil
	}
	now := s.o.Now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE notices SET mailed_at = $1 WHERE member_id = $2 AND mailed_at IS NULL
			RETURNING box_id, kind`, sqldb.Millis(now), m.ID)
		if err != nil {
			return fmt.Errorf("take notices of %s: %w", m.ID, err)
		}
		var items []item
		for rows.Next() {
			var it item
			if err := rows.Scan(&it.Box, &it.Kind); err != nil {
				rows.Close()
				return err
			}
			items = append(items, it)
		}
		rows.Close()
		if len(items) == 0 {
			return nil
		}
		msg := s.compose(i18n.Lang(m.Lang), items)
		msg.To = []string{string(m.Email)}
		return mail.Enqueue(ctx, tx, now, msg)
	})
}

// news reports whether kind is news of a box (as opposed to a reminder of it).
func news(k Kind) bool { return k == Shared || k == FileAdded || k == Comment }

// readMillis is when a member last opened a box, or 0 if never, as stored.
func readMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return sqldb.Millis(t)
}
