package auth

import (
	"context"
	"fmt"

	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Mails about second factors; each kind is a pair of messages "mail.<kind>.subject"
// and "mail.<kind>.body" in i18n/locales/mfa.*.json. They name no secret.
const (
	mailTOTPAdded       = "mfa_totp_added"
	mailTOTPRemoved     = "mfa_totp_removed"
	mailPasskeyAdded    = "mfa_passkey_added"   // #nosec G101 -- an i18n message key, not a credential
	mailPasskeyRemoved  = "mfa_passkey_removed" // #nosec G101 -- an i18n message key, not a credential
	mailRecoveryRenewed = "mfa_recovery_renewed"
	mailFactorsReset    = "mfa_reset"
)

// mailFactor tells m, in the caller's transaction, that their second factors
// changed, with a link to review them.
func (s *Service) mailFactor(ctx context.Context, tx *sqldb.Tx, m *member.Member, kind string) error {
	link := "/settings/2fa"
	if s.mfa != nil {
		link = s.mfa.baseURL + link
	}
	msg := mail.Compose(i18n.Lang(m.Lang), "mail."+kind, map[string]any{"Link": link})
	msg.To = []string{string(m.Email)}
	if err := mail.Enqueue(ctx, tx, s.now(), msg); err != nil {
		return fmt.Errorf("queue %s mail: %w", kind, err)
	}
	return nil
}
