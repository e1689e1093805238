package member

import (
	"context"
	"fmt"
	"time"

	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Kinds of member mail; each is a pair of messages "mail.<kind>.subject" and
// "mail.<kind>.body" in locales/member.*.json.
const (
	mailConfirm           = "confirm"
	mailAlreadyRegistered = "already_registered"
	mailReset             = "reset"
	mailLocked            = "locked"
	mailApproved          = "approved"
	mailRejected          = "rejected"
	mailSuspended         = "suspended"
	mailInvite            = "invite"
	mailInviteMember      = "invite_member"
	mailInviteeJoined     = "invitee_joined"
	mailReviewNeeded      = "review_needed"
	mailEmailChange       = "email_change"
	mailEmailChanged      = "email_changed"
	mailWithdrawn         = "withdrawn"
)

// mail queues a mail of kind to m in the caller's transaction.
func (s *Service) mail(ctx context.Context, tx *sqldb.Tx, m *Member, kind string, data map[string]any) error {
	return s.mailTo(ctx, tx, string(m.Email), i18n.Lang(m.Lang), kind, data)
}

func (s *Service) mailTo(ctx context.Context, tx *sqldb.Tx, to string, lang i18n.Lang, kind string, data map[string]any) error {
	msg := mail.Compose(lang, "mail."+kind, data)
	msg.To = []string{to}
	if err := mail.Enqueue(ctx, tx, s.now(), msg); err != nil {
		return fmt.Errorf("queue %s mail: %w", kind, err)
	}
	return nil
}

// mailAdmins queues kind to every active administrator.
func (s *Service) mailAdmins(ctx context.Context, tx *sqldb.Tx, kind string, data map[string]any) error {
	rows, err := tx.QueryContext(ctx, `SELECT email, lang FROM members WHERE role = 'admin' AND status = 'active'`)
	if err != nil {
		return fmt.Errorf("list administrators: %w", err)
	}
	type admin struct{ email, lang string }
	var admins []admin
	for rows.Next() {
		var a admin
		if err := rows.Scan(&a.email, &a.lang); err != nil {
			rows.Close()
			return err
		}
		admins = append(admins, a)
	}
	rows.Close()
	for _, a := range admins {
		if err := s.mailTo(ctx, tx, a.email, i18n.Lang(a.lang), kind, data); err != nil {
			return err
		}
	}
	return nil
}

// jst is the time zone of the times in mail: members read them in Japan.
var jst = time.FixedZone("JST", 9*3600)
