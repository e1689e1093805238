package member

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// MaxProofSize bounds the licence proof upload.
const MaxProofSize = 10 << 20

// Link lifetimes.
const (
	ConfirmTTL = 48 * time.Hour
	ResetTTL   = time.Hour
	SetupTTL   = 24 * time.Hour
	InviteTTL  = 14 * 24 * time.Hour
	// UnconfirmedTTL is how long a registration waits for its confirmation before its
	// personal data and proof are deleted.
	UnconfirmedTTL = 7 * 24 * time.Hour
)

// Registration is what a new member submits (R-M2).
type Registration struct {
	Email         string
	Password      string
	Name          string
	NameKana      string
	Profession    Profession
	LicenseNumber string
	Workplace     string
	Department    string
	Lang          string
	Proof         io.Reader // image or PDF of the licence
	ProofName     string
	InviteToken   string // from an invitation link, optional
	Addr          string // client address, for the audit log
}

// FieldErrors maps form fields to the i18n code of what is wrong with them.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	keys := make([]string, 0, len(e))
	for k, v := range e {
		keys = append(keys, k+": "+v)
	}
	sort.Strings(keys)
	return "invalid input: " + strings.Join(keys, ", ")
}

func (r *Registration) clean() {
	r.Email = NormalizeEmail(r.Email)
	r.Name = cleanText(r.Name)
	r.NameKana = cleanText(r.NameKana)
	r.LicenseNumber = strings.ToUpper(cleanText(toHalfWidth(r.LicenseNumber)))
	r.Workplace = cleanText(r.Workplace)
	r.Department = cleanText(r.Department)
}

// validate returns the problems with r, checking every field so a form can show
// them all at once.
func (r *Registration) validate() FieldErrors {
	fe := FieldErrors{}
	if !ValidEmail(r.Email) {
		fe["email"] = "invalid_email"
	}
	if code := CheckPasswordPolicy(r.Password, r.Email); code != "" {
		fe["password"] = code
	}
	checkText(fe, "name", r.Name, 60)
	checkText(fe, "name_kana", r.NameKana, 60)
	if _, ok := fe["name_kana"]; !ok && !isKana(r.NameKana) {
		fe["name_kana"] = "kana_only"
	}
	if !validProfession(r.Profession) {
		fe["profession"] = "choose_one"
	}
	checkText(fe, "license_number", r.LicenseNumber, 30)
	if _, ok := fe["license_number"]; !ok && !validLicense(r.LicenseNumber) {
		fe["license_number"] = "license_format"
	}
	checkText(fe, "workplace", r.Workplace, 100)
	if utf8.RuneCountInString(r.Department) > 100 {
		fe["department"] = "too_long"
	}
	if r.Proof == nil {
		fe["proof"] = "required"
	}
	return fe
}

func checkText(fe FieldErrors, field, v string, max int) {
	switch {
	case v == "":
		fe[field] = "required"
	case utf8.RuneCountInString(v) > max:
		fe[field] = "too_long"
	}
}

func validProfession(p Profession) bool {
	for _, q := range Professions {
		if p == q {
			return true
		}
	}
	return false
}

// isKana accepts hiragana, katakana (full and half width), the long-vowel mark,
// the middle dot and spaces. The sound marks are listed: Unicode puts the
// standalone ones (゛゜) and the half-width ones (ﾞﾟ, as in ﾔﾏﾀﾞ) in no kana
// script.
func isKana(s string) bool {
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
		case r == 'ー' || r == '・' || r == ' ' || r == '　' || r == 'ｰ' || r == '･' || r == '゛' || r == '゜' || r == 'ﾞ' || r == 'ﾟ':
		default:
			return false
		}
	}
	return true
}

// validLicense accepts the digits and letters of Japanese licence registration
// numbers (医籍登録番号 and the like), with hyphens.
func validLicense(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r == '-' || r == ' ') {
			return false
		}
	}
	return strings.ContainsAny(s, "0123456789")
}

func toHalfWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '！' && r <= '～' {
			return r - '！' + '!'
		}
		if r == '　' {
			return ' '
		}
		return r
	}, s)
}

// Register records a new member as unconfirmed, stores the proof sealed, and mails
// the confirmation link. It answers the same whether or not the address is already
// registered, so registration cannot be used to find out who is a member: a known
// address is mailed a notice instead of a second account being made.
func (s *Service) Register(ctx context.Context, r Registration) (*Member, error) {
	r.clean()
	if fe := r.validate(); len(fe) > 0 {
		return nil, fe
	}
	proof, kind, err := sniffProof(r.Proof, r.ProofName)
	if err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, r.Password)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	now := s.now()
	if existing, err := s.ByEmail(ctx, r.Email); err == nil {
		return nil, s.registeredAgain(ctx, existing, r.Addr)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	m := &Member{
		ID: newID(), Email: Email(r.Email), Role: RoleMember, Status: Unconfirmed,
		Name: r.Name, NameKana: r.NameKana, Profession: r.Profession, LicenseNumber: r.LicenseNumber,
		Workplace: r.Workplace, Department: r.Department, Lang: langOf(r.Lang), CreatedAt: now,
		HasProof: true, ProofType: kind.MIME,
	}
	var stored blob.Store // set once the proof is written, to remove it if the transaction fails
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var inv *Invitation
		if r.InviteToken != "" {
			if inv, err = invitationByToken(ctx, tx, r.InviteToken, now); err != nil {
				return err
			}
			m.InvitedBy = inv.Inviter
		}
		keyID, dk, err := s.master.NewKey(ctx, tx, now)
		if err != nil {
			return fmt.Errorf("register: proof key: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO members (id, email, password_hash, role, status, name, name_kana, profession,
			license_number, workplace, department, search, lang, proof_key, proof_type, invited_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, NULLIF($16, ''), $17, $17)`,
			m.ID, m.Email, hash, m.Role, m.Status, m.Name, m.NameKana, m.Profession, m.LicenseNumber, m.Workplace,
			m.Department, searchText(m), m.Lang, keyID, kind.MIME, m.InvitedBy, sqldb.Millis(now))
		if sqldb.IsUniqueViolation(err) {
			return ErrEmailTaken // a registration for the same address won a race
		}
		if err != nil {
			return fmt.Errorf("register: insert member: %w", err)
		}
		if inv != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE invitations SET member_id = $1 WHERE id = $2`, m.ID, inv.ID); err != nil {
				return fmt.Errorf("register: link invitation: %w", err)
			}
		}
		stored = s.blobs.With(dk)
		if err := stored.Put(ctx, proofKey(m.ID), proof, -1); err != nil {
			return fmt.Errorf("register: store proof: %w", err)
		}
		n, err := stored.Stat(ctx, proofKey(m.ID))
		if err != nil {
			return fmt.Errorf("register: proof size: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET proof_size = $1 WHERE id = $2`, n, m.ID); err != nil {
			return err
		}
		token, err := s.newLink(ctx, tx, "confirm", m.ID, now, ConfirmTTL)
		if err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(m.ID), Action: "member.register", Target: string(m.ID),
			Addr: r.Addr, Detail: map[string]string{"profession": string(m.Profession), "invited": fmt.Sprint(inv != nil)}}); err != nil {
			return err
		}
		return s.mail(ctx, tx, m, mailConfirm, map[string]any{"Link": s.baseURL + "/confirm?token=" + token})
	})
	if err != nil {
		if stored != nil {
			_ = stored.Delete(context.WithoutCancel(ctx), proofKey(m.ID))
		}
		if errors.Is(err, ErrEmailTaken) {
			return nil, nil
		}
		return nil, err
	}
	return m, nil
}

// registeredAgain handles a registration for an address that already has an
// account: an unconfirmed account gets a fresh confirmation link; any other is
// told that someone tried to register with it.
func (s *Service) registeredAgain(ctx context.Context, m *Member, addr string) error {
	now := s.now()
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		if err := s.audit.Record(ctx, tx, audit.Event{At: now, Actor: "", Action: "member.register", Target: string(m.ID),
			Addr: addr, Result: audit.Denied, Detail: map[string]string{"reason": "address_registered"}}); err != nil {
			return err
		}
		if m.Status == Unconfirmed {
			token, err := s.newLink(ctx, tx, "confirm", m.ID, now, ConfirmTTL)
			if err != nil {
				return err
			}
			return s.mail(ctx, tx, m, mailConfirm, map[string]any{"Link": s.baseURL + "/confirm?token=" + token})
		}
		return s.mail(ctx, tx, m, mailAlreadyRegistered, map[string]any{"Link": s.baseURL + "/login"})
	})
}

// sniffProof checks by content that the proof is an image or a PDF and returns a
// reader that still yields every byte, capped at MaxProofSize.
func sniffProof(r io.Reader, name string) (io.Reader, filetype.Kind, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, MaxProofSize+1), 8192)
	head, err := br.Peek(8192)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, filetype.Kind{}, fmt.Errorf("read proof: %w", err)
	}
	if len(head) == 0 {
		return nil, filetype.Kind{}, FieldErrors{"proof": "required"}
	}
	kind, err := filetype.Detect(bytes.NewReader(head), int64(len(head)), name)
	if err != nil || (kind.Class != filetype.Image && kind.Class != filetype.PDF) {
		return nil, filetype.Kind{}, FieldErrors{"proof": "proof_type"}
	}
	return &cappedReader{r: br, left: MaxProofSize}, kind, nil
}

// ErrProofTooLarge is returned while storing a proof over MaxProofSize.
var ErrProofTooLarge = FieldErrors{"proof": "proof_size"}

type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, ErrProofTooLarge
	}
	return n, err
}

func proofKey(id ID) string { return "proofs/" + string(id) }

func langOf(s string) string {
	if strings.HasPrefix(strings.ToLower(s), "en") {
		return "en"
	}
	return "ja"
}

// searchText is what the directory searches: name, kana, workplace and department,
// folded by SearchKey and separated so a query cannot match across two fields.
func searchText(m *Member) string {
	return strings.Join([]string{SearchKey(m.Name), SearchKey(m.NameKana), SearchKey(m.Workplace), SearchKey(m.Department)}, "\x1f")
}
