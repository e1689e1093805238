package member

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Confirm consumes an e-mail confirmation link: the member moves from unconfirmed to
// pending review, and administrators are told a review is waiting.
func (s *Service) Confirm(ctx context.Context, token, addr string) (*Member, error) {
	now := s.now()
	var m *Member
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		id, _, err := useLink(ctx, tx, "confirm", token, now)
		if err != nil {
			return err
		}
		if m, err = get(ctx, tx, id); err != nil {
			return err
		}
		if m.Status != Unconfirmed {
			return nil // already confirmed: the link did its work before
		}
		m.Status = Pending
		if _, err := tx.ExecContext(ctx, `UPDATE members SET status = 'pending', confirmed_at = $1, updated_at = $1 WHERE id = $2`,
			sqldb.Millis(now), id); err != nil {
			return fmt.Errorf("confirm member %s: %w", id, err)
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(id), Action: "member.confirm", Target: string(id), Addr: addr}); err != nil {
			return err
		}
		return s.mailAdmins(ctx, tx, mailReviewNeeded, map[string]any{"Link": s.baseURL + "/admin/members?status=pending"})
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Review lists members in status for administrators, oldest first.
func (s *Service) Review(ctx context.Context, status Status) ([]*Member, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+memberColumns+` FROM members WHERE status = $1 AND role = 'member'
		ORDER BY created_at LIMIT 500`, status)
	if err != nil {
		return nil, fmt.Errorf("list %s members: %w", status, err)
	}
	defer rows.Close()
	var out []*Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s members: %w", status, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Approve makes a pending (or suspended, or rejected) member active and fixes their
// identity. The member is mailed, and so is whoever invited them.
func (s *Service) Approve(ctx context.Context, admin ID, id ID, addr string) error {
	return s.review(ctx, admin, id, addr, "member.approve", func(tx *sqldb.Tx, m *Member, now time.Time) error {
		return s.approveTx(ctx, tx, string(admin), m, now)
	})
}

func (s *Service) approveTx(ctx context.Context, tx *sqldb.Tx, actor string, m *Member, now time.Time) error {
	switch m.Status {
	case Pending, Rejected, Suspended:
	default:
		return ErrWrongState
	}
	firstApproval := m.ApprovedAt.IsZero()
	_, err := tx.ExecContext(ctx, `UPDATE members SET status = 'active', reject_reason = '',
		approved_at = COALESCE(approved_at, $1), reviewed_at = $1, reviewed_by = $2, updated_at = $1 WHERE id = $3`,
		sqldb.Millis(now), actor, m.ID)
	if err != nil {
		return err
	}
	m.Status = Active
	if err := s.mail(ctx, tx, m, mailApproved, map[string]any{"Link": s.baseURL + "/login"}); err != nil {
		return err
	}
	if !firstApproval {
		return nil
	}
	if m.InvitedBy != "" {
		inviter, err := get(ctx, tx, m.InvitedBy)
		if err == nil && inviter.CanExchange() {
			if err := s.mail(ctx, tx, inviter, mailInviteeJoined, map[string]any{
				"Name": m.Name, "Link": s.baseURL + "/members?q=" + urlQuery(m.Name)}); err != nil {
				return err
			}
		}
	}
	for _, fn := range s.onApprove {
		if err := fn(ctx, tx, m); err != nil {
			return err
		}
	}
	return nil
}

// MaxReasonLen bounds a rejection reason.
const MaxReasonLen = 1000

// Reject refuses a pending member with a reason that is mailed to them.
func (s *Service) Reject(ctx context.Context, admin ID, id ID, reason, addr string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return FieldErrors{"reason": "required"}
	}
	if utf8.RuneCountInString(reason) > MaxReasonLen {
		return FieldErrors{"reason": "too_long"}
	}
	return s.review(ctx, admin, id, addr, "member.reject", func(tx *sqldb.Tx, m *Member, now time.Time) error {
		if m.Status != Pending {
			return ErrWrongState
		}
		_, err := tx.ExecContext(ctx, `UPDATE members SET status = 'rejected', reject_reason = $1, reviewed_at = $2,
			reviewed_by = $3, updated_at = $2 WHERE id = $4`, reason, sqldb.Millis(now), admin, id)
		if err != nil {
			return err
		}
		return s.mail(ctx, tx, m, mailRejected, map[string]any{"Reason": reason, "Link": s.baseURL + "/login"})
	})
}

// Suspend stops an active member at once: every request re-checks the status, so
// their sessions stop working with this commit.
func (s *Service) Suspend(ctx context.Context, admin ID, id ID, addr string) error {
	return s.review(ctx, admin, id, addr, "member.suspend", func(tx *sqldb.Tx, m *Member, now time.Time) error {
		if m.Status != Active || m.Role != RoleMember {
			return ErrWrongState
		}
		_, err := tx.ExecContext(ctx, `UPDATE members SET status = 'suspended', reviewed_at = $1, reviewed_by = $2,
			updated_at = $1 WHERE id = $3`, sqldb.Millis(now), admin, id)
		if err != nil {
			return err
		}
		return s.mail(ctx, tx, m, mailSuspended, nil)
	})
}

// review runs an administrator's decision on id with its audit record.
func (s *Service) review(ctx context.Context, admin, id ID, addr, action string, fn func(*sqldb.Tx, *Member, time.Time) error) error {
	return s.reviewAs(ctx, string(admin), id, addr, action, func(tx *sqldb.Tx, m *Member, now time.Time) error {
		a, err := get(ctx, tx, admin)
		if err != nil || !a.IsAdmin() {
			return ErrNotFound
		}
		return fn(tx, m, now)
	})
}

// reviewAs runs fn on member id as actor ("cli" from the command line) and records it.
func (s *Service) reviewAs(ctx context.Context, actor string, id ID, addr, action string, fn func(*sqldb.Tx, *Member, time.Time) error) error {
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		m, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		if m.Role != RoleMember {
			return ErrWrongState
		}
		if err := fn(tx, m, now); err != nil {
			return fmt.Errorf("%s %s: %w", action, id, err)
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: actor, Action: action, Target: string(id), Addr: addr})
	})
}

// Proof opens a member's licence proof for an administrator, recording the view.
func (s *Service) Proof(ctx context.Context, admin ID, id ID, addr string) (io.ReadCloser, string, error) {
	now := s.now()
	var keyID, ctype string
	var dk seal.DataKey
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		a, err := get(ctx, tx, admin)
		if err != nil || !a.IsAdmin() {
			return ErrNotFound
		}
		err = tx.QueryRowContext(ctx, `SELECT proof_key, proof_type FROM members WHERE id = $1 AND proof_key IS NOT NULL`, id).Scan(&keyID, &ctype)
		if err != nil {
			return ErrNotFound
		}
		if dk, err = s.master.Key(ctx, tx, seal.KeyID(keyID)); err != nil {
			return fmt.Errorf("open proof of %s: %w", id, err)
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(admin), Action: "member.view_proof", Target: string(id), Addr: addr})
	})
	if err != nil {
		return nil, "", err
	}
	rc, err := s.blobs.With(dk).Get(ctx, proofKey(id), 0, -1)
	if err != nil {
		return nil, "", fmt.Errorf("open proof of %s: %w", id, err)
	}
	return rc, ctype, nil
}

// Admins returns every active administrator, for alerts.
func (s *Service) Admins(ctx context.Context, q sqldb.Querier) ([]*Member, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+memberColumns+` FROM members WHERE role = 'admin' AND status = 'active' ORDER BY created_at`)
	if err != nil {
		return nil, fmt.Errorf("list administrators: %w", err)
	}
	defer rows.Close()
	var out []*Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
