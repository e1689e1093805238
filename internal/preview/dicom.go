package preview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/deid"
	"github.com/medbox-jp/medbox/internal/dicom"
)

// extractOptions are what the guard is asked for: a thumbnail of our size and a
// rendered JPEG of the middle frame, then every frame for the viewer.
func extractOptions(maxFrames int) dicom.ExtractOptions {
	return dicom.ExtractOptions{ThumbnailSize: ThumbSize, Frame: -1, MaxViewerFrames: maxFrames}
}

// makeDICOM decodes one DICOM file in the guard's child process and stores its
// thumbnail, rendered frame, viewer frames and (sealed) header summary. Anything
// the child cannot do — garbage, an image too large, a crash, running out of
// memory or time — is "cannot preview".
func (s *Service) makeDICOM(ctx context.Context, f box.File, in *sourceReader, st *counting) (outcome, error) {
	if s.guard == nil {
		return outcome{}, cannot(ReasonCannotPreview, "no DICOM worker")
	}
	var out outcome
	frames := 0
	src := &stoppableReader{r: io.NewSectionReader(in, 0, f.Size)}
	sum, err := s.guard.Extract(ctx, src, extractOptions(0), func(o dicom.Output) error {
		switch o.Kind {
		case dicom.Thumbnail:
			w, h, err := jpegSize(o.Data)
			if err != nil {
				return fmt.Errorf("thumbnail from the DICOM worker: %w", err)
			}
			out.thumb, out.thumbWidth, out.thumbHeight = true, w, h
			return st.put(ctx, thumbKey(f.ID), o.Data)
		case dicom.Rendered:
			out.full = true
			return st.put(ctx, fullKey(f.ID), o.Data)
		case dicom.Viewer:
			if o.Frame != frames {
				return fmt.Errorf("DICOM worker sent frame %d after %d frames", o.Frame, frames)
			}
			frames++
			return st.put(ctx, frameKey(f.ID, 0, o.Frame), o.Data)
		}
		return nil
	})
	src.stop()
	switch {
	case errors.Is(err, dicom.ErrCannotPreview):
		return outcome{}, &unpreviewable{code: ReasonCannotPreview, err: err}
	case err != nil:
		return outcome{}, err
	case frames == 0:
		return outcome{}, cannot(ReasonCannotPreview, "no frames")
	}
	if err := s.putSummaries(ctx, f.ID, st, []dicom.Summary{sum}); err != nil {
		return outcome{}, err
	}
	out.width, out.height, out.frames = sum.Columns, sum.Rows, frames
	out.deidentified = deidentified([]dicom.Summary{sum})
	out.layout = []instanceRef{{0, frames}}
	return out, nil
}

// deidentified reports whether every instance says MedBox de-identified it
// before it was sent (deid.Marked).
func deidentified(sums []dicom.Summary) bool {
	for _, s := range sums {
		if !deid.Marked(s.IdentityRemoved, s.DeidentificationMethod, string(s.PatientName), s.PatientID) {
			return false
		}
	}
	return len(sums) > 0
}

// putSummaries stores the header summaries of a preview's instances, in display
// order, sealed like every other object of the file.
func (s *Service) putSummaries(ctx context.Context, f box.FileID, st *counting, sums []dicom.Summary) error {
	b, err := json.Marshal(sums)
	if err != nil {
		return fmt.Errorf("encode DICOM summaries: %w", err)
	}
	return st.put(ctx, summaryKey(f), b)
}

// stoppableReader lets the guard's feeding goroutine, which may outlive
// Extract, read only until stop: stop waits for a read in progress, and every
// read after it ends the stream. So the file's content is never read by two
// goroutines at once.
type stoppableReader struct {
	mu      sync.Mutex
	r       io.Reader
	stopped bool
	n       int64
}

func (r *stoppableReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return 0, io.EOF
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	return n, err
}

func (r *stoppableReader) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}
