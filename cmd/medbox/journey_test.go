package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// canvasInfo reads the viewer's canvas back: whether it shows an image (its
// pixels are not all one colour) and a fingerprint that changes when the image
// does (the red channel, weighted by position).
const canvasInfo = `(() => {
  const c = document.getElementById('dv-canvas');
  if (!c || c.hidden || c.width < 2 || c.height < 2) return {shown: false, sum: 0};
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let lo = 255, hi = 0, sum = 0;
  for (let i = 0; i < d.length; i += 4) {
    const v = d[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    sum += v * (1 + (i >> 2) % 7);
  }
  return {shown: hi - lo > 16, sum};
})()`

type canvasState struct {
	Shown bool
	Sum   float64
}

// TestJourneyEveryEngine is the main journey of a clinician, the same steps in
// Chromium, Firefox and WebKit at a phone's width, and at a PC's in Chromium
// and Firefox: sign in, start an exchange on 新しく送る, upload a study, a photo
// and a PDF on its page, read the study in the viewer (by finger and by
// keyboard), look at the photo and the PDF, and write a comment. Every page
// passes axe-core with nothing serious or critical, can be used by Tab alone,
// and breaks neither its CSP nor its scripts.
func TestJourneyEveryEngine(t *testing.T) {
	for _, e := range engines {
		for _, vp := range []viewport{phone, desktop} {
			if e.name == "webkit" && vp == desktop {
				continue // WebKit stands for the iPhone here; hospital PCs run Chromium-based browsers and Firefox
			}
			t.Run(e.name+"/"+vp.name, func(t *testing.T) {
				t.Parallel() // each its own instance and browser; most of a journey is waiting for pages
				start := time.Now()
				journey(t, e, vp)
				t.Logf("%s: the journey at %d px took %v", e.name, vp.width, time.Since(start).Round(100*time.Millisecond))
			})
		}
	}
}

func journey(t *testing.T, e engine, vp viewport) {
	in := startInstance(t, instanceOptions{})
	newExchange(t, in)
	dir := t.TempDir()
	study := writeTemp(t, dir, "mr_10frame.dcm", dicomFile(t, "mr_10frame_native.dcm"))
	photo := writeTemp(t, dir, "患部.jpg", jpegWithOrientation(t, halves(600, 400), 6))
	letter := writeTemp(t, dir, "紹介状.pdf", previewPDF())
	p := openPage(t, e, vp)

	// Sign in.
	p.open(in.url + "/login")
	p.accessible("login")
	p.everyControlByKeyboard("login")
	p.typeInto(`input[name=email]`, "sender@a.example.jp")
	p.typeInto(`input[name=password]`, senderPassword)
	p.follow(`form[action="/login"] button`, "/")
	p.open(in.url + "/boxes")
	p.accessible("inbox")

	// 新しく送る: the message first, then a colleague found with Enter and added.
	p.follow(`a[href="/boxes/new"]`, "/boxes/new")
	p.accessible("new box")
	msg := "造影CTです。ご確認ください。"
	p.typeInto(`textarea[name=message]`, msg)
	p.typeInto(`input[name=q]`, "受")
	p.markOld()
	p.press("Enter")
	p.fresh("search", "/boxes/new")
	p.follow(`button[name=add]`, "/boxes/new")
	if got := js[string](p, `document.querySelector('textarea[name=message]').value`); got != msg {
		t.Errorf("the message reads %q after adding a colleague, want %q", got, msg)
	}
	p.accessible("new box, colleague chosen")
	p.everyControlByKeyboard("new box")
	p.screenshot("new-box")
	p.fitsWidth("new box")
	p.follow(`#new-box button.primary`, "/boxes/")
	boxURL := in.url + strings.SplitN(p.location(), "?", 2)[0]

	// Upload on the box page.
	p.accessible("box")
	p.waitFor("the drop zone", `!document.getElementById('dropzone').hidden`, 10*time.Second)
	// As a file is dragged over it (the look of :hover too).
	js[bool](p, `document.getElementById('dropzone').classList.add('dragging') || true`)
	p.waitFor("the drop zone's drag-over colour", `getComputedStyle(document.getElementById('dropzone')).backgroundColor === 'rgb(210, 235, 237)'`, 5*time.Second)
	p.accessible("box, a file dragged over the drop zone")
	js[bool](p, `document.getElementById('dropzone').classList.remove('dragging') || true`)
	p.setFiles("#file-input", study, photo, letter)
	p.waitFor("uploads done", `!document.getElementById('upload-done').hidden`, 90*time.Second)
	p.screenshot("uploaded")
	p.clean("box page after the upload")
	in.previewsMade()
	p.open(boxURL)
	p.waitFor("thumbnails", `[...document.querySelectorAll('#files img')].filter(i => i.complete && i.naturalWidth > 0).length === 3`, 20*time.Second)
	p.accessible("box with files")
	p.everyControlByKeyboard("box")
	p.screenshot("box-files")
	p.fitsWidth("box page")
	files := js[map[string]string](p, `Object.fromEntries([...document.querySelectorAll('#files a.file-name')].map(a => [a.textContent.trim(), a.getAttribute('href')]))`)

	// The study: the first image is on the canvas, not merely announced.
	p.follow(fmt.Sprintf(`a.file-name[href=%q]`, files["mr_10frame.dcm"]), "/files/")
	p.waitFor("first image", `document.getElementById('viewer')?.dataset.firstImageMs !== undefined`, 20*time.Second)
	// Read back at once: in WebKit the first resize once cleared the canvas
	// right after the first draw, while "first image" was already recorded.
	if c := js[canvasState](p, canvasInfo); !c.Shown {
		p.fail("first image", fmt.Errorf("the canvas is blank when the viewer has recorded its first image"))
	}
	p.screenshot("viewer")
	p.fitsWidth("viewer")
	p.accessible("viewer")
	p.everyControlByKeyboard("viewer")

	// A drag across the image changes the window, and the pixels with it.
	before := js[canvasState](p, canvasInfo)
	ww0 := js[string](p, `document.getElementById('viewer').dataset.ww`)
	st := js[struct{ X, Y, W, H float64 }](p, `(() => { const s = document.getElementById('dv-stage'); s.scrollIntoView({block: 'center'}); const r = s.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; })()`)
	cx, cy := st.X+st.W/2, st.Y+st.H/2
	p.drag(cx-60, cy-40, cx+90, cy+50, 12)
	p.waitFor("window dragged", fmt.Sprintf(`document.getElementById('viewer').dataset.ww !== %q`, ww0), 5*time.Second)
	p.waitFor("redrawn after the drag", fmt.Sprintf(`(s => s.shown && s.sum !== %v)(%s)`, before.Sum, canvasInfo), 5*time.Second)
	p.screenshot("viewer-dragged")

	// The same by keyboard: Tab to the image, arrows for the window, PageDown
	// for the next image.
	p.viewerByKeyboard()
	p.clean("viewer")

	// The photo and the PDF.
	p.open(in.url + files["患部.jpg"])
	p.waitFor("photo shown", `(i => i && i.complete && i.naturalHeight > i.naturalWidth)(document.querySelector('#viewer-image img'))`, 10*time.Second)
	p.accessible("photo")
	p.screenshot("photo")
	p.fitsWidth("photo")
	p.open(in.url + files["紹介状.pdf"])
	p.waitFor("PDF page shown", `(i => i && i.complete && i.naturalWidth > 0)(document.querySelector('#viewer-pdf img'))`, 10*time.Second)
	p.accessible("pdf")
	p.everyControlByKeyboard("pdf")
	p.screenshot("pdf")
	p.fitsWidth("pdf")
	p.clean("pdf")

	// A comment.
	p.open(boxURL)
	comment := "拝見しました。明日お電話します。"
	p.typeInto("#comment-body", comment)
	p.follow(`#comments button[type=submit]`, "/boxes/")
	p.waitFor("the comment", fmt.Sprintf(`[...document.querySelectorAll('#comments .comment-body')].some(c => c.textContent === %q)`, comment), 10*time.Second)
	p.accessible("box with a comment")
	p.screenshot("commented")
	p.clean("box page")
	t.Logf("%s: axe-core on %d pages: %s", e.name, p.pages, axeCounts(p.axeLog))
}

// viewerByKeyboard reaches the image with Tab alone, changes the window with the
// arrow keys and the image with PageDown/PageUp, and checks that the pixels
// follow.
func (p *page) viewerByKeyboard() {
	p.t.Helper()
	js[any](p, `document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0)`)
	for i := 0; i < 30 && !js[bool](p, `document.activeElement?.id === 'dv-stage'`); i++ {
		p.press("Tab")
	}
	if !js[bool](p, `document.activeElement?.id === 'dv-stage'`) {
		p.fail("reach the image with Tab", fmt.Errorf("focus is on %s", js[string](p, `document.activeElement?.outerHTML.slice(0, 80) || 'nothing'`)))
	}
	ds := func(k string) string { return js[string](p, `document.getElementById('viewer').dataset.`+k) }
	ww, wc := ds("ww"), ds("wc")
	before := js[canvasState](p, canvasInfo)
	p.press("ArrowRight")
	p.waitFor("wider window by keyboard", fmt.Sprintf(`Number(document.getElementById('viewer').dataset.ww) > %s`, ww), 5*time.Second)
	p.press("ArrowUp")
	p.waitFor("level raised by keyboard", fmt.Sprintf(`Number(document.getElementById('viewer').dataset.wc) > %s`, wc), 5*time.Second)
	p.waitFor("redrawn after the keys", fmt.Sprintf(`(s => s.shown && s.sum !== %v)(%s)`, before.Sum, canvasInfo), 5*time.Second)
	p.press("PageDown")
	p.waitFor("next image by keyboard", `document.getElementById('viewer').dataset.index === '1'`, 5*time.Second)
	p.press("PageUp")
	p.waitFor("previous image by keyboard", `document.getElementById('viewer').dataset.index === '0'`, 5*time.Second)
	if got := js[string](p, `document.getElementById('dv-slider').getAttribute('aria-valuetext') || ''`); got == "" {
		p.t.Errorf("%s: the frame slider has no aria-valuetext", p.engine)
	}
	p.screenshot("viewer-keyboard")
}
