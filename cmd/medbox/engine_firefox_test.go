package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// firefoxTab is a tab of headless Firefox (Debian firefox-esr) driven over
// WebDriver BiDi, which Firefox speaks itself: no geckodriver in between.
type firefoxTab struct {
	conn    *websocket.Conn
	context string // the browsing context (tab) id

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan bidiAnswer
	closed  error
}

type bidiAnswer struct {
	Type    string          `json:"type"` // "success" or "error"
	Result  json.RawMessage `json:"result"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// firefoxPrefs keep a new profile quiet and Japanese; the Remote Agent sets
// the rest of what automation needs by itself.
const firefoxPrefs = `user_pref("intl.accept_languages", "ja-JP, ja");
user_pref("intl.locale.requested", "ja-JP");
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("remote.active-protocols", 1);
`

var bidiListening = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

func startFirefoxTab(t testing.TB, vp viewport, preload string) tab {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped with -short")
	}
	bin := lookTool(t, "Firefox (Debian package firefox-esr)", os.Getenv("MEDBOX_FIREFOX"), "firefox-esr", "firefox")
	profile := t.TempDir()
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(firefoxPrefs), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-remote", "--profile", profile,
		"--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1", "about:blank")
	cmd.Env = append(os.Environ(), "LANG=ja_JP.UTF-8", "MOZ_CRASHREPORTER_DISABLE=1")
	ws := startProgram(t, cmd, bidiListening, 90*time.Second)
	conn, err := websocket.Dial(ws+"/session", "", "http://127.0.0.1")
	if err != nil {
		t.Fatalf("connect to Firefox at %s: %v", ws, err)
	}
	conn.MaxPayloadBytes = 64 << 20 // full-page screenshots
	f := &firefoxTab{conn: conn, waiting: map[int]chan bidiAnswer{}}
	go f.read()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = f.call(ctx, "browser.close", map[string]any{})
		conn.Close()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	must := func(method string, params map[string]any) json.RawMessage {
		t.Helper()
		r, err := f.call(ctx, method, params)
		if err != nil {
			t.Fatalf("firefox %s: %v", method, err)
		}
		return r
	}
	must("session.new", map[string]any{"capabilities": map[string]any{}})
	var tree struct{ Contexts []struct{ Context string } }
	if err := json.Unmarshal(must("browsingContext.getTree", map[string]any{}), &tree); err != nil || len(tree.Contexts) == 0 {
		t.Fatalf("firefox has no tab: %v", err)
	}
	f.context = tree.Contexts[0].Context
	dpr := 1.0
	if vp.mobile {
		dpr = 2
	}
	must("browsingContext.setViewport", map[string]any{"context": f.context,
		"viewport": map[string]any{"width": vp.width, "height": vp.height}, "devicePixelRatio": dpr})
	must("script.addPreloadScript", map[string]any{"functionDeclaration": "() => { " + preload + " }"})
	return f
}

// read hands each answer to the call waiting for it; events are not asked for.
func (f *firefoxTab) read() {
	for {
		var msg string
		if err := websocket.Message.Receive(f.conn, &msg); err != nil {
			f.mu.Lock()
			f.closed = err
			for id, ch := range f.waiting {
				close(ch)
				delete(f.waiting, id)
			}
			f.mu.Unlock()
			return
		}
		var a struct {
			ID *int `json:"id"`
			bidiAnswer
		}
		if json.Unmarshal([]byte(msg), &a) != nil || a.ID == nil {
			continue
		}
		f.mu.Lock()
		ch := f.waiting[*a.ID]
		delete(f.waiting, *a.ID)
		f.mu.Unlock()
		if ch != nil {
			ch <- a.bidiAnswer
		}
	}
}

// call sends one command and waits for its answer.
func (f *firefoxTab) call(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
	f.mu.Lock()
	if f.closed != nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("%s: connection closed: %w", method, f.closed)
	}
	f.nextID++
	id := f.nextID
	ch := make(chan bidiAnswer, 1)
	f.waiting[id] = ch
	f.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	if err := websocket.Message.Send(f.conn, string(msg)); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case a, ok := <-ch:
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: connection closed", method)
		case a.Type == "error":
			return nil, fmt.Errorf("%s: %s: %s", method, a.Error, a.Message)
		}
		return a.Result, nil
	case <-ctx.Done():
		f.mu.Lock()
		delete(f.waiting, id)
		f.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (f *firefoxTab) navigate(ctx context.Context, url string) error {
	_, err := f.call(ctx, "browsingContext.navigate", map[string]any{"context": f.context, "url": url, "wait": "complete"})
	return err
}

func (f *firefoxTab) evaluate(ctx context.Context, expr string, own bool) (json.RawMessage, error) {
	params := map[string]any{"expression": expr, "target": map[string]any{"context": f.context}, "awaitPromise": true}
	if own {
		params["resultOwnership"] = "root"
	}
	raw, err := f.call(ctx, "script.evaluate", params)
	if err != nil {
		return nil, err
	}
	var r struct {
		Type             string          `json:"type"`
		Result           json.RawMessage `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	if r.Type == "exception" {
		return nil, errors.New(r.ExceptionDetails.Text)
	}
	return r.Result, nil
}

func (f *firefoxTab) eval(ctx context.Context, expr string) (json.RawMessage, error) {
	raw, err := f.evaluate(ctx, `Promise.resolve(`+expr+`).then(v => JSON.stringify(v === undefined ? null : v))`, false)
	if err != nil {
		return nil, err
	}
	var v struct{ Value string }
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return json.RawMessage(v.Value), nil
}

func (f *firefoxTab) perform(ctx context.Context, sources ...map[string]any) error {
	_, err := f.call(ctx, "input.performActions", map[string]any{"context": f.context, "actions": sources})
	return err
}

func (f *firefoxTab) click(ctx context.Context, x, y float64) error {
	return f.perform(ctx, pointerActions([2]float64{x, y}))
}

func (f *firefoxTab) drag(ctx context.Context, x0, y0, x1, y1 float64, steps int) error {
	return f.perform(ctx, pointerActions(dragPoints(x0, y0, x1, y1, steps)...))
}

func (f *firefoxTab) press(ctx context.Context, keys ...string) error {
	vs, err := webdriverKeyValues(keys)
	if err != nil {
		return err
	}
	return f.perform(ctx, keyActions(vs...))
}

func (f *firefoxTab) typeText(ctx context.Context, text string) error {
	var keys []string
	for _, r := range text {
		keys = append(keys, string(r))
	}
	return f.perform(ctx, keyActions(keys...))
}

func (f *firefoxTab) setFiles(ctx context.Context, sel string, paths ...string) error {
	raw, err := f.evaluate(ctx, fmt.Sprintf("document.querySelector(%q)", sel), true)
	if err != nil {
		return err
	}
	var el struct {
		Type     string `json:"type"`
		SharedID string `json:"sharedId"`
	}
	if err := json.Unmarshal(raw, &el); err != nil || el.Type != "node" {
		return fmt.Errorf("no element %s (%s)", sel, raw)
	}
	_, err = f.call(ctx, "input.setFiles", map[string]any{"context": f.context, "element": map[string]any{"sharedId": el.SharedID}, "files": paths})
	return err
}

func (f *firefoxTab) screenshot(ctx context.Context) ([]byte, error) {
	// From the top: scrolled, the sticky header would be drawn mid-page.
	if _, err := f.eval(ctx, "window.scrollTo(0, 0)"); err != nil {
		return nil, err
	}
	raw, err := f.call(ctx, "browsingContext.captureScreenshot", map[string]any{"context": f.context, "origin": "document"})
	if err != nil {
		return nil, err
	}
	var s struct{ Data string }
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(s.Data)
}
