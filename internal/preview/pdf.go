package preview

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/member"
)

// A PDF is shown only as images of its pages, rendered by pdftoppm in the
// sandbox (runTool): the browser never opens the PDF itself, so no script in
// it can run in a MedBox origin, and the original is served as a download only.

const (
	pdfPageSize  = 1600    // longest edge of a rendered page: sharp on a phone 375 px wide at 3x
	pdfBatch     = 8       // pages per run of pdftoppm
	maxPageJPEG  = 4 << 20 // what one page may take
	pdfJPEGoptQ  = "quality=80"
	pdfFirstPage = 1
)

// pageKey is where page n (from 1) of a PDF preview is kept; the first page is
// also the preview's full-size image, from which the thumbnail is made.
func pageKey(f box.FileID, n int) string {
	if n == pdfFirstPage {
		return fullKey(f)
	}
	return fmt.Sprintf("%spage/%05d.jpg", box.PreviewPrefix(f), n)
}

// makePDF renders the pages of a PDF, up to MaxPDFPages, pdfBatch pages per run
// of pdftoppm. A PDF with no page that renders (or too large to hand to the
// tool) is still Ready, without pages: it can be downloaded. A run that fails
// after the first pages ends the document there, as a run past its last page
// does. The page sizes are kept in the layout, the count in frames; reason
// ReasonTooLarge says that later pages were left out.
func (s *Service) makePDF(ctx context.Context, f box.File, in *sourceReader, st *counting) (outcome, error) {
	if s.tools.Pdftoppm == "" {
		return outcome{reason: ReasonNoTool}, nil
	}
	if f.Size > s.lim.MaxToolInput { // a PDF needs random access: no streaming
		return outcome{reason: ReasonNoPoster}, nil
	}
	var o outcome
	var first []byte
	for from := pdfFirstPage; from <= s.lim.MaxPDFPages; from += pdfBatch {
		to := min(from+pdfBatch-1, s.lim.MaxPDFPages+1) // one past the cap says whether there is more
		pages, err := s.renderPages(ctx, f, in, from, to)
		var u *unpreviewable
		switch {
		case errors.As(err, &u):
			s.log.InfoContext(ctx, "PDF pages end", "file", f.ID, "from", from, "err", err)
			return s.finishPDF(ctx, f, o, first, st)
		case err != nil:
			return outcome{}, err
		}
		for i, page := range pages {
			n := from + i
			if n > s.lim.MaxPDFPages {
				o.reason = ReasonTooLarge
				break
			}
			w, h, err := jpegSize(page)
			if err != nil {
				return s.finishPDF(ctx, f, o, first, st)
			}
			if err := st.put(ctx, pageKey(f.ID, n), page); err != nil {
				return outcome{}, err
			}
			if n == pdfFirstPage {
				first = page
			}
			o.layout = append(o.layout, instanceRef{w, h})
		}
		if len(pages) < to-from+1 {
			break // the last page
		}
	}
	return s.finishPDF(ctx, f, o, first, st)
}

// finishPDF makes the thumbnail of the first page and completes the outcome.
func (s *Service) finishPDF(ctx context.Context, f box.File, o outcome, first []byte, st *counting) (outcome, error) {
	if len(o.layout) == 0 {
		return outcome{reason: ReasonNoPoster}, nil
	}
	thumb, tw, th, err := thumbnailOf(first)
	if err != nil {
		return outcome{reason: ReasonNoPoster}, nil
	}
	if err := st.put(ctx, thumbKey(f.ID), thumb); err != nil {
		return outcome{}, err
	}
	o.thumb, o.full, o.thumbWidth, o.thumbHeight = true, true, tw, th
	o.width, o.height = o.layout[0][0], o.layout[0][1]
	o.frames = len(o.layout)
	return o, nil
}

// renderPages runs pdftoppm once for pages from to to (it stops at the last
// page) and returns one JPEG per page.
func (s *Service) renderPages(ctx context.Context, f box.File, in *sourceReader, from, to int) ([][]byte, error) {
	args := func(bool) []string {
		return []string{"-f", strconv.Itoa(from), "-l", strconv.Itoa(to), "-scale-to", strconv.Itoa(pdfPageSize),
			"-jpeg", "-jpegopt", pdfJPEGoptQ, "/dev/fd/3"}
	}
	out, err := s.runTool(ctx, s.tools.Pdftoppm, toolInput{r: in, size: f.Size}, args, int64(to-from+1)*maxPageJPEG)
	if err != nil {
		return nil, err
	}
	pages, err := splitJPEGs(out)
	if err != nil {
		return pages, cannot(ReasonCannotPreview, "pages %d-%d: %w", from, to, err)
	}
	return pages, nil
}

// splitJPEGs cuts the JPEGs pdftoppm writes one after another.
func splitJPEGs(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		n, err := jpegLen(b)
		if err != nil {
			return out, err
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, nil
}

// jpegLen returns the length of the JPEG at the start of b, following its
// segments, and through each scan's entropy-coded data to the next marker
// (where 0xFF is followed by 0x00, or is a restart marker, it is data).
func jpegLen(b []byte) (int, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 0, errors.New("not a JPEG")
	}
	for i := 2; ; {
		if i+1 >= len(b) {
			return 0, errors.New("JPEG cut short")
		}
		if b[i] != 0xFF {
			return 0, fmt.Errorf("no JPEG marker at %d", i)
		}
		m := b[i+1]
		switch {
		case m == 0xFF: // fill
			i++
			continue
		case m == 0xD9: // end of image
			return i + 2, nil
		case m == 0x01 || 0xD0 <= m && m <= 0xD7:
			i += 2
			continue
		}
		if i+4 > len(b) {
			return 0, errors.New("JPEG cut short")
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		if n < 2 {
			return 0, fmt.Errorf("JPEG segment of length %d", n)
		}
		i += 2 + n
		if m != 0xDA { // not start of scan
			continue
		}
		for ; i+1 < len(b); i++ {
			if b[i] == 0xFF && b[i+1] != 0x00 && (b[i+1] < 0xD0 || b[i+1] > 0xD7) {
				break
			}
		}
	}
}

// Pages returns how many pages of a PDF preview can be shown.
func (i *Info) Pages() int {
	switch {
	case i.Kind != PDF || !i.Full:
		return 0
	case i.Frames == 0:
		return 1 // made before every page was rendered: the first page only
	}
	return i.Frames
}

// PageSize returns the size of page n (from 1) of a PDF preview.
func (i *Info) PageSize(n int) (w, h int) {
	if n >= 1 && n <= len(i.layout) && i.Kind == PDF {
		return i.layout[n-1][0], i.layout[n-1][1]
	}
	return i.Width, i.Height
}

// Page opens page n (from 1) of a PDF preview, a JPEG.
func (s *Service) Page(ctx context.Context, actor member.ID, file box.FileID, n int) (*Object, error) {
	i, st, err := s.readyInfo(ctx, actor, file)
	if err != nil {
		return nil, err
	}
	if i.Kind != PDF {
		return nil, ErrNoPreview
	}
	if n < 1 || n > i.Pages() {
		return nil, ErrNoFrame
	}
	return open(ctx, i, st, pageKey(file, n))
}
