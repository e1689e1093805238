package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Passwordless sign-in: a member who has added a passkey signs in with it alone,
// typing nothing — the browser offers the passkeys it holds for this site
// (discoverable credentials) and asks for the fingerprint, face or PIN. The
// passkey is something the member has, verified by something they are or know
// (user verification, required here), so it counts as both factors: the session
// is whole at once. A passkey kept without user verification is refused.

// ErrPasskeyRefused means a passwordless sign-in failed: no ceremony, an unknown
// or cloned passkey, no user verification, or an account that may not sign in.
var ErrPasskeyRefused = errors.New("passkey sign-in refused")

// BeginPasswordless starts a passwordless ceremony and returns the options for
// navigator.credentials.get (JSON) and a ticket that binds the browser to the
// ceremony until it answers (the page keeps it in a short-lived cookie).
func (s *Service) BeginPasswordless(ctx context.Context) (options []byte, ticket string, err error) {
	wa, err := s.webauthn()
	if err != nil {
		return nil, "", err
	}
	assertion, session, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", fmt.Errorf("begin passkey sign-in: %w", err)
	}
	ticket = newSessionToken()
	now := s.now()
	raw, err := json.Marshal(session)
	if err != nil {
		return nil, "", fmt.Errorf("encode passkey sign-in: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO passkey_signins (ticket_hash, data, expires_at) VALUES ($1, $2, $3)`,
		member.HashToken(ticket), string(raw), sqldb.Millis(now.Add(loginCeremonyTTL))); err != nil {
		return nil, "", fmt.Errorf("store passkey sign-in: %w", err)
	}
	options, err = json.Marshal(assertion)
	return options, ticket, err
}

// SignInWithPasskey finishes a passwordless ceremony: it checks the assertion
// against the ceremony of ticket and the passkey the browser chose, and opens a
// whole session for its member, as SignInWith does after a password and a
// second factor. It returns ErrPasskeyRefused for anything that does not hold.
func (s *Service) SignInWithPasskey(ctx context.Context, ticket string, response []byte, at Attempt) (string, *member.Member, error) {
	wa, err := s.webauthn()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	var token string
	var m *member.Member
	var refused error
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		session, ok, err := takeSignin(ctx, tx, ticket, now)
		if err != nil {
			return err
		}
		parsed, perr := protocol.ParseCredentialRequestResponseBytes(response)
		if !ok || perr != nil {
			refused = ErrPasskeyRefused
			return s.record(ctx, tx, now, "", at.Addr, audit.Failed, "passkey_no_ceremony")
		}
		var owner member.ID
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			var id member.ID
			if err := tx.QueryRowContext(ctx, `SELECT member_id FROM passkey_users WHERE handle = $1`, userHandle).Scan(&id); err != nil {
				return nil, fmt.Errorf("unknown passkey user: %w", err)
			}
			mm, err := s.members.GetTx(ctx, tx, id)
			if err != nil {
				return nil, err
			}
			u, err := s.loadPasskeyUser(ctx, tx, mm, false)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(u.handle, userHandle) {
				return nil, errors.New("passkey user handle does not match")
			}
			owner, m = id, mm
			return u, nil
		}
		cred, verr := wa.ValidateDiscoverableLogin(handler, *session, parsed)
		switch {
		case verr != nil:
			s.log.InfoContext(ctx, "passwordless passkey refused", "err", verr)
			refused = ErrPasskeyRefused
			return s.record(ctx, tx, now, owner, at.Addr, audit.Failed, "passkey_refused")
		case !cred.Flags.UserVerified:
			refused = ErrPasskeyRefused
			return s.record(ctx, tx, now, owner, at.Addr, audit.Failed, "passkey_without_user_verification")
		case cred.Authenticator.CloneWarning:
			s.log.WarnContext(ctx, "passkey sign count went backwards; a cloned authenticator?", "member", owner)
			refused = ErrPasskeyRefused
			return s.record(ctx, tx, now, owner, at.Addr, audit.Failed, "passkey_cloned")
		}
		st, err := loginState(ctx, tx, owner)
		if err != nil {
			return err
		}
		switch {
		case st.lockedUntil.After(now):
			refused = ErrPasskeyRefused
			return s.record(ctx, tx, now, owner, at.Addr, audit.Denied, "locked")
		case m.Status == member.Suspended:
			refused = ErrSuspended
			return s.record(ctx, tx, now, owner, at.Addr, audit.Denied, "suspended")
		case m.MustChangePassword:
			refused = ErrNewPassword
			return s.record(ctx, tx, now, owner, at.Addr, audit.Denied, "new_password_required")
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE member_id = $3 AND rp_id = $4 AND credential_id = $5`,
			string(raw), sqldb.Millis(now), owner, s.mfa.rpID, base64.RawURLEncoding.EncodeToString(cred.ID)); err != nil {
			return fmt.Errorf("record passkey use: %w", err)
		}
		if err := s.recordFactorUse(ctx, tx, now, owner, at.Addr, audit.OK, "passkey_passwordless"); err != nil {
			return err
		}
		if token, err = s.openSession(ctx, tx, owner, at.Kind, at.Addr, at.UserAgent, now, false); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(owner), Action: "auth.signin", Target: string(owner), Addr: at.Addr,
			Detail: map[string]string{"reason": string(at.Kind) + "_passkey", "device": DeviceID(at.UserAgent)}})
	})
	if err != nil {
		return "", nil, fmt.Errorf("sign in with a passkey: %w", err)
	}
	if refused != nil {
		return "", nil, refused
	}
	return token, m, nil
}

// takeSignin reads and deletes the ceremony of ticket: each is used once,
// whatever its outcome. ok is false if there is none or it has expired.
func takeSignin(ctx context.Context, tx *sqldb.Tx, ticket string, now time.Time) (*webauthn.SessionData, bool, error) {
	if ticket == "" {
		return nil, false, nil
	}
	hash := member.HashToken(ticket)
	var raw string
	var expires int64
	err := tx.QueryRowContext(ctx, `SELECT data, expires_at FROM passkey_signins WHERE ticket_hash = $1`, hash).Scan(&raw, &expires)
	if isNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read passkey sign-in: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_signins WHERE ticket_hash = $1`, hash); err != nil {
		return nil, false, fmt.Errorf("use passkey sign-in: %w", err)
	}
	if !now.Before(sqldb.FromMillis(expires)) {
		return nil, false, nil
	}
	var session webauthn.SessionData
	if err := json.Unmarshal([]byte(raw), &session); err != nil {
		return nil, false, fmt.Errorf("decode passkey sign-in: %w", err)
	}
	return &session, true, nil
}
