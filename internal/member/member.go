// Package member owns the people of MedBox: registration with a licence proof,
// e-mail confirmation, review by administrators, fixed identity, invitations, the
// directory of colleagues, withdrawal, and passwords.
package member

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// ID identifies a member. It is random and carries no personal data, so audit
// entries that keep it after withdrawal are pseudonymous (R-M7).
type ID string

// String returns the id text.
func (id ID) String() string { return string(id) }

// Role is what a member is for.
type Role string

// Roles.
const (
	RoleMember Role = "member" // a clinician who sends and receives
	RoleAdmin  Role = "admin"  // reviews members; sees no boxes
)

// Status is where a member is in review (R-M3).
type Status string

// Statuses.
const (
	Unconfirmed Status = "unconfirmed" // registered, e-mail not yet confirmed
	Pending     Status = "pending"     // confirmed, waiting for review
	Active      Status = "active"      // approved
	Rejected    Status = "rejected"    // refused at review, with a reason
	Suspended   Status = "suspended"   // stopped by an administrator
)

// Profession is a licensed profession of R-M2.
type Profession string

// Professions, in the order the registration form lists them.
const (
	Doctor        Profession = "doctor"
	Dentist       Profession = "dentist"
	Pharmacist    Profession = "pharmacist"
	Nurse         Profession = "nurse"
	Radiographer  Profession = "radiographer"  // 診療放射線技師
	LabScientist  Profession = "lab_scientist" // 臨床検査技師
	OtherMedical  Profession = "other_medical" // その他医療職
	Administrator Profession = "administrator" // only for admin accounts
)

// Professions lists the professions a member may register with.
var Professions = []Profession{Doctor, Dentist, Pharmacist, Nurse, Radiographer, LabScientist, OtherMedical}

// Email is an e-mail address; it masks itself in logs.
type Email string

// LogValue keeps addresses out of logs: "t***@example.jp".
func (e Email) LogValue() slog.Value { return slog.StringValue(MaskEmail(string(e))) }

// MaskEmail hides the local part of an address but its first letter.
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return "***"
	}
	r := []rune(s[:at])
	return string(r[0]) + "***" + s[at:]
}

// Member is a member as the service sees it.
type Member struct {
	ID                 ID
	Email              Email
	Role               Role
	Status             Status
	Name               string // real name in kanji (固定)
	NameKana           string // (固定)
	Profession         Profession
	LicenseNumber      string // (固定)
	Workplace          string
	Department         string
	Lang               string
	RejectReason       string
	HasProof           bool
	ProofType          string
	InvitedBy          ID
	MustChangePassword bool
	CreatedAt          time.Time
	ApprovedAt         time.Time // zero until approved
}

// Fixed reports whether the member's identity is fixed (R-M4).
func (m *Member) Fixed() bool { return !m.ApprovedAt.IsZero() }

// CanExchange reports whether the member may send, receive, comment and be found.
func (m *Member) CanExchange() bool { return m.Role == RoleMember && m.Status == Active }

// IsAdmin reports whether m is an active administrator.
func (m *Member) IsAdmin() bool { return m.Role == RoleAdmin && m.Status == Active }

// Errors of the service. Callers map them to pages and status codes.
var (
	ErrNotFound      = errors.New("member not found")
	ErrEmailTaken    = errors.New("e-mail address already registered")
	ErrBadToken      = errors.New("link is invalid, used or expired")
	ErrFixedIdentity = errors.New("fixed identity cannot change after approval")
	ErrBadPassword   = errors.New("wrong password")
	ErrWrongState    = errors.New("member is not in a state that allows this")
	ErrTooMany       = errors.New("too many requests")
)

// Service runs member operations on a database.
type Service struct {
	db         *sqldb.DB
	master     *seal.Master
	blobs      *seal.Store
	hasher     *Hasher
	now        func() time.Time
	baseURL    string
	log        *slog.Logger
	audit      *audit.Log
	onWithdraw []func(ctx context.Context, tx *sqldb.Tx, id ID) error
	onApprove  []func(ctx context.Context, tx *sqldb.Tx, m *Member) error
}

// Options configures a Service.
type Options struct {
	DB      *sqldb.DB
	Master  *seal.Master
	Blobs   *seal.Store
	Hasher  *Hasher
	Now     func() time.Time
	BaseURL string // links in mail start with it
	Log     *slog.Logger
	Audit   *audit.Log
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Hasher == nil {
		o.Hasher = NewHasher(DefaultHashParams)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{db: o.DB, master: o.Master, blobs: o.Blobs, hasher: o.Hasher, now: o.Now, baseURL: o.BaseURL, log: o.Log, audit: o.Audit}
}

// OnWithdraw registers fn to run inside the withdrawal transaction of a member, before
// the member row is deleted, to delete what the member owns elsewhere. Only the
// application's wiring registers (its list of effects).
func (s *Service) OnWithdraw(fns ...func(ctx context.Context, tx *sqldb.Tx, id ID) error) {
	s.onWithdraw = append(s.onWithdraw, fns...)
}

// OnApprove registers fn to run inside the transaction that approves a member;
// only the application's wiring registers.
func (s *Service) OnApprove(fn func(ctx context.Context, tx *sqldb.Tx, m *Member) error) {
	s.onApprove = append(s.onApprove, fn)
}

// Hasher returns the password hasher, for sign-in's constant-time path.
func (s *Service) Hasher() *Hasher { return s.hasher }

const memberColumns = `id, email, role, status, name, name_kana, profession, license_number, workplace, department,
	lang, reject_reason, proof_key IS NOT NULL, proof_type, COALESCE(invited_by, ''), must_change_password, created_at, COALESCE(approved_at, 0)`

func scanMember(row interface{ Scan(...any) error }) (*Member, error) {
	var m Member
	var created, approved int64
	err := row.Scan(&m.ID, &m.Email, &m.Role, &m.Status, &m.Name, &m.NameKana, &m.Profession, &m.LicenseNumber,
		&m.Workplace, &m.Department, &m.Lang, &m.RejectReason, &m.HasProof, &m.ProofType, &m.InvitedBy,
		&m.MustChangePassword, &created, &approved)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	m.CreatedAt = sqldb.FromMillis(created)
	if approved != 0 {
		m.ApprovedAt = sqldb.FromMillis(approved)
	}
	return &m, nil
}

// Get returns the member with id. It is for the member themself, sign-in and
// administrators; other members see the directory's Entry instead.
func (s *Service) Get(ctx context.Context, id ID) (*Member, error) {
	return get(ctx, s.db, id)
}

func get(ctx context.Context, q sqldb.Querier, id ID) (*Member, error) {
	m, err := scanMember(q.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members WHERE id = $1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get member %s: %w", id, err)
	}
	return m, err
}

// GetTx is Get inside a transaction.
func (s *Service) GetTx(ctx context.Context, tx *sqldb.Tx, id ID) (*Member, error) {
	return get(ctx, tx, id)
}

// ByEmail returns the member registered with email.
func (s *Service) ByEmail(ctx context.Context, email string) (*Member, error) {
	m, err := scanMember(s.db.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members WHERE email = $1`, NormalizeEmail(email)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("find member by e-mail: %w", err)
	}
	return m, err
}

// HasAdmin reports whether any active administrator exists.
func (s *Service) HasAdmin(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE role = 'admin' AND status = 'active'`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("count administrators: %w", err)
	}
	return n > 0, nil
}

// newID returns a random member id.
func newID() ID { return ID(strings.ToLower(rand.Text())) }

// newToken returns a random link token and the hash that is stored for it.
func newToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the stored form of a link or session token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
