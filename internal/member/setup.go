package member

import (
	"context"
	"fmt"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// NewAdmin describes an administrator account.
type NewAdmin struct {
	Email    string
	Password string
	Name     string
	Lang     string
}

// SetupLink returns a one-time URL that lets its holder create the first
// administrator. Only a hash of its token is stored.
func (s *Service) SetupLink(ctx context.Context) (string, error) {
	var token string
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		// One live setup link at a time: a new one replaces the old.
		if _, err := tx.ExecContext(ctx, `DELETE FROM member_tokens WHERE purpose = 'setup'`); err != nil {
			return err
		}
		var err error
		token, err = s.newLink(ctx, tx, "setup", "", s.now(), SetupTTL)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("make setup link: %w", err)
	}
	return s.baseURL + "/setup?token=" + token, nil
}

// SetupLinkValid reports whether token is a live setup link.
func (s *Service) SetupLinkValid(ctx context.Context, token string) bool {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM member_tokens WHERE hash = $1 AND purpose = 'setup' AND expires_at > $2`,
		HashToken(token), sqldb.Millis(s.now())).Scan(&n)
	return err == nil && n == 1
}

// CompleteSetup uses a setup link to create an administrator.
func (s *Service) CompleteSetup(ctx context.Context, token string, a NewAdmin, addr string) (*Member, error) {
	return s.createAdmin(ctx, a, addr, "", func(tx *sqldb.Tx) error {
		_, _, err := useLink(ctx, tx, "setup", token, s.now())
		return err
	})
}

// CreateAdmin creates an administrator directly, for `medbox admin create-admin`.
func (s *Service) CreateAdmin(ctx context.Context, a NewAdmin) (*Member, error) {
	return s.createAdmin(ctx, a, "", "cli", nil)
}

func (s *Service) createAdmin(ctx context.Context, a NewAdmin, addr, actor string, check func(*sqldb.Tx) error) (*Member, error) {
	a.Email = NormalizeEmail(a.Email)
	a.Name = cleanText(a.Name)
	fe := FieldErrors{}
	if !ValidEmail(a.Email) {
		fe["email"] = "invalid_email"
	}
	if code := CheckPasswordPolicy(a.Password, a.Email); code != "" {
		fe["password"] = code
	}
	checkText(fe, "name", a.Name, 60)
	if len(fe) > 0 {
		return nil, fe
	}
	hash, err := s.hasher.Hash(ctx, a.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	m := &Member{ID: newID(), Email: Email(a.Email), Role: RoleAdmin, Status: Active, Name: a.Name,
		Profession: Administrator, Lang: langOf(a.Lang), CreatedAt: now, ApprovedAt: now}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO members (id, email, password_hash, role, status, name, name_kana, profession,
			license_number, workplace, department, search, lang, created_at, updated_at, confirmed_at, approved_at)
			VALUES ($1, $2, $3, 'admin', 'active', $4, '', $5, '', '', '', '', $6, $7, $7, $7, $7)`,
			m.ID, m.Email, hash, m.Name, m.Profession, m.Lang, sqldb.Millis(now))
		if sqldb.IsUniqueViolation(err) {
			return FieldErrors{"email": "email_taken"}
		}
		if err != nil {
			return fmt.Errorf("create administrator: %w", err)
		}
		if actor == "" {
			actor = string(m.ID)
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: actor, Action: "member.create_admin", Target: string(m.ID), Addr: addr})
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ApproveByEmail approves a pending member from the command line
// (`medbox admin approve --email`); the audit log names the actor "cli".
func (s *Service) ApproveByEmail(ctx context.Context, email string) (*Member, error) {
	m, err := s.ByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	err = s.reviewAs(ctx, "cli", m.ID, "", "member.approve", func(tx *sqldb.Tx, m *Member, now time.Time) error {
		return s.approveTx(ctx, tx, "cli", m, now)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, m.ID)
}
