package web

import (
	"net/http"
	"strconv"

	"github.com/medbox-jp/medbox/internal/preview"
)

// pdfView is the page of a PDF the viewer shows — an image rendered in the
// sandbox, never the PDF itself — with links to the pages before and after.
type pdfView struct {
	Page, Pages   int
	Prev, Next    int // 0 when there is none
	Width, Height int
	Capped        bool // later pages were not rendered (preview.Limits.MaxPDFPages)
}

// pdfPageOf reads ?page=N (from 1) for the viewer of a ready PDF preview, or
// returns nil when the PDF has no page images.
func pdfPageOf(r *http.Request, info *preview.Info) *pdfView {
	pages := info.Pages()
	if pages == 0 {
		return nil
	}
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		n = 1
	}
	n = min(n, pages)
	v := &pdfView{Page: n, Pages: pages, Capped: info.Reason == preview.ReasonTooLarge}
	v.Width, v.Height = info.PageSize(n)
	if n > 1 {
		v.Prev = n - 1
	}
	if n < pages {
		v.Next = n + 1
	}
	return v
}
