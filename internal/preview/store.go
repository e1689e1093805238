package preview

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/medbox-jp/medbox/internal/audit"
	"io"
	"time"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Info is the state of a file's preview, as its participants see it.
type Info struct {
	File        box.FileID
	Box         box.ID
	Kind        Kind
	Status      Status
	Reason      string // a Reason code, or ""
	Thumb       bool   // a thumbnail JPEG exists
	Full        bool   // a full-size JPEG exists (rendition, poster, first page, rendered frame)
	Width       int    // of the full-size image, or of a DICOM frame
	Height      int
	ThumbWidth  int
	ThumbHeight int
	Frames      int // DICOM frames, over all instances; PDF pages rendered
	UpdatedAt   time.Time

	createdAt   time.Time
	contentType string
	keyID       seal.KeyID
	layout      []instanceRef // DICOM: the instances; PDF: the width and height of each page
}

// Ready reports whether the preview can be shown.
func (i *Info) Ready() bool { return i.Status == Ready }

// ContentType returns the file's content type.
func (i *Info) ContentType() string { return i.contentType }

// IsDICOM reports whether the preview is a DICOM file or study.
func (i *Info) IsDICOM() bool { return i.Kind == DICOM || i.Kind == Study }

// instanceRef is one instance of a DICOM preview: its position in the file (0
// for a single file, the ZIP entry for a study) and its number of frames.
type instanceRef [2]int

// Keys of a preview's objects, under box.PreviewPrefix.
func thumbKey(f box.FileID) string   { return box.PreviewPrefix(f) + "thumb.jpg" }
func fullKey(f box.FileID) string    { return box.PreviewPrefix(f) + "full.jpg" }
func summaryKey(f box.FileID) string { return box.PreviewPrefix(f) + "summary.json" }
func frameKey(f box.FileID, entry, frame int) string {
	return fmt.Sprintf("%sv/%05d-%06d", box.PreviewPrefix(f), entry, frame)
}

// screenKey is the screen-sized rendition of a frame larger than
// dicom.ScreenMaxSide; smaller frames have none.
func screenKey(f box.FileID, entry, frame int) string {
	return fmt.Sprintf("%sw/%05d-%06d", box.PreviewPrefix(f), entry, frame)
}

const infoColumns = `pv.file_id, pv.box_id, pv.kind, pv.status, pv.reason, pv.thumb, pv.full_image, pv.width, pv.height,
	pv.thumb_width, pv.thumb_height, pv.frames, pv.layout, pv.created_at, pv.updated_at, f.content_type, f.key_id`

func scanInfo(row interface{ Scan(...any) error }) (*Info, error) {
	var i Info
	var layout string
	var created, updated int64
	err := row.Scan(&i.File, &i.Box, &i.Kind, &i.Status, &i.Reason, &i.Thumb, &i.Full, &i.Width, &i.Height,
		&i.ThumbWidth, &i.ThumbHeight, &i.Frames, &layout, &created, &updated, &i.contentType, &i.keyID)
	if err != nil {
		return nil, err
	}
	i.createdAt, i.UpdatedAt = sqldb.FromMillis(created), sqldb.FromMillis(updated)
	if layout != "" {
		if err := json.Unmarshal([]byte(layout), &i.layout); err != nil {
			return nil, fmt.Errorf("preview %s: layout: %w", i.File, err)
		}
	}
	return &i, nil
}

// Get returns the preview of file as actor sees it: box.ErrNotFound when actor
// takes no part in the file's box (or there is no such file), ErrNoPreview when
// the file has none.
func (s *Service) Get(ctx context.Context, actor member.ID, file box.FileID) (*Info, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+infoColumns+` FROM files f
		JOIN participants p ON p.box_id = f.box_id AND p.member_id = $1
		JOIN previews pv ON pv.file_id = f.id
		WHERE f.id = $2`, actor, file)
	i, err := scanInfo(row)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.boxes.File(ctx, actor, file); err != nil {
			return nil, err // not visible: exactly as a file that does not exist
		}
		return nil, ErrNoPreview
	}
	if err != nil {
		return nil, fmt.Errorf("get preview of %s: %w", file, err)
	}
	return i, nil
}

// ForBox returns the previews of the files of box id, for actor, who must take
// part in it (otherwise the map is empty).
func (s *Service) ForBox(ctx context.Context, actor member.ID, id box.ID) (map[box.FileID]Info, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+infoColumns+` FROM previews pv
		JOIN participants p ON p.box_id = pv.box_id AND p.member_id = $1
		JOIN files f ON f.id = pv.file_id
		WHERE pv.box_id = $2`, actor, id)
	if err != nil {
		return nil, fmt.Errorf("list previews of box %s: %w", id, err)
	}
	defer rows.Close()
	out := map[box.FileID]Info{}
	for rows.Next() {
		i, err := scanInfo(rows)
		if err != nil {
			return nil, err
		}
		out[i.File] = *i
	}
	return out, rows.Err()
}

// store returns the blob store that opens the preview's objects with its file's
// data key. A key destroyed a moment ago (the file was deleted) is box.ErrNotFound.
func (s *Service) store(ctx context.Context, i *Info) (blob.Store, error) {
	dk, err := s.boxes.Master().Key(ctx, s.db, i.keyID)
	if errors.Is(err, seal.ErrKeyNotFound) {
		return nil, box.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("preview of %s: %w", i.File, err)
	}
	return s.boxes.Sealed().With(dk), nil
}

// readAll reads a whole stored object of at most limit bytes.
func readAll(ctx context.Context, st blob.Store, key string, limit int64) ([]byte, error) {
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", key, limit)
	}
	return b, nil
}

// outcome is what a preview job found, written to the previews row.
type outcome struct {
	status                  Status
	reason                  string
	thumb, full             bool
	width, height           int
	thumbWidth, thumbHeight int
	frames                  int
	layout                  []instanceRef
	bytes                   int64
	deidentified            bool // DICOM the sender de-identified before sending (deid.Marked)
}

// finish records the outcome of a job. It reports false when the row is gone:
// the file was deleted while its preview was being made.
// A file its sender de-identified before sending gets "file.deidentified" in
// the box's history, in the same transaction, in the sender's name: the
// recipients see that it was done, not what was removed.
func (s *Service) finish(ctx context.Context, f box.File, o outcome) (bool, error) {
	file := f.ID
	layout := ""
	if len(o.layout) > 0 {
		b, err := json.Marshal(o.layout)
		if err != nil {
			return false, err
		}
		layout = string(b)
	}
	found := false
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE previews SET status = $1, reason = $2, thumb = $3, full_image = $4, width = $5, height = $6,
		thumb_width = $7, thumb_height = $8, frames = $9, layout = $10, bytes = $11, updated_at = $12 WHERE file_id = $13`,
			o.status, o.reason, o.thumb, o.full, o.width, o.height, o.thumbWidth, o.thumbHeight, o.frames, layout, o.bytes,
			sqldb.Millis(now), file)
		if err != nil {
			return fmt.Errorf("record preview of %s: %w", file, err)
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		found = true
		if o.status != Ready || !o.deidentified {
			return nil
		}
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(f.Sender), Action: "file.deidentified",
			Target: string(file), Box: string(f.Box), Detail: map[string]string{"kind": "dicom"}})
	})
	return found, err
}
