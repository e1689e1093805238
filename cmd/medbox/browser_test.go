package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// viewport is a screen the browser tests run at.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var (
	phone   = viewport{"phone", 375, 812, true}
	desktop = viewport{"desktop", 1280, 900, false}
)

// browser is one headless Chromium tab at a viewport, writing screenshots to
// testout/browser/<test>/<viewport>/.
type browser struct {
	t    testing.TB
	ctx  context.Context
	vp   viewport
	dir  string
	shot int
}

func chromiumPath(t testing.TB) string {
	for _, p := range []string{os.Getenv("MEDBOX_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	sqltest.Unavailable(t, "Chromium (Debian package chromium) is not installed")
	return ""
}

func newBrowser(t testing.TB, vp viewport, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped with -short")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("lang", "ja-JP"),
		chromedp.Flag("accept-lang", "ja-JP,ja"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(vp.width), int(vp.height)),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	var emu []chromedp.EmulateViewportOption
	if vp.mobile {
		emu = append(emu, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, emu...)); err != nil {
		t.Fatalf("emulate %s: %v", vp.name, err)
	}
	root := os.Getenv("MEDBOX_TEST_OUT")
	if root == "" {
		root = filepath.Join("..", "..", "testout")
	}
	dir := filepath.Join(root, "browser", strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, vp: vp, dir: dir}
}

// do runs actions with a timeout, failing the test with what was being done.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.screenshot("failed-" + what)
		b.t.Fatalf("%s: %v (screenshot in %s)", what, err, b.dir)
	}
}

// text returns the text content of the first node matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.screenshot("failed-text")
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// location returns the path and query of the current page.
func (b *browser) location() string {
	return eval[string](b, "location.pathname + location.search")
}

// screenshot saves the whole page as NN-name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.shot++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shot, name))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// fitsWidth fails the test if the page scrolls sideways (at 375 px it must not).
func (b *browser) fitsWidth(page string) {
	b.t.Helper()
	if over := eval[float64](b, "document.documentElement.scrollWidth - window.innerWidth"); over > 1 {
		b.screenshot("overflow-" + page)
		b.t.Errorf("%s is %v px wider than the %s viewport", page, over, b.vp.name)
	}
}

// fill sets the form fields given as selector/value pairs.
func (b *browser) fill(what string, kv ...string) {
	b.t.Helper()
	var acts []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(kv); i += 2 {
		acts = append(acts, chromedp.WaitVisible(chromedp.CSS(kv[i])), chromedp.SetValue(chromedp.CSS(kv[i]), kv[i+1]))
	}
	b.do(what, acts...)
}

// submit clicks sel and waits until a new page at a path containing want has
// loaded. A marker on the old page tells the new page from the old one.
func (b *browser) submit(what, sel, want string) {
	b.t.Helper()
	eval[bool](b, "window.__medboxOldPage = true")
	b.do(what, chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(15 * time.Second)
	for {
		fresh := eval[bool](b, "window.__medboxOldPage !== true && document.readyState === 'complete'")
		loc := b.location()
		if fresh && strings.Contains(loc, want) {
			return
		}
		if time.Now().After(deadline) {
			b.screenshot("failed-" + what)
			b.t.Fatalf("%s: at %s, want a page with %q", what, loc, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) open(url string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
}
