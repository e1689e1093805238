package auth

import (
	"context"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// ResetPassword sets a new password through a mailed reset link. Every session of
// the member ends and any lock is lifted: the link proved who they are.
func (s *Service) ResetPassword(ctx context.Context, token, password, addr string) error {
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		id, err := s.members.UseResetLinkTx(ctx, tx, token)
		if err != nil {
			return err
		}
		if err := s.members.SetPasswordTx(ctx, tx, id, password); err != nil {
			return err
		}
		if err := endSessions(ctx, tx, id, ""); err != nil {
			return err
		}
		if err := clearLoginState(ctx, tx, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(id), Action: "member.reset_password", Target: string(id), Addr: addr})
	})
}

// ChangePassword sets a new password for a signed-in member who knows the current
// one. Their other sessions end; this one stays.
func (s *Service) ChangePassword(ctx context.Context, a *Actor, current, password string) error {
	if err := s.members.CheckPassword(ctx, a.ID(), current); err != nil {
		return err
	}
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := s.members.SetPasswordTx(ctx, tx, a.ID(), password); err != nil {
			return err
		}
		keep := ""
		if a.Session != nil {
			keep = a.Session.Hash
		}
		if err := endSessions(ctx, tx, a.ID(), keep); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(a.ID()), Action: "member.change_password", Target: string(a.ID()), Addr: a.Addr})
	})
}
