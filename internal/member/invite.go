package member

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// MaxInvitesPerDay bounds how many invitations one member sends in 24 hours, so the
// service cannot be used to send mail to strangers in bulk.
const MaxInvitesPerDay = 20

// Invitation is a member's invitation of a colleague (R-M5).
type Invitation struct {
	ID          string
	Inviter     ID
	InviterName string
	Email       string
	Message     string
	ExpiresAt   time.Time
}

// Invite mails email a registration link from inviter. The answer is the same
// whether or not the address already belongs to a member, so invitations cannot
// probe who is registered; a member is sent a reminder to sign in instead.
func (s *Service) Invite(ctx context.Context, inviter ID, email, message, addr string) error {
	email = NormalizeEmail(email)
	message = strings.TrimSpace(message)
	fe := FieldErrors{}
	if !ValidEmail(email) {
		fe["email"] = "invalid_email"
	}
	if utf8.RuneCountInString(message) > 500 {
		fe["message"] = "too_long"
	}
	if len(fe) > 0 {
		return fe
	}
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		who, err := get(ctx, tx, inviter)
		if err != nil || !who.CanExchange() {
			return ErrNotFound
		}
		var sent int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM invitations WHERE inviter_id = $1 AND created_at > $2`,
			inviter, sqldb.Millis(now.Add(-24*time.Hour))).Scan(&sent); err != nil {
			return fmt.Errorf("count invitations: %w", err)
		}
		if sent >= MaxInvitesPerDay {
			return ErrTooMany
		}
		token, hash := newToken()
		id := strings.ToLower(newID().String())
		if _, err := tx.ExecContext(ctx, `INSERT INTO invitations (id, inviter_id, email, message, token_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, inviter, email, message, hash, sqldb.Millis(now), sqldb.Millis(now.Add(InviteTTL))); err != nil {
			return fmt.Errorf("store invitation: %w", err)
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(inviter), Action: "member.invite", Target: id, Addr: addr}); err != nil {
			return err
		}
		var existing int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE email = $1`, email).Scan(&existing); err != nil {
			return err
		}
		data := map[string]any{"Inviter": who.Name, "Link": s.baseURL + "/register?invite=" + token}
		if existing > 0 {
			data["Link"] = s.baseURL + "/login"
			return s.mailTo(ctx, tx, email, i18n.Lang(who.Lang), mailInviteMember, data)
		}
		return s.mailTo(ctx, tx, email, i18n.Lang(who.Lang), mailInvite, data)
	})
}

// InvitationByToken returns the live invitation behind a link, for prefilling the
// registration form.
func (s *Service) InvitationByToken(ctx context.Context, token string) (*Invitation, error) {
	return invitationByToken(ctx, s.db, token, s.now())
}

func invitationByToken(ctx context.Context, q sqldb.Querier, token string, now time.Time) (*Invitation, error) {
	var inv Invitation
	var expires int64
	err := q.QueryRowContext(ctx, `SELECT i.id, i.inviter_id, m.name, i.email, i.message, i.expires_at
		FROM invitations i JOIN members m ON m.id = i.inviter_id
		WHERE i.token_hash = $1 AND i.member_id IS NULL AND m.status = 'active'`, HashToken(token)).
		Scan(&inv.ID, &inv.Inviter, &inv.InviterName, &inv.Email, &inv.Message, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrBadToken
	case err != nil:
		return nil, fmt.Errorf("find invitation: %w", err)
	case expires <= sqldb.Millis(now):
		return nil, ErrBadToken
	}
	inv.ExpiresAt = sqldb.FromMillis(expires)
	return &inv, nil
}
