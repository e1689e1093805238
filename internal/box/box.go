// Package box owns the exchanges of MedBox (R-S1–R-S6): boxes with their sender
// and recipients, the files in them, the comment thread, expiry, and each member's
// quota. Who may see what is written into the queries: every read joins the
// participants of the box on the acting member, so to anyone else a box, its files
// and comments answer exactly as an id that does not exist.
package box

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// ID identifies a box.
type ID string

// FileID identifies a file in a box.
type FileID string

// Errors of the service; callers map them to pages and status codes.
var (
	// ErrNotFound is the answer for anything the actor may not see.
	ErrNotFound = errors.New("box not found")
	// ErrNotSender refuses a participant what only the sender may do.
	ErrNotSender = errors.New("only the sender may do this")
	// ErrQuota refuses what would take a member over their quota (R-S2).
	ErrQuota = errors.New("quota exceeded")
	// ErrTooManyFiles refuses a file beyond the per-send file limit.
	ErrTooManyFiles = errors.New("too many files in this box")
	// ErrTooLarge refuses bytes beyond the per-send size limit.
	ErrTooLarge = errors.New("box would exceed the size limit")
)

// Service runs box operations.
type Service struct {
	db      *sqldb.DB
	members *member.Service
	master  *seal.Master
	sealed  *seal.Store
	limits  config.Limits
	now     func() time.Time
	log     *slog.Logger
	audit   *audit.Log
	// onDelete run inside the transaction that deletes a box (expiry, withdrawal),
	// so features above this one (uploads in progress) can let go of what they hold.
	onDelete []func(ctx context.Context, tx *sqldb.Tx, id ID) error
	// reserved report bytes reserved outside files (uploads), for Recount.
	reserved []func(ctx context.Context) (map[member.ID]int64, error)
	// onFileAdded run inside the transaction that adds a completed file (OnFileAdded).
	onFileAdded []func(ctx context.Context, tx *sqldb.Tx, f File) error
}

// OnDelete registers fn to run inside the transaction that deletes a box, before
// its rows go. Only the application's wiring registers (its list of effects).
func (s *Service) OnDelete(fn func(ctx context.Context, tx *sqldb.Tx, id ID) error) {
	s.onDelete = append(s.onDelete, fn)
}

// OnRecount registers fn, which reports bytes reserved outside files, for Recount.
func (s *Service) OnRecount(fn func(ctx context.Context) (map[member.ID]int64, error)) {
	s.reserved = append(s.reserved, fn)
}

// Options wire a Service.
type Options struct {
	DB      *sqldb.DB
	Members *member.Service
	Master  *seal.Master
	Blobs   *seal.Store
	Limits  config.Limits
	Now     func() time.Time
	Log     *slog.Logger
	Audit   *audit.Log
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{db: o.DB, members: o.Members, master: o.Master, sealed: o.Blobs, limits: o.Limits, now: o.Now, log: o.Log, audit: o.Audit}
}

// Limits returns the sending limits.
func (s *Service) Limits() config.Limits { return s.limits }

// Sealed returns the sealed blob store files live in.
func (s *Service) Sealed() *seal.Store { return s.sealed }

// Master returns the master key that wraps file keys.
func (s *Service) Master() *seal.Master { return s.master }

func newID() string { return strings.ToLower(rand.Text()) }

// ChunkKey is where chunk n of a file is stored: the key encodes file and index, and
// sealing derives each chunk's key from it, so chunks cannot be swapped unnoticed.
func ChunkKey(file FileID, n int) string {
	return "f/" + string(file) + "/" + pad8(n)
}

// FilePrefix is the blob prefix under which every object of a file lives.
func FilePrefix(file FileID) string { return "f/" + string(file) + "/" }

// PreviewPrefix is the blob prefix of a file's previews.
func PreviewPrefix(file FileID) string { return "p/" + string(file) + "/" }

func pad8(n int) string {
	const digits = "0123456789"
	b := []byte("00000000")
	for i := 7; i >= 0 && n > 0; i-- {
		b[i] = digits[n%10]
		n /= 10
	}
	return string(b)
}
