package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webkitTab is a window of WebKitGTK's MiniBrowser — the engine of Safari on
// the iPhone — driven by WebKitWebDriver (Debian webkit2gtk-driver) over W3C
// WebDriver, plain JSON over HTTP, on a virtual X screen (xvfb-run) the size of
// the viewport.
type webkitTab struct {
	base    string // http://127.0.0.1:port/session/id
	client  *http.Client
	preload string
}

func startWebKitTab(t testing.TB, vp viewport, preload string) tab {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped with -short")
	}
	driver := lookTool(t, "WebKitWebDriver (Debian package webkit2gtk-driver)", os.Getenv("MEDBOX_WEBKITWEBDRIVER"), "WebKitWebDriver")
	xvfb := lookTool(t, "xvfb-run (Debian package xvfb)", "xvfb-run")
	browsers, _ := filepath.Glob("/usr/lib/*/webkit2gtk-4.*/MiniBrowser")
	if b := os.Getenv("MEDBOX_MINIBROWSER"); b != "" {
		browsers = []string{b}
	}
	if len(browsers) == 0 {
		lookTool(t, "MiniBrowser (Debian package libwebkit2gtk-4.1-0)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	screen := fmt.Sprintf("-screen 0 %dx%dx24", vp.width, vp.height)
	cmd := exec.Command(xvfb, "-a", "-s", screen, driver, "--port="+strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "LANGUAGE=ja", "LANG=C.UTF-8")
	startProgram(t, cmd, nil, 0)

	w := &webkitTab{base: fmt.Sprintf("http://127.0.0.1:%d", port), client: &http.Client{}, preload: preload}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err = poll(ctx, 100*time.Millisecond, func() error {
		var st struct{ Ready bool }
		if w.do(ctx, "GET", "/status", nil, &st) != nil || !st.Ready {
			return errNotYet
		}
		return nil
	})
	if err != nil {
		t.Fatalf("WebKitWebDriver did not come up: %v", err)
	}
	var s struct{ SessionID string }
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":              "MiniBrowser",
		"webkitgtk:browserOptions": map[string]any{"binary": browsers[0], "args": []string{"--automation", "--full-screen"}},
	}}}
	if err := w.do(ctx, "POST", "/session", caps, &s); err != nil {
		t.Fatalf("start MiniBrowser: %v", err)
	}
	w.base += "/session/" + s.SessionID
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.do(ctx, "DELETE", "", nil, nil)
	})
	// Without its toolbar (full screen) the window may be as narrow as a phone;
	// the screen is the viewport's size, so the window fills it.
	var inner int64
	err = poll(ctx, 100*time.Millisecond, func() error {
		if err := w.do(ctx, "POST", "/window/fullscreen", map[string]any{}, nil); err != nil {
			return err
		}
		if err := w.do(ctx, "POST", "/window/rect", map[string]any{"x": 0, "y": 0, "width": vp.width, "height": vp.height}, nil); err != nil {
			return err
		}
		raw, err := w.eval(ctx, "innerWidth")
		if err != nil || json.Unmarshal(raw, &inner) != nil || inner != vp.width {
			return errNotYet
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the window is %d px wide, want %d: %v", inner, vp.width, err)
	}
	return w
}

// do sends one WebDriver command; a WebDriver error becomes a Go error.
func (w *webkitTab) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct{ Value json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s %s: %d, %w", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Message string }
		_ = json.Unmarshal(r.Value, &e)
		return fmt.Errorf("%s %s: %s: %s", method, path, e.Error, e.Message)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Value, out)
}

func (w *webkitTab) navigate(ctx context.Context, url string) error {
	if err := w.do(ctx, "POST", "/url", map[string]any{"url": url}, nil); err != nil {
		return err
	}
	// WebDriver cannot run a script before the page's own: watch from now on.
	_, err := w.eval(ctx, w.preload)
	return err
}

func (w *webkitTab) eval(ctx context.Context, expr string) (json.RawMessage, error) {
	var s string
	err := w.do(ctx, "POST", "/execute/sync", map[string]any{
		"script": `return Promise.resolve(` + expr + `).then(v => JSON.stringify(v === undefined ? null : v))`, "args": []any{}}, &s)
	return json.RawMessage(s), err
}

func (w *webkitTab) perform(ctx context.Context, sources ...map[string]any) error {
	if err := w.do(ctx, "POST", "/actions", map[string]any{"actions": sources}, nil); err != nil {
		return err
	}
	return w.do(ctx, "DELETE", "/actions", nil, nil)
}

func (w *webkitTab) click(ctx context.Context, x, y float64) error {
	return w.perform(ctx, pointerActions([2]float64{x, y}))
}

func (w *webkitTab) drag(ctx context.Context, x0, y0, x1, y1 float64, steps int) error {
	return w.perform(ctx, pointerActions(dragPoints(x0, y0, x1, y1, steps)...))
}

func (w *webkitTab) press(ctx context.Context, keys ...string) error {
	vs, err := webdriverKeyValues(keys)
	if err != nil {
		return err
	}
	return w.perform(ctx, keyActions(vs...))
}

// typeText sends the text to the focused element with "element send keys",
// which types any character (key actions take only what has a key).
func (w *webkitTab) typeText(ctx context.Context, text string) error {
	id, err := w.element(ctx, "GET", "/element/active", nil)
	if err != nil {
		return err
	}
	return w.do(ctx, "POST", "/element/"+id+"/value", map[string]any{"text": text}, nil)
}

// element returns the WebDriver id of the element the command answers with.
func (w *webkitTab) element(ctx context.Context, method, path string, in any) (string, error) {
	var ref map[string]string
	if err := w.do(ctx, method, path, in, &ref); err != nil {
		return "", err
	}
	for _, id := range ref { // the key is the W3C element identifier
		return id, nil
	}
	return "", fmt.Errorf("%s: no element", path)
}

func (w *webkitTab) setFiles(ctx context.Context, sel string, paths ...string) error {
	id, err := w.element(ctx, "POST", "/element", map[string]any{"using": "css selector", "value": sel})
	if err != nil {
		return err
	}
	return w.do(ctx, "POST", "/element/"+id+"/value", map[string]any{"text": strings.Join(paths, "\n")}, nil)
}

// screenshot is what the window shows: W3C WebDriver has no whole-page capture.
func (w *webkitTab) screenshot(ctx context.Context) ([]byte, error) {
	var s string
	if err := w.do(ctx, "GET", "/screenshot", nil, &s); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(s)
}
