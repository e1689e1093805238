package member

import (
	"context"
	"fmt"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/erase"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Withdraw deletes a member at their request (R-M7), after checking their password:
// every feature's data of theirs (through OnWithdraw), the proof and its key, their
// sessions and links, unused invitations to their address, and the member row.
// Audit entries keep only the pseudonymous id.
func (s *Service) Withdraw(ctx context.Context, id ID, password, addr string) error {
	if err := s.CheckPassword(ctx, id, password); err != nil {
		return err
	}
	return s.erase(ctx, id, string(id), addr, "member.withdraw")
}

// erase deletes id and everything of theirs in one transaction, then the proof's
// sealed bytes (already unreadable: their key went with the transaction).
func (s *Service) erase(ctx context.Context, id ID, actor, addr, action string) error {
	now := s.now()
	var keyID string
	var email, lang string
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var pk *string
		if err := tx.QueryRowContext(ctx, `SELECT proof_key, email, lang FROM members WHERE id = $1`, id).Scan(&pk, &email, &lang); err != nil {
			return ErrNotFound
		}
		for _, fn := range s.onWithdraw {
			if err := fn(ctx, tx, id); err != nil {
				return fmt.Errorf("withdraw %s: %w", id, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM members WHERE id = $1`, id); err != nil {
			return fmt.Errorf("withdraw %s: delete member: %w", id, err)
		}
		if action == "member.withdraw" {
			// Invitations to the address that were never used hold it too; the one
			// used went with the member row.
			if _, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE email = $1 AND member_id IS NULL`, email); err != nil {
				return fmt.Errorf("withdraw %s: delete invitations to the address: %w", id, err)
			}
		}
		if pk != nil {
			keyID = *pk
			if err := seal.DestroyKey(ctx, tx, seal.KeyID(keyID)); err != nil {
				return fmt.Errorf("withdraw %s: destroy proof key: %w", id, err)
			}
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: actor, Action: action, Target: string(id), Addr: addr}); err != nil {
			return err
		}
		if err := erase.Later(ctx, tx, now); err != nil { // name, kana, workplace, address …
			return err
		}
		if action == "member.withdraw" {
			return s.mailTo(ctx, tx, email, i18n.Lang(lang), mailWithdrawn, nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if keyID != "" {
		if err := s.blobs.Delete(ctx, proofKey(id)); err != nil {
			s.log.WarnContext(ctx, "proof bytes left after withdrawal (their key is destroyed)", "member", id, "err", err)
		}
	}
	return nil
}
