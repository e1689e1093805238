package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// canvasSum is a fingerprint of what the viewer's canvas shows: the sum of its
// red channel, weighted by position so that a moved image changes it too.
const canvasSum = `(() => {
  const c = document.getElementById('dv-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = 0;
  for (let i = 0; i < d.length; i += 4) s += d[i] * (1 + (i >> 2) % 7);
  return s;
})()`

// touchDrag drags one finger from (x0, y0) to (x1, y1) in steps, as a thumb does.
func (b *browser) touchDrag(x0, y0, x1, y1 float64, steps int) {
	b.t.Helper()
	one := 1.0
	id := 0.0
	point := func(x, y float64) []*input.TouchPoint {
		return []*input.TouchPoint{{X: x, Y: y, RadiusX: &one, RadiusY: &one, Force: &one, ID: &id}}
	}
	b.do("drag a finger", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{
			Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: point(x0, y0)}); err != nil {
			return err
		}
		for i := 1; i <= steps; i++ {
			x := x0 + (x1-x0)*float64(i)/float64(steps)
			y := y0 + (y1-y0)*float64(i)/float64(steps)
			if _, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{
				Type: input.DispatchTouchEventTypeTouchMove, TouchPoints: point(x, y)}); err != nil {
				return err
			}
		}
		_, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{
			Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
		return err
	}))
}

// pinch spreads two fingers apart around (x, y), from gap to gap·factor.
func (b *browser) pinch(x, y, gap, factor float64, steps int) {
	b.t.Helper()
	one := 1.0
	ids := []float64{0, 1}
	points := func(g float64) []*input.TouchPoint {
		return []*input.TouchPoint{
			{X: x - g/2, Y: y, RadiusX: &one, RadiusY: &one, Force: &one, ID: &ids[0]},
			{X: x + g/2, Y: y, RadiusX: &one, RadiusY: &one, Force: &one, ID: &ids[1]},
		}
	}
	b.do("pinch", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{
			Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: points(gap)}); err != nil {
			return err
		}
		for i := 1; i <= steps; i++ {
			g := gap * (1 + (factor-1)*float64(i)/float64(steps))
			if _, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{
				Type: input.DispatchTouchEventTypeTouchMove, TouchPoints: points(g)}); err != nil {
				return err
			}
		}
		_, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{
			Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
		return err
	}))
}

// waitJS polls a JavaScript condition until it holds.
func (b *browser) waitJS(what, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for !eval[bool](b, cond) {
		if time.Now().After(deadline) {
			b.screenshot("failed-" + what)
			b.t.Fatalf("%s: %s still false after %v", what, cond, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestViewerBrowser opens a 10-frame MR study in the phone viewer at 375 px:
// the first image is drawn on the canvas (the time from opening the page is
// logged), a one-finger drag changes the window and the pixels with it, the
// next-image button and the slider move through the frames, and nothing is
// wider than the phone. A file that cannot be previewed says so.
func TestViewerBrowser(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	x := newExchange(t, in)
	mr := x.sender.upload(x.box, "mr_10frame.dcm", dicomFile(t, "mr_10frame_native.dcm"))
	bad := x.sender.upload(x.box, "broken.dcm", hostileDICOM())
	chest := x.sender.upload(x.box, "chest_cr.dcm", dicomFile(t, "cr_chest_mono1_implicit.dcm"))
	in.previewsMade()

	b := newBrowser(t, phone)
	b.signIn(in, x.rcpt.user, x.rcpt.pass)
	b.open(in.url + "/boxes/" + x.box)
	b.waitJS("thumbnail", `[...document.querySelectorAll('#files img')].some(i => i.complete && i.naturalWidth > 0)`, 10*time.Second)
	b.screenshotOf("box-files", "#files")
	b.fitsWidth("box page")

	url := in.url + "/boxes/" + x.box + "/files/" + mr
	start := time.Now()
	b.do("open the viewer", chromedp.Navigate(url))
	b.waitJS("first image", `document.getElementById('viewer')?.dataset.firstImageMs !== undefined`, 15*time.Second)
	wall := time.Since(start)
	pageMs := eval[string](b, `document.getElementById('viewer').dataset.firstImageMs`)
	paintMs := eval[string](b, `document.getElementById('viewer').dataset.firstPaintMs || ''`)
	t.Logf("viewer: first canvas image %s ms after navigation start (page clock), server JPEG shown at %s ms; %v wall clock from Navigate on loopback",
		pageMs, paintMs, wall.Round(time.Millisecond))
	b.screenshot("viewer-opened")
	b.fitsWidth("viewer")
	if got := b.text("#dv-frame"); got != "1 / 10" {
		t.Errorf("frame readout = %q, want 1 / 10", got)
	}
	if got := b.text("#dv-summary"); got == "" {
		t.Error("no header summary")
	}

	// One finger drags the window: sideways widens it, down raises the level.
	before := eval[float64](b, canvasSum)
	ww0, wc0 := eval[string](b, `document.getElementById('viewer').dataset.ww`), eval[string](b, `document.getElementById('viewer').dataset.wc`)
	box := eval[map[string]float64](b, `(() => { const r = document.getElementById('dv-stage').getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; })()`)
	cx, cy := box["x"]+box["w"]/2, box["y"]+box["h"]/2
	b.touchDrag(cx-60, cy-40, cx+90, cy+50, 12)
	b.waitJS("window changed", fmt.Sprintf(`document.getElementById('viewer').dataset.ww !== %q`, ww0), 5*time.Second)
	b.waitJS("redrawn", fmt.Sprintf(`%s !== %v`, canvasSum, before), 5*time.Second)
	ww1, wc1 := eval[string](b, `document.getElementById('viewer').dataset.ww`), eval[string](b, `document.getElementById('viewer').dataset.wc`)
	t.Logf("window after a drag: WL %s→%s, WW %s→%s", wc0, wc1, ww0, ww1)
	if eval[float64](b, canvasSum) == before {
		t.Error("dragging the window left the canvas pixels as they were")
	}
	b.screenshot("viewer-window-dragged")

	// The next-image button, then the slider.
	afterDrag := eval[float64](b, canvasSum)
	b.do("next image", chromedp.Click(chromedp.CSS("#dv-next")))
	b.waitJS("frame 2", `document.getElementById('viewer').dataset.index === '1'`, 5*time.Second)
	b.waitJS("frame 2 drawn", fmt.Sprintf(`%s !== %v`, canvasSum, afterDrag), 5*time.Second)
	if got := b.text("#dv-frame"); got != "2 / 10" {
		t.Errorf("frame readout = %q, want 2 / 10", got)
	}
	if ww := eval[string](b, `document.getElementById('viewer').dataset.ww`); ww != ww1 {
		t.Errorf("the window changed with the frame: WW %s, want %s", ww, ww1)
	}
	b.screenshot("viewer-frame-2")
	b.do("slide to frame 8", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById('dv-slider'); s.value = '7'; s.dispatchEvent(new Event('input')); })()`))
	b.waitJS("frame 8", `document.getElementById('viewer').dataset.index === '7'`, 5*time.Second)
	b.screenshot("viewer-frame-8")

	// Two fingers zoom in; a double tap fits the image again.
	fitted := eval[float64](b, canvasSum)
	b.pinch(cx, cy, 60, 3, 10)
	b.waitJS("zoomed", fmt.Sprintf(`%s !== %v`, canvasSum, fitted), 5*time.Second)
	b.screenshot("viewer-zoomed")
	b.do("double tap", chromedp.TapXY(cx, cy), chromedp.TapXY(cx, cy))
	b.waitJS("fitted again", fmt.Sprintf(`%s === %v`, canvasSum, fitted), 5*time.Second)

	// Scroll tool: the same drag now moves through the frames.
	b.do("scroll tool", chromedp.Click(chromedp.CSS("#dv-tool-scroll")))
	b.touchDrag(cx, cy+40, cx, cy-40, 8)
	b.waitJS("scrolled back", `Number(document.getElementById('viewer').dataset.index) < 7`, 5*time.Second)
	b.fitsWidth("viewer after use")
	if mode := eval[string](b, `document.getElementById('viewer').dataset.mode || 'canvas'`); mode != "canvas" {
		t.Errorf("viewer fell back to %s", mode)
	}

	// A large radiograph (1760×2140, 16-bit, MONOCHROME1): one 7.5 MB frame.
	start = time.Now()
	b.do("open the chest radiograph", chromedp.Navigate(in.url+"/boxes/"+x.box+"/files/"+chest))
	b.waitJS("radiograph drawn", `document.getElementById('viewer')?.dataset.firstImageMs !== undefined`, 20*time.Second)
	t.Logf("viewer, 1760×2140 radiograph: first canvas image %s ms after navigation start, server JPEG at %s ms; %v wall clock",
		eval[string](b, `document.getElementById('viewer').dataset.firstImageMs`),
		eval[string](b, `document.getElementById('viewer').dataset.firstPaintMs || ''`), time.Since(start).Round(time.Millisecond))
	b.screenshot("viewer-radiograph")
	b.fitsWidth("radiograph viewer")

	// A preview still being made: the page says so, and shows the viewer by
	// itself once the preview is there.
	setPreviewStatus(t, in, mr, "pending")
	b.open(url)
	if got := b.text("#viewer-pending"); got == "" {
		t.Error("pending page says nothing")
	}
	b.screenshot("viewer-pending")
	setPreviewStatus(t, in, mr, "ready")
	b.waitJS("viewer after the preview is made", `document.getElementById('viewer')?.dataset.firstImageMs !== undefined`, 15*time.Second)

	// A file that cannot be previewed says so, and can still be downloaded.
	b.open(in.url + "/boxes/" + x.box + "/files/" + bad)
	if got := b.text("#viewer-failed"); got != "プレビューできません — ダウンロードのみ" {
		t.Errorf("failed preview says %q", got)
	}
	b.screenshot("viewer-cannot-preview")
	b.fitsWidth("viewer of a broken file")

	// On a PC the same page draws the same way.
	d := newBrowser(t, desktop)
	d.signIn(in, x.rcpt.user, x.rcpt.pass)
	d.open(url)
	d.waitJS("first image on a PC", `document.getElementById('viewer')?.dataset.firstImageMs !== undefined`, 15*time.Second)
	d.screenshot("viewer-desktop")
	d.fitsWidth("viewer")
}

// TestViewerBrowserMedia shows a box of photos, a video and a PDF at 375 px:
// thumbnails in the file list, and each viewer page within the phone's width —
// the photo upright, the video in the browser's player with its poster, the PDF
// as an image of its first page.
func TestViewerBrowserMedia(t *testing.T) {
	video := testVideo(t)
	in := startInstance(t, instanceOptions{})
	x := newExchange(t, in)
	photo := x.sender.upload(x.box, "患部.jpg", jpegWithOrientation(t, halves(600, 400), 6))
	heic := x.sender.upload(x.box, "iphone.heic", heicSample(t))
	mp4 := x.sender.upload(x.box, "エコー.mp4", video)
	pdf := x.sender.upload(x.box, "紹介状.pdf", previewPDF())
	in.previewsMade()

	b := newBrowser(t, phone)
	b.signIn(in, x.rcpt.user, x.rcpt.pass)
	b.open(in.url + "/boxes/" + x.box)
	b.waitJS("thumbnails", `[...document.querySelectorAll('#files img')].filter(i => i.complete && i.naturalWidth > 0).length === 4`, 10*time.Second)
	b.screenshotOf("box-files", "#files")
	b.fitsWidth("box page")
	for _, p := range []struct{ name, file, ready string }{
		{"photo", photo, `document.querySelector('#viewer-image img').naturalHeight > document.querySelector('#viewer-image img').naturalWidth`},
		{"heic", heic, `document.querySelector('#viewer-image img').naturalWidth === 256`},
		{"video", mp4, `document.querySelector('#viewer-video video').readyState >= 1`},
		{"pdf", pdf, `document.querySelector('#viewer-pdf img').naturalWidth > 0`},
	} {
		b.open(in.url + "/boxes/" + x.box + "/files/" + p.file)
		b.waitJS(p.name+" shown", p.ready, 10*time.Second)
		b.screenshot("viewer-" + p.name)
		b.fitsWidth(p.name + " viewer")
	}
}
