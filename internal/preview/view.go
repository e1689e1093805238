package preview

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"image"
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
	return s.frame(ctx, actor, file, n, false)
}

// ScreenFrame opens the screen-sized rendition of frame n (at most
// dicom.ScreenMaxSide on a side), which the viewer shows while the frame itself
// loads; the frame itself when it is no larger, or when its preview was made
// before there were such renditions.
func (s *Service) ScreenFrame(ctx context.Context, actor member.ID, file box.FileID, n int) (*Object, error) {
	return s.frame(ctx, actor, file, n, true)
}

func (s *Service) frame(ctx context.Context, actor member.ID, file box.FileID, n int, screen bool) (*Object, error) {
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
	if screen {
		obj, err := open(ctx, i, st, screenKey(file, entry, frame))
		if !errors.Is(err, ErrNoPreview) {
			return obj, err
		}
	}
	return open(ctx, i, st, frameKey(file, entry, frame))
}

// regionWorkers bounds the guard children decoding regions at once: each
// decodes a large frame again.
const regionWorkers = 2

// FrameRegion decodes part r of frame n (in the frame's own pixels, at most
// dicom.MaxRegionSide on a side) at full resolution, in the viewer's binary
// form: how the viewer shows a frame larger than dicom.ViewerMaxSide, which it
// has scaled down, when it zooms in. Each call reads the file again in the
// guard; ErrNoFrame when the region is outside the frame or cannot be decoded.
func (s *Service) FrameRegion(ctx context.Context, actor member.ID, file box.FileID, n int, r image.Rectangle) ([]byte, *Info, error) {
	if r.Empty() || r.Min.X < 0 || r.Min.Y < 0 || r.Dx() > dicom.MaxRegionSide || r.Dy() > dicom.MaxRegionSide {
		return nil, nil, ErrNoFrame
	}
	i, _, err := s.readyInfo(ctx, actor, file)
	if err != nil {
		return nil, nil, err
	}
	if !i.IsDICOM() || s.guard == nil {
		return nil, nil, ErrNoPreview
	}
	entry, frame, ok := locate(i.layout, n)
	if !ok {
		return nil, nil, ErrNoFrame
	}
	select {
	case s.regions <- struct{}{}:
		defer func() { <-s.regions }()
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	c, err := s.boxes.OpenContent(ctx, actor, file)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	in := &sourceReader{c: c, size: c.File().Size}
	b, err := s.region(ctx, i.Kind, in, entry, frame, r)
	if err != nil {
		return nil, nil, fmt.Errorf("region of frame %d of %s: %w", n, file, err)
	}
	return b, i, nil
}

// region decodes part r of frame frame of entry entry (of a study; 0 for a
// file) of in, a file of kind. ErrNoFrame when it cannot.
func (s *Service) region(ctx context.Context, kind Kind, in *sourceReader, entry, frame int, r image.Rectangle) ([]byte, error) {
	opt := dicom.ExtractOptions{Frame: frame, Region: [4]int{r.Min.X, r.Min.Y, r.Max.X, r.Max.Y}}
	var out []byte
	emit := func(o dicom.Output) error {
		if o.Kind == dicom.Viewer {
			out = o.Data
		}
		return nil
	}
	var err error
	if kind == Study {
		err = s.entryRegion(ctx, in, in.size, entry, opt, emit)
	} else {
		_, err = s.guard.ExtractFile(ctx, newBlockReader(in, in.size), in.size, opt, emit)
	}
	var bad *entryError
	switch {
	case in.failed() != nil:
		return nil, fmt.Errorf("read file: %w", in.failed())
	case errors.Is(err, dicom.ErrCannotPreview), errors.As(err, &bad), err == nil && out == nil:
		return nil, ErrNoFrame
	}
	return out, err
}

// entryRegion runs the guard on ZIP entry entry of a study.
func (s *Service) entryRegion(ctx context.Context, in *sourceReader, size int64, entry int, opt dicom.ExtractOptions, emit func(dicom.Output) error) error {
	zr, err := zip.NewReader(newBlockReader(in, size), size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return &entryError{err}
	}
	if entry < 0 || entry >= len(zr.File) {
		return &entryError{fmt.Errorf("no entry %d", entry)}
	}
	zf := zr.File[entry]
	n := int64(min(zf.UncompressedSize64, uint64(s.lim.MaxEntryBytes)))
	er := &entryReader{zf: zf}
	defer er.close()
	_, err = s.guard.ExtractFile(ctx, newBlockReader(er, n), n, opt, emit)
	return err
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
