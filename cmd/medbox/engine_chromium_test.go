package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumTab is a tab of headless Chromium over the DevTools protocol, on the
// same harness as the Chromium-only browser tests (newBrowser).
type chromiumTab struct{ b *browser }

func startChromiumTab(t testing.TB, vp viewport, preload string) tab {
	t.Helper()
	b := newBrowser(t, vp)
	b.do("preload the page watch", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: preload})
		return err
	}))
	return chromiumTab{b}
}

// within returns the tab's context, ending when ctx does.
func (c chromiumTab) within(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(c.b.ctx, d)
	}
	return context.WithCancel(c.b.ctx)
}

func (c chromiumTab) run(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := c.within(ctx)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

func (c chromiumTab) navigate(ctx context.Context, url string) error {
	return c.run(ctx, chromedp.Navigate(url))
}

func (c chromiumTab) eval(ctx context.Context, expr string) (json.RawMessage, error) {
	ctx, cancel := c.within(ctx)
	defer cancel()
	s, err := chromedp.Run(ctx,
		chromedp.Evaluate[string](`Promise.resolve(`+expr+`).then(v => JSON.stringify(v === undefined ? null : v))`, chromedp.EvalAwaitPromise))
	return json.RawMessage(s), err
}

func (c chromiumTab) click(ctx context.Context, x, y float64) error {
	if c.b.vp.mobile {
		return c.run(ctx, chromedp.TapXY(x, y))
	}
	return c.run(ctx, chromedp.MouseClickXY(x, y))
}

func (c chromiumTab) drag(ctx context.Context, x0, y0, x1, y1 float64, steps int) error {
	at := func(i int) (float64, float64) {
		return x0 + (x1-x0)*float64(i)/float64(steps), y0 + (y1-y0)*float64(i)/float64(steps)
	}
	if c.b.vp.mobile { // a finger, as on the phone
		one, id := 1.0, 0.0
		touch := func(typ input.DispatchTouchEventType, i int) chromedp.Action[chromedp.Void] {
			return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				x, y := at(i)
				pts := []*input.TouchPoint{{X: x, Y: y, RadiusX: &one, RadiusY: &one, Force: &one, ID: &id}}
				if typ == input.DispatchTouchEventTypeTouchEnd {
					pts = []*input.TouchPoint{}
				}
				_, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: pts})
				return err
			})
		}
		acts := []chromedp.Action[chromedp.Void]{touch(input.DispatchTouchEventTypeTouchStart, 0)}
		for i := 1; i <= steps; i++ {
			acts = append(acts, touch(input.DispatchTouchEventTypeTouchMove, i))
		}
		return c.run(ctx, append(acts, touch(input.DispatchTouchEventTypeTouchEnd, steps))...)
	}
	acts := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MouseMoved, x0, y0), chromedp.MouseEvent(chromedp.MousePressed, x0, y0, chromedp.ButtonLeft)}
	for i := 1; i <= steps; i++ {
		x, y := at(i)
		acts = append(acts, chromedp.MouseEvent(chromedp.MouseMoved, x, y, chromedp.ButtonLeft))
	}
	return c.run(ctx, append(acts, chromedp.MouseEvent(chromedp.MouseReleased, x1, y1, chromedp.ButtonLeft))...)
}

// chromiumKeys names the keys press sends, as chromedp's kb package spells them.
var chromiumKeys = map[string]string{
	"Enter": kb.Enter, "Tab": kb.Tab, "Escape": kb.Escape, "Home": kb.Home, "End": kb.End,
	"ArrowLeft": kb.ArrowLeft, "ArrowRight": kb.ArrowRight, "ArrowUp": kb.ArrowUp, "ArrowDown": kb.ArrowDown,
	"PageUp": kb.PageUp, "PageDown": kb.PageDown,
}

func (c chromiumTab) press(ctx context.Context, keys ...string) error {
	var acts []chromedp.Action[chromedp.Void]
	for _, key := range keys {
		if k, ok := chromiumKeys[key]; ok {
			key = k
		} else if len([]rune(key)) != 1 {
			return fmt.Errorf("no key %q", key)
		}
		acts = append(acts, chromedp.KeyEvent(key))
	}
	return c.run(ctx, acts...)
}

func (c chromiumTab) typeText(ctx context.Context, text string) error {
	return c.run(ctx, chromedp.KeyEvent(text))
}

func (c chromiumTab) setFiles(ctx context.Context, sel string, paths ...string) error {
	return c.run(ctx, chromedp.SetUploadFiles(chromedp.CSS(sel), paths))
}

func (c chromiumTab) screenshot(ctx context.Context) ([]byte, error) {
	ctx, cancel := c.within(ctx)
	defer cancel()
	// From the top: scrolled, the sticky header would be drawn mid-page.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("window.scrollTo(0, 0)")); err != nil {
		return nil, err
	}
	return chromedp.Run(ctx, chromedp.FullScreenshot(100))
}
