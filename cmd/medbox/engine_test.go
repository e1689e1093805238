package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tab is one page of a browser engine, as the cross-engine tests drive it. Each
// engine speaks its own protocol — Chromium the DevTools protocol (chromedp),
// Firefox WebDriver BiDi, WebKit W3C WebDriver over HTTP — and only these few
// primitives differ between them; what a person does is written once, on page.
type tab interface {
	// navigate loads url and returns once its load event has fired.
	navigate(ctx context.Context, url string) error
	// eval evaluates a JavaScript expression in the page, awaits it if it is a
	// promise, and returns its value as JSON.
	eval(ctx context.Context, expr string) (json.RawMessage, error)
	// click presses and releases the primary pointer at (x, y), CSS pixels in
	// the viewport.
	click(ctx context.Context, x, y float64) error
	// drag moves the primary pointer (a finger where the engine emulates a
	// phone, else the mouse) from one point to another in steps.
	drag(ctx context.Context, x0, y0, x1, y1 float64, steps int) error
	// press sends keys one after the other, each named as KeyboardEvent.key
	// names it ("ArrowRight", "Enter", "Tab", "PageDown", ","), to whatever has
	// focus.
	press(ctx context.Context, keys ...string) error
	// typeText types text into the focused element.
	typeText(ctx context.Context, text string) error
	// setFiles chooses files for the <input type=file> matched by sel.
	setFiles(ctx context.Context, sel string, paths ...string) error
	// screenshot returns a PNG of the page: the whole page where the engine
	// can take one, else what the viewport shows.
	screenshot(ctx context.Context) ([]byte, error)
}

// engine starts a tab of one browser at a viewport; the tab lives until the
// test ends. preload runs before every page's own scripts where the engine can
// do that, else right after each navigation.
type engine struct {
	name  string
	start func(t testing.TB, vp viewport, preload string) tab
}

var engines = []engine{
	{"chromium", startChromiumTab},
	{"firefox", startFirefoxTab},
	{"webkit", startWebKitTab},
}

// watchPage records Content-Security-Policy violations and uncaught errors of
// the page in window.__medboxWatch.
const watchPage = `(() => {
  if (window.__medboxWatch) return;
  const w = window.__medboxWatch = {csp: [], errors: []};
  document.addEventListener('securitypolicyviolation', e => w.csp.push(e.violatedDirective + ' ' + e.blockedURI));
  window.addEventListener('error', e => w.errors.push(String(e.message)));
  window.addEventListener('unhandledrejection', e => w.errors.push(String(e.reason)));
})()`

// page is a tab in a test: every step fails the test with a screenshot, and
// screenshots go to testout/browser/<test>/<engine>-<viewport>/.
type page struct {
	t      testing.TB
	tab    tab
	engine string
	vp     viewport
	dir    string
	shot   int
	axeLog []axeViolation // every violation accessible found
	pages  int            // how many pages accessible checked
}

func openPage(t testing.TB, e engine, vp viewport) *page {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped with -short")
	}
	root := os.Getenv("MEDBOX_TEST_OUT")
	if root == "" {
		root = filepath.Join("..", "..", "testout")
	}
	dir := filepath.Join(root, "browser", strings.ReplaceAll(t.Name(), "/", "_"), e.name+"-"+vp.name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &page{t: t, tab: e.start(t, vp, watchPage), engine: e.name, vp: vp, dir: dir}
}

// stepTimeout bounds one step; a slow engine on a shared machine needs it.
const stepTimeout = 30 * time.Second

func (p *page) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), stepTimeout)
}

// fail ends the test with what was being done and a screenshot of the page.
func (p *page) fail(what string, err error) {
	p.t.Helper()
	p.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
	p.t.Fatalf("%s (%s, %s): %v (screenshots in %s)", what, p.engine, p.vp.name, err, p.dir)
}

func (p *page) open(url string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.tab.navigate(ctx, url); err != nil {
		p.fail("open "+url, err)
	}
}

// js evaluates expr and decodes its value into a T.
func js[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	var v T
	raw, err := p.tab.eval(ctx, expr)
	if err == nil {
		err = json.Unmarshal(raw, &v)
	}
	if err != nil {
		p.fail("evaluate "+expr, err)
	}
	return v
}

// waitFor polls the JavaScript condition until it holds. An evaluation that
// fails while a new page loads counts as "not yet".
func (p *page) waitFor(what, cond string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ctx, cancel := p.ctx()
		raw, err := p.tab.eval(ctx, "!!("+cond+")")
		cancel()
		if err == nil && string(raw) == "true" {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			p.fail(what, fmt.Errorf("%s still false after %v (last error: %v)", cond, timeout, last))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// center scrolls the element sel into the middle of the viewport and returns
// its centre.
func (p *page) center(sel string) (x, y float64) {
	p.t.Helper()
	p.waitFor("find "+sel, fmt.Sprintf(`(e => e && e.getClientRects().length > 0)(document.querySelector(%q))`, sel), 10*time.Second)
	r := js[struct{ X, Y float64 }](p, fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		e.scrollIntoView({block: 'center', inline: 'center'});
		const r = e.getBoundingClientRect();
		return {x: r.x + r.width / 2, y: r.y + r.height / 2};
	})()`, sel))
	return r.X, r.Y
}

// click taps (or clicks) the element sel where a person would: at its centre.
func (p *page) click(sel string) {
	p.t.Helper()
	x, y := p.center(sel)
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.tab.click(ctx, x, y); err != nil {
		p.fail("click "+sel, err)
	}
}

// typeInto focuses the field sel by tapping it and types text.
func (p *page) typeInto(sel, text string) {
	p.t.Helper()
	p.click(sel)
	p.waitFor("focus "+sel, fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, sel), 5*time.Second)
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.tab.typeText(ctx, text); err != nil {
		p.fail("type into "+sel, err)
	}
}

// press sends keys, one after the other, to whatever has focus.
func (p *page) press(keys ...string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.tab.press(ctx, keys...); err != nil {
		p.fail("press "+strings.Join(keys, " "), err)
	}
}

func (p *page) drag(x0, y0, x1, y1 float64, steps int) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.tab.drag(ctx, x0, y0, x1, y1, steps); err != nil {
		p.fail("drag", err)
	}
}

func (p *page) setFiles(sel string, paths ...string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.tab.setFiles(ctx, sel, paths...); err != nil {
		p.fail("choose files for "+sel, err)
	}
}

// markOld marks the current document, so that fresh can tell a new one from it.
func (p *page) markOld() { js[bool](p, "window.__medboxOldPage = true") }

// fresh waits until a new document, at a path containing want, has loaded.
func (p *page) fresh(what, want string) {
	p.t.Helper()
	p.waitFor(what, fmt.Sprintf(`window.__medboxOldPage !== true && document.readyState === 'complete' && (location.pathname + location.search).includes(%q)`, want), 20*time.Second)
	p.rewatch()
}

// follow activates the link or button sel and waits for the page it leads to.
func (p *page) follow(sel, want string) {
	p.t.Helper()
	p.markOld()
	p.click(sel)
	p.fresh("after "+sel, want)
}

// rewatch installs the page watch where the engine cannot run it before the
// page's own scripts (it is idempotent where it already runs).
func (p *page) rewatch() { js[any](p, watchPage) }

func (p *page) location() string { return js[string](p, "location.pathname + location.search") }

// clean fails the test if the page broke its CSP or threw.
func (p *page) clean(where string) {
	p.t.Helper()
	w := js[struct{ CSP, Errors []string }](p, "window.__medboxWatch || {csp: [], errors: []}")
	if len(w.CSP) > 0 {
		p.t.Errorf("%s (%s): Content-Security-Policy violations: %v", where, p.engine, w.CSP)
	}
	if len(w.Errors) > 0 {
		p.t.Errorf("%s (%s): errors in the page: %v", where, p.engine, w.Errors)
	}
}

// screenshot saves the page as NN-name.png.
func (p *page) screenshot(name string) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	buf, err := p.tab.screenshot(ctx)
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p.shot++
	if err := os.WriteFile(filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", p.shot, name)), buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// fitsWidth fails the test if the page scrolls sideways at a phone's width.
func (p *page) fitsWidth(where string) {
	p.t.Helper()
	if over := js[float64](p, "document.documentElement.scrollWidth - window.innerWidth"); over > 1 {
		p.screenshot("overflow-" + where)
		p.t.Errorf("%s (%s) is %v px wider than the %s viewport", where, p.engine, over, p.vp.name)
	}
}

// errNotYet is what a poll returns while its condition does not hold yet.
var errNotYet = errors.New("not yet")

// poll calls f every interval until it returns anything but errNotYet, or ctx ends.
func poll(ctx context.Context, interval time.Duration, f func() error) error {
	for {
		err := f()
		if !errors.Is(err, errNotYet) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-time.After(interval):
		}
	}
}
