package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Passkeys (WebAuthn) serve as a second factor. A ceremony's state lives in the
// database between its two steps, bound to the session that began it, so any
// instance can finish it; it is single-use and expires. Credentials are kept as
// the library's JSON with their id and RP ID in columns of their own.

// Ceremony lifetimes.
const (
	registerCeremonyTTL = 10 * time.Minute
	loginCeremonyTTL    = 5 * time.Minute
)

// Passkey is a registered passkey as its owner sees it.
type Passkey struct {
	ID        string
	Name      string
	CreatedAt time.Time
	LastUsed  time.Time // zero until first used
}

// passkeyUser is a member as the WebAuthn library sees them.
type passkeyUser struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte                         { return u.handle }
func (u *passkeyUser) WebAuthnName() string                       { return u.name }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// loadPasskeyUser reads m's user handle (making one if create) and credentials.
func (s *Service) loadPasskeyUser(ctx context.Context, q sqldb.Querier, m *member.Member, create bool) (*passkeyUser, error) {
	u := &passkeyUser{name: string(m.Email)}
	err := q.QueryRowContext(ctx, `SELECT handle FROM passkey_users WHERE member_id = $1`, m.ID).Scan(&u.handle)
	switch {
	case isNoRows(err) && create:
		u.handle = make([]byte, 32)
		rand.Read(u.handle)
		if _, err := q.ExecContext(ctx, `INSERT INTO passkey_users (member_id, handle) VALUES ($1, $2)`, m.ID, u.handle); err != nil {
			return nil, fmt.Errorf("store passkey user handle: %w", err)
		}
	case isNoRows(err):
	case err != nil:
		return nil, fmt.Errorf("read passkey user handle: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT credential FROM passkeys WHERE member_id = $1 AND rp_id = $2`, m.ID, s.mfa.rpID)
	if err != nil {
		return nil, fmt.Errorf("read passkeys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			return nil, fmt.Errorf("decode passkey: %w", err)
		}
		u.creds = append(u.creds, c)
	}
	return u, rows.Err()
}

func (s *Service) webauthn() (*webauthn.WebAuthn, error) {
	if !s.PasskeysAvailable() {
		return nil, ErrNoPasskeys
	}
	return s.mfa.wa, nil
}

// BeginPasskeyRegistration begins adding a passkey for a's member and returns the
// options for navigator.credentials.create, as JSON.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, a *Actor) ([]byte, error) {
	wa, err := s.webauthn()
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []byte
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, err := s.loadPasskeyUser(ctx, tx, a.Member, true)
		if err != nil {
			return err
		}
		creation, session, err := wa.BeginRegistration(u,
			webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()),
			webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
				ResidentKey:      protocol.ResidentKeyRequirementPreferred,
				UserVerification: protocol.VerificationPreferred,
			}),
			webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
		if err != nil {
			return fmt.Errorf("begin passkey registration: %w", err)
		}
		if err := saveCeremony(ctx, tx, a.Session.Hash, "register", session, now.Add(registerCeremonyTTL)); err != nil {
			return err
		}
		out, err = json.Marshal(creation)
		return err
	})
	return out, err
}

// FinishPasskeyRegistration verifies the response of navigator.credentials.create
// (its JSON) against the ceremony begun on this session and stores the passkey
// under name. If it is the member's first second factor, it returns the ten
// recovery codes, to be shown once. A response that does not verify gives
// ErrBadCode.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, a *Actor, name string, response []byte) (recovery []string, err error) {
	wa, err := s.webauthn()
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if utf8.RuneCountInString(name) > 60 {
		name = string([]rune(name)[:60])
	}
	now := s.now()
	var result error
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		session, ok, err := takeCeremony(ctx, tx, a.Session.Hash, "register", now)
		if err != nil {
			return err
		}
		u, err := s.loadPasskeyUser(ctx, tx, a.Member, true)
		if err != nil {
			return err
		}
		var cred *webauthn.Credential
		if ok {
			if parsed, perr := protocol.ParseCredentialCreationResponseBytes(response); perr == nil {
				cred, err = wa.CreateCredential(u, *session, parsed)
				if err != nil {
					s.log.InfoContext(ctx, "passkey registration refused", "err", err)
					cred = nil
				}
			}
		}
		if cred == nil {
			result = ErrBadCode
			return nil
		}
		had, err := hasFactor(ctx, tx, a.ID())
		if err != nil {
			return err
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		var idb [12]byte
		rand.Read(idb[:])
		_, err = tx.ExecContext(ctx, `INSERT INTO passkeys (id, member_id, rp_id, credential_id, name, credential, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, hex.EncodeToString(idb[:]), a.ID(), s.mfa.rpID,
			base64.RawURLEncoding.EncodeToString(cred.ID), name, string(raw), sqldb.Millis(now))
		if sqldb.IsUniqueViolation(err) {
			result = ErrBadCode // the same authenticator registered twice
			return nil
		}
		if err != nil {
			return fmt.Errorf("store passkey: %w", err)
		}
		if !had {
			if recovery, err = newRecoveryCodes(ctx, tx, a.ID(), now); err != nil {
				return err
			}
		}
		if err := s.recordFactorChange(ctx, tx, now, a.ID(), a.ID(), a.Addr, "auth.factor.add", "passkey"); err != nil {
			return err
		}
		return s.mailFactor(ctx, tx, a.Member, mailPasskeyAdded)
	})
	if err != nil {
		return nil, fmt.Errorf("finish passkey registration: %w", err)
	}
	return recovery, result
}

// BeginPasskeyLogin begins a passkey assertion for a's member — the second factor
// of a partial session, or a re-authentication — and returns the options for
// navigator.credentials.get as JSON; nil if the member has no passkey here.
func (s *Service) BeginPasskeyLogin(ctx context.Context, a *Actor) ([]byte, error) {
	if !s.PasskeysAvailable() {
		return nil, nil
	}
	now := s.now()
	var out []byte
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		u, err := s.loadPasskeyUser(ctx, tx, a.Member, false)
		if err != nil || len(u.creds) == 0 {
			return err
		}
		assertion, session, err := s.mfa.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
		if err != nil {
			return fmt.Errorf("begin passkey login: %w", err)
		}
		if err := saveCeremony(ctx, tx, a.Session.Hash, "login", session, now.Add(loginCeremonyTTL)); err != nil {
			return err
		}
		out, err = json.Marshal(assertion)
		return err
	})
	return out, err
}

// checkPasskey verifies a passkey assertion for id against the login ceremony of
// the session, and records its use (sign count, flags, last use).
func (s *Service) checkPasskey(ctx context.Context, tx *sqldb.Tx, id member.ID, sessionHash string, response []byte, now time.Time) (bool, error) {
	if !s.PasskeysAvailable() || sessionHash == "" {
		return false, nil
	}
	session, ok, err := takeCeremony(ctx, tx, sessionHash, "login", now)
	if err != nil || !ok {
		return false, err
	}
	m, err := s.members.GetTx(ctx, tx, id)
	if err != nil {
		return false, err
	}
	u, err := s.loadPasskeyUser(ctx, tx, m, false)
	if err != nil {
		return false, err
	}
	if len(u.handle) == 0 || !bytes.Equal(u.handle, session.UserID) {
		return false, nil
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return false, nil
	}
	cred, err := s.mfa.wa.ValidateLogin(u, *session, parsed)
	if err != nil {
		s.log.InfoContext(ctx, "passkey assertion refused", "err", err)
		return false, nil
	}
	if cred.Authenticator.CloneWarning {
		s.log.WarnContext(ctx, "passkey sign count went backwards; a cloned authenticator?", "member", id)
		return false, nil
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE member_id = $3 AND rp_id = $4 AND credential_id = $5`,
		string(raw), sqldb.Millis(now), id, s.mfa.rpID, base64.RawURLEncoding.EncodeToString(cred.ID))
	if err != nil {
		return false, fmt.Errorf("record passkey use: %w", err)
	}
	return true, nil
}

// passkeys lists the passkeys of id, newest first.
func (s *Service) passkeys(ctx context.Context, q sqldb.Querier, id member.ID) ([]Passkey, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, created_at, last_used_at FROM passkeys WHERE member_id = $1 ORDER BY created_at DESC, id`, id)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		var p Passkey
		var created, used int64
		if err := rows.Scan(&p.ID, &p.Name, &created, &used); err != nil {
			return nil, err
		}
		p.CreatedAt = sqldb.FromMillis(created)
		if used > 0 {
			p.LastUsed = sqldb.FromMillis(used)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RemovePasskey removes one of a's passkeys; member.ErrNotFound if a has no such
// passkey, ErrLastFactor if it is the last factor while one is required.
func (s *Service) RemovePasskey(ctx context.Context, a *Actor, id string) error {
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM passkeys WHERE id = $1 AND member_id = $2`, id, a.ID()).Scan(&n); err != nil {
			return fmt.Errorf("find passkey: %w", err)
		}
		if n == 0 {
			return member.ErrNotFound
		}
		if err := s.mayRemove(ctx, tx, a.Member, 0, 1); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE id = $1 AND member_id = $2`, id, a.ID()); err != nil {
			return fmt.Errorf("delete passkey: %w", err)
		}
		if err := afterRemoval(ctx, tx, a.ID()); err != nil {
			return err
		}
		if err := s.recordFactorChange(ctx, tx, now, a.ID(), a.ID(), a.Addr, "auth.factor.remove", "passkey"); err != nil {
			return err
		}
		return s.mailFactor(ctx, tx, a.Member, mailPasskeyRemoved)
	})
}

func saveCeremony(ctx context.Context, tx *sqldb.Tx, sessionHash, purpose string, session *webauthn.SessionData, expires time.Time) error {
	raw, err := json.Marshal(session)
	if err != nil {
		return fmt.Errorf("encode passkey ceremony: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO passkey_ceremonies (session_hash, purpose, data, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (session_hash, purpose) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
		sessionHash, purpose, string(raw), sqldb.Millis(expires))
	if err != nil {
		return fmt.Errorf("store passkey ceremony: %w", err)
	}
	return nil
}

// takeCeremony reads and deletes the ceremony of a session: each is used once,
// whatever its outcome. ok is false if there is none or it has expired.
func takeCeremony(ctx context.Context, tx *sqldb.Tx, sessionHash, purpose string, now time.Time) (*webauthn.SessionData, bool, error) {
	var raw string
	var expires int64
	err := tx.QueryRowContext(ctx, `SELECT data, expires_at FROM passkey_ceremonies WHERE session_hash = $1 AND purpose = $2`,
		sessionHash, purpose).Scan(&raw, &expires)
	if isNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read passkey ceremony: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_ceremonies WHERE session_hash = $1 AND purpose = $2`, sessionHash, purpose); err != nil {
		return nil, false, fmt.Errorf("use passkey ceremony: %w", err)
	}
	if !now.Before(sqldb.FromMillis(expires)) {
		return nil, false, nil
	}
	var session webauthn.SessionData
	if err := json.Unmarshal([]byte(raw), &session); err != nil {
		return nil, false, fmt.Errorf("decode passkey ceremony: %w", err)
	}
	return &session, true, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
