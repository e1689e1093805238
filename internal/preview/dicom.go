package preview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
// thumbnail, rendered frame, viewer frames (with a screen-sized one for large
// frames) and (sealed) header summary. The child reads the file part by part
// through in, so it never holds the whole file. Anything the child cannot do —
// garbage, an image too large, a crash, running out of memory or time — is
// "cannot preview".
func (s *Service) makeDICOM(ctx context.Context, f box.File, in *sourceReader, st *counting) (outcome, error) {
	if s.guard == nil {
		return outcome{}, cannot(ReasonCannotPreview, "no DICOM worker")
	}
	var out outcome
	frames := 0
	sum, err := s.guard.ExtractFile(ctx, newBlockReader(in, f.Size), f.Size, extractOptions(0), func(o dicom.Output) error {
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
		case dicom.ScreenViewer:
			if o.Frame != frames-1 {
				return fmt.Errorf("DICOM worker sent a screen frame %d after %d frames", o.Frame, frames)
			}
			return st.put(ctx, screenKey(f.ID, 0, o.Frame), o.Data)
		}
		return nil
	})
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
