package preview

import (
	"archive/zip"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/dicom"
)

const (
	maxDICOMDIR  = 16 << 20         // a DICOMDIR larger than this is ignored
	studyTimeout = 10 * time.Minute // after this, a study keeps what it has
	studyWorkers = 3                // entries decoded at once, each in its own child
)

// makeStudy previews a ZIP of DICOM files as one stack. The archive is read
// through the file's ReaderAt (its directory, then entry by entry, never
// unpacked to disk); a DICOMDIR, if there is one, says which entries belong to
// the study. Every entry is decoded by the guard like a single file, a few at a
// time. Zip bombs meet bounds on the number of entries, each entry's and the
// total inflated size (reserved from the sizes the headers declare, which
// archive/zip holds the entries to), the frames kept and the time spent; an
// entry that cannot be shown is left out.
func (s *Service) makeStudy(ctx context.Context, f box.File, in *sourceReader, st *counting) (outcome, error) {
	if s.guard == nil {
		return outcome{}, cannot(ReasonCannotPreview, "no DICOM worker")
	}
	zr, err := zip.NewReader(newBlockReader(in, f.Size), f.Size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return outcome{}, cannot(ReasonCannotPreview, "read ZIP: %w", err)
	}
	picked := s.studyEntries(zr)
	type result struct {
		sum    dicom.Summary
		frames int
		ok     bool
	}
	results := make([]result, len(picked))
	var (
		mu         sync.Mutex // guards what follows
		next       int
		reserved   int64
		framesLeft = s.lim.MaxStudyFrames
		skipped    int
		firstErr   error
	)
	deadline := time.Now().Add(studyTimeout)
	// take hands out the next entry within the limits: its index in picked, the
	// bytes it may inflate to and the frames it may keep.
	take := func() (k int, limit int64, maxFrames int, ok bool) {
		mu.Lock()
		defer mu.Unlock()
		for next < len(picked) && firstErr == nil && framesLeft > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
			k, next = next, next+1
			size := int64(min(zr.File[picked[k]].UncompressedSize64, 1<<62))
			if size > s.lim.MaxEntryBytes || reserved+size > s.lim.MaxStudyBytes {
				skipped++
				continue
			}
			reserved += size
			return k, size, framesLeft, true
		}
		return 0, 0, 0, false
	}
	var wg sync.WaitGroup
	for range min(studyWorkers, len(picked)) {
		wg.Go(func() {
			// A reader of its own: block caches are not shared between goroutines.
			wzr, err := zip.NewReader(newBlockReader(in, f.Size), f.Size)
			if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
				mu.Lock()
				firstErr = cmp.Or(firstErr, fmt.Errorf("read ZIP again: %w", err))
				mu.Unlock()
				return
			}
			for {
				k, limit, maxFrames, ok := take()
				if !ok {
					return
				}
				i := picked[k]
				frames := 0
				sum, good, err := s.studyEntry(ctx, wzr.File[i], limit, maxFrames, func(o dicom.Output) error {
					if o.Kind == dicom.ScreenViewer && o.Frame == frames-1 {
						return st.put(ctx, screenKey(f.ID, i, o.Frame), o.Data)
					}
					if o.Kind != dicom.Viewer {
						return nil
					}
					if o.Frame != frames {
						return fmt.Errorf("DICOM worker sent frame %d after %d frames", o.Frame, frames)
					}
					frames++
					return st.put(ctx, frameKey(f.ID, i, o.Frame), o.Data)
				})
				keep := frames
				mu.Lock()
				switch {
				case err != nil:
					firstErr = cmp.Or(firstErr, err)
				case !good || frames == 0:
					skipped++
				default:
					// Entries decoded side by side may together pass the
					// frame limit: the one that crosses it keeps what fits.
					keep = min(frames, max(framesLeft, 0))
					framesLeft -= keep
					results[k] = result{sum: sum, frames: keep, ok: keep > 0}
				}
				mu.Unlock()
				s.dropFrames(ctx, st, f.ID, i, keep, frames)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return outcome{}, firstErr
	}
	var found []int // indices into picked, in archive order
	for k, r := range results {
		if r.ok {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return outcome{}, cannot(ReasonNoImages, "no DICOM image among %d entries (%d skipped)", len(picked), skipped)
	}
	sums := make([]dicom.Summary, len(found))
	for n, k := range found {
		sums[n] = results[k].sum
	}
	var out outcome
	var ordered []dicom.Summary
	for _, series := range dicom.OrderSeries(sums) {
		for _, n := range series {
			k := found[n]
			out.layout = append(out.layout, instanceRef{picked[k], results[k].frames})
			ordered = append(ordered, results[k].sum)
			out.frames += results[k].frames
		}
	}
	if err := s.putSummaries(ctx, f.ID, st, ordered); err != nil {
		return outcome{}, err
	}
	out.deidentified = deidentified(ordered)
	out.width, out.height = ordered[0].Columns, ordered[0].Rows
	if err := s.renderMiddle(ctx, f.ID, st, out.layout, out.frames, &out); err != nil {
		return outcome{}, err
	}
	s.log.InfoContext(ctx, "study read", "file", f.ID, "entries", len(picked), "instances", len(found), "skipped", skipped)
	return out, nil
}

// studyEntry decodes one ZIP entry in the guard, reading at most limit bytes of
// it and keeping at most maxFrames frames. The child reads the entry part by
// part (entryReader), so it never holds the whole entry. ok is false when the
// entry is not DICOM or cannot be shown; err is an error of our own.
func (s *Service) studyEntry(ctx context.Context, zf *zip.File, limit int64, maxFrames int, emit func(dicom.Output) error) (dicom.Summary, bool, error) {
	size := int64(min(zf.UncompressedSize64, uint64(limit)))
	er := &entryReader{zf: zf}
	defer er.close()
	in := newBlockReader(er, size)
	head := make([]byte, 132)
	n, _ := in.ReadAt(head, 0)
	if !dicom.IsDICOM(head[:n]) {
		return dicom.Summary{}, false, nil
	}
	sum, err := s.guard.ExtractFile(ctx, in, size, extractOptions(maxFrames), emit)
	var bad *entryError
	switch {
	case errors.Is(err, dicom.ErrCannotPreview), errors.As(err, &bad):
		return sum, false, nil
	case err != nil:
		return sum, false, err
	}
	return sum, true, nil
}

// entryReader reads a ZIP entry at any offset, inflating it from its start
// again when asked to go back: the guard's child reads a file's header, then
// its frames, nearly always forward. Its errors are entryErrors: the entry's
// content is at fault (a failed read of the stored file itself is noted by the
// sourceReader underneath).
type entryReader struct {
	zf  *zip.File
	rc  io.ReadCloser
	pos int64
}

type entryError struct{ err error }

func (e *entryError) Error() string { return "ZIP entry: " + e.err.Error() }
func (e *entryError) Unwrap() error { return e.err }

func (e *entryReader) ReadAt(p []byte, off int64) (int, error) {
	if e.rc == nil || off < e.pos {
		e.close()
		rc, err := e.zf.Open()
		if err != nil {
			return 0, &entryError{err}
		}
		e.rc, e.pos = rc, 0
	}
	if off > e.pos {
		n, err := io.CopyN(io.Discard, e.rc, off-e.pos)
		e.pos += n
		if err != nil {
			return 0, &entryError{err}
		}
	}
	n, err := io.ReadFull(e.rc, p)
	e.pos += int64(n)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return n, io.EOF
	}
	return n, &entryError{err}
}

func (e *entryReader) close() {
	if e.rc != nil {
		e.rc.Close()
		e.rc = nil
	}
}

// dropFrames deletes frames from..to-1 of an entry (and their screen-sized
// renditions), stored before the frame limit said they could not be kept.
func (s *Service) dropFrames(ctx context.Context, st *counting, f box.FileID, entry, from, to int) {
	for n := from; n < to; n++ {
		for _, key := range []string{frameKey(f, entry, n), screenKey(f, entry, n)} {
			if err := st.Delete(ctx, key); err != nil {
				s.log.WarnContext(ctx, "drop a frame over the limit", "file", f, "err", err)
			}
		}
	}
}

// studyEntries picks the entries to read: those a DICOMDIR references, in its
// order, if the archive has one that references any; else every file entry.
// At most MaxStudyEntries.
func (s *Service) studyEntries(zr *zip.Reader) []int {
	byName := map[string]int{}
	dirIndex := -1
	for i, zf := range zr.File {
		name := cleanEntryName(zf.Name)
		if zf.FileInfo().IsDir() || name == "" {
			continue
		}
		byName[strings.ToUpper(name)] = i
		if strings.EqualFold(path.Base(name), "DICOMDIR") && (dirIndex < 0 || len(name) < len(cleanEntryName(zr.File[dirIndex].Name))) {
			dirIndex = i
		}
	}
	var picked []int
	if dirIndex >= 0 {
		picked = s.referenced(zr.File[dirIndex], byName)
	}
	if len(picked) == 0 {
		for i, zf := range zr.File {
			if i != dirIndex && !zf.FileInfo().IsDir() && cleanEntryName(zf.Name) != "" {
				picked = append(picked, i)
			}
		}
	}
	if len(picked) > s.lim.MaxStudyEntries {
		picked = picked[:s.lim.MaxStudyEntries]
	}
	return picked
}

// referenced reads a DICOMDIR entry and returns the entries it references.
// The DICOMDIR is parsed here, not in the guard: it is small (bounded above),
// and the parser checks every length; a panic is caught and the DICOMDIR ignored.
func (s *Service) referenced(zf *zip.File, byName map[string]int) (picked []int) {
	if zf.UncompressedSize64 > maxDICOMDIR {
		return nil
	}
	rc, err := zf.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxDICOMDIR+1))
	if err != nil || len(data) > maxDICOMDIR {
		return nil
	}
	defer func() {
		if recover() != nil {
			picked = nil
		}
	}()
	recs, err := dicom.ReadDICOMDIR(data)
	if err != nil {
		return nil
	}
	dir := path.Dir(cleanEntryName(zf.Name))
	seen := map[int]bool{}
	for _, id := range dicom.ReferencedFiles(recs) {
		name := path.Join(dir, path.Join(id...))
		if i, ok := byName[strings.ToUpper(name)]; ok && !seen[i] {
			seen[i] = true
			picked = append(picked, i)
		}
	}
	return picked
}

// cleanEntryName normalises a ZIP entry name for matching: forward slashes, no
// leading "./" or "/", cleaned; "" for a name that leaves the archive's root.
func cleanEntryName(name string) string {
	name = path.Clean("/" + strings.ReplaceAll(name, `\`, "/"))
	name = strings.TrimPrefix(name, "/")
	if name == "." || strings.HasPrefix(name, "../") {
		return ""
	}
	return name
}

// renderMiddle makes the thumbnail and the rendered JPEG of a study from its
// middle frame, read back from the store, in the frame's own window.
func (s *Service) renderMiddle(ctx context.Context, f box.FileID, st *counting, layout []instanceRef, total int, out *outcome) error {
	entry, frame, _ := locate(layout, total/2)
	b, err := readAll(ctx, st, frameKey(f, entry, frame), 1<<30)
	if err != nil {
		return fmt.Errorf("read back frame: %w", err)
	}
	var v dicom.ViewerFrame
	if err := v.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("read back frame: %w", err)
	}
	img := renderFrame(&v, dicom.Window{})
	full, err := encodeJPEG(img, 85)
	if err != nil {
		return err
	}
	if err := st.put(ctx, fullKey(f), full); err != nil {
		return err
	}
	tw, th := fit(v.Width, v.Height, ThumbSize)
	thumb, err := encodeJPEG(upright(img, tw, th, 1), 85)
	if err != nil {
		return err
	}
	if err := st.put(ctx, thumbKey(f), thumb); err != nil {
		return err
	}
	out.full, out.thumb, out.thumbWidth, out.thumbHeight = true, true, tw, th
	return nil
}

// locate finds frame n (counted over all instances in display order) in a layout.
func locate(layout []instanceRef, n int) (entry, frame int, ok bool) {
	if n < 0 {
		return 0, 0, false
	}
	for _, r := range layout {
		if n < r[1] {
			return r[0], n, true
		}
		n -= r[1]
	}
	return 0, 0, false
}
