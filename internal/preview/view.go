package preview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/dicom"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Object is a stored preview object, opened for reading.
type Object struct {
	io.ReadCloser
	Size int64
	Info *Info
}

// readyInfo returns the preview of file for actor if it is ready.
func (s *Service) readyInfo(ctx context.Context, actor member.ID, file box.FileID) (*Info, blob.Store, error) {
	i, err := s.Get(ctx, actor, file)
	if err != nil {
		return nil, nil, err
	}
	if !i.Ready() {
		return i, nil, ErrNoPreview
	}
	st, err := s.store(ctx, i)
	if err != nil {
		return nil, nil, err
	}
	return i, st, nil
}

// open opens one object of a ready preview.
func open(ctx context.Context, i *Info, st blob.Store, key string) (*Object, error) {
	size, err := st.Stat(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, ErrNoPreview
	}
	if err != nil {
		return nil, fmt.Errorf("preview of %s: %w", i.File, err)
	}
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("preview of %s: %w", i.File, err)
	}
	return &Object{ReadCloser: rc, Size: size, Info: i}, nil
}

// Image opens a preview's JPEG: the thumbnail, or with full the full-size image
// (an image's rendition, a video's poster, a PDF's first page, a DICOM file's
// rendered frame). ErrNoPreview when there is none; the caller shows an image
// that browsers display natively from the file itself.
func (s *Service) Image(ctx context.Context, actor member.ID, file box.FileID, full bool) (*Object, error) {
	i, st, err := s.readyInfo(ctx, actor, file)
	if err != nil {
		return nil, err
	}
	key, have := thumbKey(file), i.Thumb
	if full {
		key, have = fullKey(file), i.Full
	}
	if !have {
		return nil, ErrNoPreview
	}
	return open(ctx, i, st, key)
}

// Frame opens frame n of a DICOM preview, counted over its instances in display
// order, in the viewer's binary form (dicom.ViewerFrame.MarshalBinary).
func (s *Service) Frame(ctx context.Context, actor member.ID, file box.FileID, n int) (*Object, error) {
	i, st, err := s.readyInfo(ctx, actor, file)
	if err != nil {
		return nil, err
	}
	if !i.IsDICOM() {
		return nil, ErrNoPreview
	}
	entry, frame, ok := locate(i.layout, n)
	if !ok {
		return nil, ErrNoFrame
	}
	return open(ctx, i, st, frameKey(file, entry, frame))
}

// RenderFrame renders frame n with window w (the frame's own when w.Width is 0)
// as a JPEG: the viewer's fallback when the browser cannot draw the frame itself.
func (s *Service) RenderFrame(ctx context.Context, actor member.ID, file box.FileID, n int, w dicom.Window) ([]byte, *Info, error) {
	obj, err := s.Frame(ctx, actor, file, n)
	if err != nil {
		return nil, nil, err
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, obj.Size))
	if err != nil {
		return nil, nil, fmt.Errorf("frame %d of %s: %w", n, file, err)
	}
	var v dicom.ViewerFrame
	if err := v.UnmarshalBinary(b); err != nil {
		return nil, nil, fmt.Errorf("frame %d of %s: %w", n, file, err)
	}
	jpg, err := encodeJPEG(renderFrame(&v, w), 88)
	return jpg, obj.Info, err
}

// viewWindow is how long one look at a file counts as one view in the audit log.
const viewWindow = 5 * time.Minute

// RecordView writes "file.preview" to the audit log (R-X5) for actor looking at
// the preview of file: once per person, file and five minutes, so that a viewer
// fetching a hundred frames makes one entry, not a hundred.
func (s *Service) RecordView(ctx context.Context, actor member.ID, i *Info, addr string) error {
	now := s.now()
	recent, err := s.audit.List(ctx, audit.Filter{Actor: string(actor), Box: string(i.Box), Action: "file.preview", Since: now.Add(-viewWindow)})
	if err != nil {
		return err
	}
	for _, e := range recent {
		if e.Target == string(i.File) {
			return nil
		}
	}
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		return s.audit.Record(ctx, tx, audit.Event{At: now, Actor: string(actor), Action: "file.preview", Target: string(i.File),
			Box: string(i.Box), Addr: addr, Detail: map[string]string{"kind": string(i.Kind)}})
	})
}
