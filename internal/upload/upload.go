// Package upload is the resumable, parallel upload protocol (R-T1, ARCHITECTURE.md
// §5): an upload is created with its declared size, its fixed-size chunks arrive as
// idempotent PUTs in any order and in parallel — each sealed straight into the blob
// store under a key bound to the file and the chunk index — and complete checks
// that every chunk is there, decides the type by content, and turns the upload into
// a file in its box. Abort and the 24-hour sweep give everything back.
package upload

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// ID identifies an upload.
type ID string

// Errors of the protocol; the API maps them to status codes.
var (
	ErrNotFound    = errors.New("upload not found")
	ErrBadChunk    = errors.New("no such chunk")
	ErrChunkSize   = errors.New("chunk has the wrong length")
	ErrDigest      = errors.New("chunk does not match its Content-Digest")
	ErrIncomplete  = errors.New("chunks are missing")
	ErrEmpty       = errors.New("empty files cannot be sent")
	ErrBadName     = errors.New("file name is empty or too long")
	ErrUnavailable = errors.New("upload is being finished or removed")
	// ErrChunkBusy says another request is writing the chunk; retry shortly.
	ErrChunkBusy = errors.New("chunk is being written by another request")
	// ErrChunkConflict refuses different bytes for a chunk already acknowledged.
	ErrChunkConflict = errors.New("chunk was already received with other bytes")
)

// AbandonAfter is how long an upload may sit untouched before the sweep removes it.
const AbandonAfter = 24 * time.Hour

// The upload hosts take chunks at one fixed path, naming the upload and the chunk
// in headers, so that a browser's CORS preflight for a host is asked once and
// cached (Access-Control-Max-Age), not paid again for every chunk's URL.
const (
	GrantedChunkPath = "/api/v1/chunk" // PUT, with IDHeader, ChunkHeader and auth.GrantHeader
	IDHeader         = "Medbox-Upload"
	ChunkHeader      = "Medbox-Chunk"
)

// Upload is an upload in progress.
type Upload struct {
	ID           ID
	File         box.FileID
	Box          box.ID
	Member       member.ID
	Name         string
	Size         int64
	DeclaredType string
	KeyID        seal.KeyID
	ChunkSize    int64
	ChunkCount   int
	CreatedAt    time.Time
	Received     []int // chunk numbers stored so far, ascending
}

// ChunkLen is the exact length chunk n must have.
func (u *Upload) ChunkLen(n int) int64 {
	if n == u.ChunkCount-1 {
		return u.Size - int64(n)*u.ChunkSize
	}
	return u.ChunkSize
}

// Service runs uploads.
type Service struct {
	db    *sqldb.DB
	boxes *box.Service
	now   func() time.Time
	log   *slog.Logger
	audit *audit.Log
	chunk int64
	// writing are this instance's chunk writes, which a newer request for the
	// same chunk supersedes.
	writing writers
}

// Options wire a Service.
type Options struct {
	DB        *sqldb.DB
	Boxes     *box.Service
	ChunkSize int64 // files are cut into chunks of this size
	Now       func() time.Time
	Log       *slog.Logger
	Audit     *audit.Log
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{db: o.DB, boxes: o.Boxes, now: o.Now, log: o.Log, chunk: o.ChunkSize, audit: o.Audit}
}

func newID() string { return strings.ToLower(rand.Text()) }

const uploadColumns = `id, file_id, box_id, member_id, name, size, declared_type, key_id, chunk_size, chunk_count, created_at`

func scanUpload(row interface{ Scan(...any) error }) (*Upload, error) {
	var u Upload
	var created int64
	err := row.Scan(&u.ID, &u.File, &u.Box, &u.Member, &u.Name, &u.Size, &u.DeclaredType, &u.KeyID, &u.ChunkSize, &u.ChunkCount, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.CreatedAt = sqldb.FromMillis(created)
	u.Name = filetype.DisplayName(u.Name) // as stored before SafeName removed invisible characters
	return &u, nil
}

// get returns upload id if it belongs to who: only its creator may touch an
// upload; to anyone else it does not exist.
func get(ctx context.Context, q sqldb.Querier, who member.ID, id ID) (*Upload, error) {
	u, err := scanUpload(q.QueryRowContext(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE id = $1 AND member_id = $2`, id, who))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get upload %s: %w", id, err)
	}
	return u, err
}

// cleanName keeps what a person typed as the file's name, minus anything that
// could act as a path or a control character.
func cleanName(name string) (string, error) {
	if utf8.RuneCountInString(name) > 1000 {
		return "", ErrBadName
	}
	return box.SafeName(strings.TrimSpace(name)), nil
}
