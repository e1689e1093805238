package member

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Profile is a change to the parts of a member that may change (R-M4). A nil field
// is left as it is. Name, kana, profession and licence number have no field here:
// they are fixed, and the API refuses attempts to send them with ErrFixedIdentity.
type Profile struct {
	Workplace  *string
	Department *string
	Lang       *string
}

// UpdateProfile changes id's workplace, department or language.
func (s *Service) UpdateProfile(ctx context.Context, id ID, p Profile, addr string) (*Member, error) {
	fe := FieldErrors{}
	if p.Workplace != nil {
		*p.Workplace = cleanText(*p.Workplace)
		checkText(fe, "workplace", *p.Workplace, 100)
	}
	if p.Department != nil {
		*p.Department = cleanText(*p.Department)
		if utf8.RuneCountInString(*p.Department) > 100 {
			fe["department"] = "too_long"
		}
	}
	if p.Lang != nil && *p.Lang != "ja" && *p.Lang != "en" {
		fe["lang"] = "choose_one"
	}
	if len(fe) > 0 {
		return nil, fe
	}
	now := s.now()
	var m *Member
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		if m, err = get(ctx, tx, id); err != nil {
			return err
		}
		changed := map[string]string{}
		if p.Workplace != nil && *p.Workplace != m.Workplace {
			m.Workplace, changed["workplace"] = *p.Workplace, "changed"
		}
		if p.Department != nil && *p.Department != m.Department {
			m.Department, changed["department"] = *p.Department, "changed"
		}
		if p.Lang != nil && *p.Lang != m.Lang {
			m.Lang, changed["lang"] = *p.Lang, *p.Lang
		}
		if len(changed) == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE members SET workplace = $1, department = $2, lang = $3, search = $4, updated_at = $5
			WHERE id = $6`, m.Workplace, m.Department, m.Lang, searchText(m), sqldb.Millis(now), id)
		if err != nil {
			return fmt.Errorf("update profile of %s: %w", id, err)
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(id), Action: "member.update_profile", Target: string(id), Addr: addr, Detail: changed})
	})
	return m, err
}

// RequestEmailChange checks the member's password and mails a confirmation link to
// the new address; the address changes only when that link is used. The old address
// is told.
func (s *Service) RequestEmailChange(ctx context.Context, id ID, password, newEmail, addr string) error {
	newEmail = NormalizeEmail(newEmail)
	if !ValidEmail(newEmail) {
		return FieldErrors{"email": "invalid_email"}
	}
	if err := s.CheckPassword(ctx, id, password); err != nil {
		return err
	}
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		m, err := get(ctx, tx, id)
		if err != nil {
			return err
		}
		token, err := s.newLinkData(ctx, tx, "email", id, newEmail, now, ConfirmTTL)
		if err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(id), Action: "member.request_email_change", Target: string(id), Addr: addr}); err != nil {
			return err
		}
		return s.mailTo(ctx, tx, newEmail, i18n.Lang(m.Lang), mailEmailChange, map[string]any{"Link": s.baseURL + "/settings/email?token=" + token})
	})
}

// ConfirmEmailChange uses an e-mail change link. The previous address is mailed that
// the address changed.
func (s *Service) ConfirmEmailChange(ctx context.Context, token, addr string) (*Member, error) {
	now := s.now()
	var m *Member
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		id, newEmail, err := useLink(ctx, tx, "email", token, now)
		if err != nil {
			return err
		}
		if m, err = get(ctx, tx, id); err != nil {
			return err
		}
		old := m
		_, err = tx.ExecContext(ctx, `UPDATE members SET email = $1, updated_at = $2 WHERE id = $3`, newEmail, sqldb.Millis(now), id)
		if sqldb.IsUniqueViolation(err) {
			return FieldErrors{"email": "email_taken"}
		}
		if err != nil {
			return fmt.Errorf("change e-mail of %s: %w", id, err)
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(id), Action: "member.change_email", Target: string(id), Addr: addr}); err != nil {
			return err
		}
		if err := s.mail(ctx, tx, old, mailEmailChanged, nil); err != nil {
			return err
		}
		m.Email = Email(newEmail)
		return nil
	})
	return m, err
}

// CheckPassword reports whether password is id's password: nil, ErrBadPassword, or
// another error.
func (s *Service) CheckPassword(ctx context.Context, id ID, password string) error {
	var hash string
	err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM members WHERE id = $1`, id).Scan(&hash)
	if err != nil {
		return ErrNotFound
	}
	ok, err := s.hasher.Check(ctx, hash, password)
	switch {
	case err != nil:
		return err
	case !ok:
		return ErrBadPassword
	}
	return nil
}

// Credentials returns the member registered with email and whether password is
// theirs. An unknown address costs the same time as a wrong password and returns
// ErrNotFound.
func (s *Service) Credentials(ctx context.Context, email, password string) (*Member, bool, error) {
	var hash string
	m, err := scanMemberHash(s.db.QueryRowContext(ctx, `SELECT `+memberColumns+`, password_hash FROM members WHERE email = $1`,
		NormalizeEmail(email)), &hash)
	if errors.Is(err, ErrNotFound) {
		_, _ = s.hasher.Check(ctx, "", password)
		return nil, false, ErrNotFound
	}
	if err != nil {
		return nil, false, fmt.Errorf("look up credentials: %w", err)
	}
	ok, err := s.hasher.Check(ctx, hash, password)
	return m, ok, err
}

func scanMemberHash(row interface{ Scan(...any) error }, hash *string) (*Member, error) {
	return scanMember(scanWithExtra{row, hash})
}

// scanWithExtra appends one more destination to a Scan, for queries that add a
// column after memberColumns.
type scanWithExtra struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (s scanWithExtra) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra)...) }

// SetPasswordTx stores a new password for id in the caller's transaction and clears
// the demand for one. Callers end the member's other sessions in the same
// transaction.
func (s *Service) SetPasswordTx(ctx context.Context, tx *sqldb.Tx, id ID, password string) error {
	m, err := get(ctx, tx, id)
	if err != nil {
		return err
	}
	if code := CheckPasswordPolicy(password, string(m.Email)); code != "" {
		return FieldErrors{"password": code}
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE members SET password_hash = $1, must_change_password = FALSE, updated_at = $2 WHERE id = $3`,
		hash, sqldb.Millis(s.now()), id)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", id, err)
	}
	return nil
}

// RequirePasswordChangeTx makes id choose a new password at the next sign-in.
func (s *Service) RequirePasswordChangeTx(ctx context.Context, tx *sqldb.Tx, id ID) error {
	_, err := tx.ExecContext(ctx, `UPDATE members SET must_change_password = TRUE, updated_at = $1 WHERE id = $2`, sqldb.Millis(s.now()), id)
	if err != nil {
		return fmt.Errorf("require new password of %s: %w", id, err)
	}
	return nil
}

// RequestReset mails a password-reset link to email if it belongs to a member. It
// returns nil either way, so the answer does not tell who is registered.
func (s *Service) RequestReset(ctx context.Context, email, addr string) error {
	m, err := s.ByEmail(ctx, email)
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err != nil {
			return s.audit.Record(ctx, tx, audit.Event{At: now, Action: "member.request_reset", Addr: addr, Result: audit.Denied,
				Detail: map[string]string{"reason": "unknown_address"}})
		}
		if n, err := s.audit.CountRecent(ctx, tx, string(m.ID), "member.request_reset", now.Add(-time.Hour)); err != nil || n >= 5 {
			return err // at most five reset mails an hour to one address
		}
		token, err := s.newLink(ctx, tx, "reset", m.ID, now, ResetTTL)
		if err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Action: "member.request_reset", Target: string(m.ID), Addr: addr}); err != nil {
			return err
		}
		return s.mail(ctx, tx, m, mailReset, map[string]any{"Link": s.baseURL + "/reset?token=" + token})
	})
}

// MailLockedTx tells m at once, in the caller's transaction, that their account
// is locked until until (after repeated wrong passwords), with a reset link: the
// sign-in page gives the same answer for unknown and locked accounts so that it
// does not tell who is a member, so only the owner's mailbox learns of the lock.
// Resetting the password lifts the lock.
func (s *Service) MailLockedTx(ctx context.Context, tx *sqldb.Tx, id ID, until time.Time) error {
	m, err := s.GetTx(ctx, tx, id)
	if err != nil {
		return err
	}
	now := s.now()
	token, err := s.newLink(ctx, tx, "reset", m.ID, now, ResetTTL)
	if err != nil {
		return err
	}
	return s.mail(ctx, tx, m, mailLocked, map[string]any{"Until": until.In(jst).Format("2006-01-02 15:04"),
		"Link": s.baseURL + "/reset?token=" + token})
}

// UseResetLinkTx consumes a reset link in the caller's transaction and returns whose it was.
func (s *Service) UseResetLinkTx(ctx context.Context, tx *sqldb.Tx, token string) (ID, error) {
	id, _, err := useLink(ctx, tx, "reset", token, s.now())
	return id, err
}

// ResetLinkValid reports whether token is a live reset link, without using it.
func (s *Service) ResetLinkValid(ctx context.Context, token string) bool {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM member_tokens WHERE hash = $1 AND purpose = 'reset' AND expires_at > $2`,
		HashToken(token), sqldb.Millis(s.now())).Scan(&n)
	return err == nil && n == 1
}
