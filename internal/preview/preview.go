package preview

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/dicom"
	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Kind says what a preview shows.
type Kind string

// Kinds of preview.
const (
	Image Kind = "image"
	Video Kind = "video"
	PDF   Kind = "pdf"
	DICOM Kind = "dicom"
	// Study is a ZIP of DICOM files, with or without a DICOMDIR, shown as one
	// stack of frames.
	Study Kind = "study"
)

// Status is how far a preview has come.
type Status string

// States of a preview.
const (
	Pending Status = "pending"
	Ready   Status = "ready"
	Failed  Status = "failed" // "cannot preview — download only"
)

// Reason codes say why a preview failed or what a ready one lacks.
const (
	ReasonCannotPreview = "cannot_preview" // the content could not be decoded
	ReasonTooLarge      = "too_large"      // beyond a limit (pixels, bytes, entries)
	ReasonNoImages      = "no_images"      // a ZIP without DICOM images
	ReasonNoTool        = "no_tool"        // ffmpeg or pdftoppm is not installed: no thumbnail
	ReasonNoPoster      = "no_poster"      // the tool found no frame or page: no thumbnail
	ReasonError         = "error"          // gave up after repeated errors of our own
)

// Errors of the service.
var (
	// ErrNoPreview means the file exists for the caller but has no such preview
	// (none is made for its type, it is not ready, or it failed).
	ErrNoPreview = errors.New("no preview")
	// ErrNoFrame means a frame number outside the preview.
	ErrNoFrame = errors.New("no such frame")
)

// Tools are the external programs previews use when they are installed.
type Tools struct {
	FFmpeg   string // poster frames of video
	Pdftoppm string // pages of PDF
}

// FindTools returns the paths of the tools installed on this machine.
func FindTools() Tools {
	var t Tools
	t.FFmpeg, _ = exec.LookPath("ffmpeg")
	t.Pdftoppm, _ = exec.LookPath("pdftoppm")
	return t
}

// Limits bound the work and memory of one preview. A zero field means its default.
type Limits struct {
	// MaxImagePixels refuses images with more pixels (default 120 M).
	MaxImagePixels int64
	// MaxImageBytes refuses image files read whole into memory (HEIC; default 256 MiB).
	MaxImageBytes int64
	// MaxToolInput is the largest file given to ffmpeg or pdftoppm as a memory
	// file (default 256 MiB); larger videos are streamed, larger PDFs get no pages.
	MaxToolInput int64
	// ToolMemory is the address-space limit of ffmpeg and pdftoppm (default 1 GiB).
	ToolMemory int64
	// ToolTimeout bounds one run of a tool (default 60 s).
	ToolTimeout time.Duration
	// MaxStudyEntries caps the DICOM files read from one ZIP (default 2000).
	MaxStudyEntries int
	// MaxEntryBytes caps one ZIP entry, uncompressed (default 512 MiB).
	MaxEntryBytes int64
	// MaxStudyBytes caps all ZIP entries read, uncompressed (default 4 GiB).
	MaxStudyBytes int64
	// MaxStudyFrames caps the frames stored for one ZIP (default 5000).
	MaxStudyFrames int
	// MaxPDFPages caps the pages of a PDF rendered as images (default 100).
	MaxPDFPages int
}

func (l Limits) withDefaults() Limits {
	l.MaxImagePixels = cmp.Or(l.MaxImagePixels, 120<<20)
	l.MaxImageBytes = cmp.Or(l.MaxImageBytes, 256<<20)
	l.MaxToolInput = cmp.Or(l.MaxToolInput, 256<<20)
	l.ToolMemory = cmp.Or(l.ToolMemory, 1<<30)
	l.ToolTimeout = cmp.Or(l.ToolTimeout, 60*time.Second)
	l.MaxStudyEntries = cmp.Or(l.MaxStudyEntries, 2000)
	l.MaxEntryBytes = cmp.Or(l.MaxEntryBytes, 512<<20)
	l.MaxStudyBytes = cmp.Or(l.MaxStudyBytes, 4<<30)
	l.MaxStudyFrames = cmp.Or(l.MaxStudyFrames, 5000)
	l.MaxPDFPages = cmp.Or(l.MaxPDFPages, 100)
	return l
}

// Options wire a Service.
type Options struct {
	DB    *sqldb.DB
	Boxes *box.Service
	// Guard decodes DICOM in a child process; without one, DICOM previews fail.
	Guard  *dicom.Guard
	Tools  Tools
	Limits Limits
	Now    func() time.Time
	Log    *slog.Logger
	Audit  *audit.Log
}

// Service makes and serves previews.
type Service struct {
	db      *sqldb.DB
	boxes   *box.Service
	guard   *dicom.Guard
	tools   Tools
	lim     Limits
	now     func() time.Time
	log     *slog.Logger
	decode  chan struct{} // bounds in-process image decodes, which hold whole images
	audit   *audit.Log
	regions chan struct{} // bounds FrameRegion's guard children
}

// New returns a Service and hooks it into box, so that every completed file of a
// kind that can be previewed gets a preview job in the transaction that adds it.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Service{db: o.DB, boxes: o.Boxes, guard: o.Guard, tools: o.Tools, lim: o.Limits.withDefaults(), now: o.Now, log: o.Log,
		decode: make(chan struct{}, 1), regions: make(chan struct{}, regionWorkers), audit: o.Audit}
	return s
}

// GenerateKind is the job that makes a file's preview: {"file": id}.
const GenerateKind = "preview.generate"

type generatePayload struct {
	File box.FileID `json:"file"`
}

// kindOf says which preview a file gets, if any.
func kindOf(f box.File) (Kind, bool) {
	switch f.Class {
	case "dicom":
		return DICOM, true
	case "video":
		return Video, true
	case "pdf":
		return PDF, true
	case "zip":
		return Study, true
	case "image":
		if _, ok := imageFormats[f.ContentType]; ok {
			return Image, true
		}
	}
	return "", false
}

// FileAddedTx records a pending preview and queues its job, in the transaction
// that adds the file (box.Service.OnFileAdded).
func (s *Service) FileAddedTx(ctx context.Context, tx *sqldb.Tx, f box.File) error {
	kind, ok := kindOf(f)
	if !ok {
		return nil // other documents are download only
	}
	now := s.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO previews (file_id, box_id, kind, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)`, f.ID, f.Box, kind, Pending, sqldb.Millis(now)); err != nil {
		return fmt.Errorf("record preview of %s: %w", f.ID, err)
	}
	return job.Enqueue(ctx, tx, now, GenerateKind, generatePayload{File: f.ID}, job.Key("preview:"+string(f.ID)), job.MaxAttempts(5))
}

// Register makes q run this package's jobs.
func (s *Service) Register(q *job.Queue) {
	q.Handle(GenerateKind, s.generate)
}
