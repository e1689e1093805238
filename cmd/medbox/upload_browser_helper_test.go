package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// senderAtBox starts an instance with o and an exchange on it, and opens the
// box page, signed in as its sender, in a browser of viewport vp.
func senderAtBox(t *testing.T, o instanceOptions, vp viewport) (*instance, *exchange, *browser) {
	t.Helper()
	return senderAtBoxWith(t, o, vp)
}

// senderAtBoxWith is senderAtBox with more browser options.
func senderAtBoxWith(t *testing.T, o instanceOptions, vp viewport, extra ...chromedp.ExecAllocatorOption) (*instance, *exchange, *browser) {
	t.Helper()
	in := startInstance(t, o)
	x := newExchange(t, in)
	b := newBrowser(t, vp, extra...)
	b.signIn(in, "sender@a.example.jp", senderPassword)
	b.open(in.url + "/boxes/" + x.box)
	b.do("wait for the drop zone", chromedp.WaitVisible(chromedp.CSS("#dropzone")))
	return in, x, b
}

// signIn signs the browser in through the login form.
func (b *browser) signIn(in *instance, email, password string) {
	b.t.Helper()
	b.open(in.url + "/login")
	b.fill("fill sign-in", `input[name=email]`, email, `input[name=password]`, password)
	b.submit("sign in as "+email, `form[action="/login"] button`, "/")
}

// screenshotOf saves the element sel alone as NN-name.png, at the device's scale,
// for a close look at one part of a page.
func (b *browser) screenshotOf(name, sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	// From the top, so that the sticky page header does not cover the element.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("window.scrollTo(0, 0)")); err != nil {
		b.t.Logf("scroll: %v", err)
	}
	buf, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.shot++
	if err := os.WriteFile(filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shot, name)), buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// throttle limits the browser's upload speed to bytesPerSec with latency added
// to every request; 0 lifts the limit.
func (b *browser) throttle(bytesPerSec float64, latency time.Duration) {
	b.t.Helper()
	cond := &network.Conditions{DownloadThroughput: -1, UploadThroughput: -1}
	if bytesPerSec > 0 {
		cond = &network.Conditions{Latency: float64(latency.Milliseconds()), DownloadThroughput: -1, UploadThroughput: bytesPerSec}
	}
	b.do("throttle the network", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{cond}})
		return err
	}))
}

// waitFor polls the JavaScript condition until it holds, failing the test with a
// screenshot after timeout.
func (b *browser) waitFor(what, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for !eval[bool](b, cond) {
		if time.Now().After(deadline) {
			b.screenshot("failed-" + what)
			b.t.Fatalf("%s: %s still false after %v; rows: %s; chunk requests in flight: %s", what, cond, timeout,
				eval[string](b, `[...document.querySelectorAll('.upload-row')].map(r => r.dataset.state + ': ' + r.innerText.replace(/\s+/g, ' ')).join(' | ')`),
				eval[string](b, `window.__up ? JSON.stringify(Object.values(window.__up.live).map(x => ({...x, quietMs: Math.round(performance.now() - x.at)}))) + '; answers: ' + JSON.stringify(window.__up.answers) : 'not watched'`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// uploadStats is what watchUploads counts in the page.
type uploadStats struct {
	Puts        int            `json:"puts"`        // chunk PUTs sent
	Fetched     int            `json:"fetched"`     // of them, by fetch without credentials (the cookie-less lane)
	Digests     int            `json:"digests"`     // of them, with a well-formed sha-256 Content-Digest
	MaxInflight int            `json:"maxInflight"` // most chunk PUTs travelling at once
	Aborts      int            `json:"aborts"`      // chunk PUTs the page aborted
	Failed      int            `json:"failed"`      // chunk PUTs that ended in a network error
	CSP         []string       `json:"csp"`         // Content-Security-Policy violations
	Errors      []string       `json:"errors"`      // uncaught errors and rejections in the page
	Answers     map[string]int `json:"answers"`     // "status code" of each answered chunk PUT
}

// watchUploads wraps XMLHttpRequest and fetch in the page to count chunk requests, and
// records CSP violations and uncaught errors. It runs from DevTools, so the page's CSP does not apply
// to it; it must be called again after each navigation.
func (b *browser) watchUploads() {
	b.t.Helper()
	eval[bool](b, `(() => {
		const up = window.__up = {puts: 0, fetched: 0, digests: 0, inflight: 0, maxInflight: 0, aborts: 0, failed: 0, csp: [], errors: [], live: {}, answers: {}};
		document.addEventListener('securitypolicyviolation', e => up.csp.push(e.violatedDirective + ' ' + e.blockedURI));
		window.addEventListener('error', e => up.errors.push(String(e.message)));
		window.addEventListener('unhandledrejection', e => up.errors.push(String(e.reason)));
		const P = XMLHttpRequest.prototype, open = P.open, set = P.setRequestHeader, send = P.send;
		P.open = function (method, url) { this.__chunk = method === 'PUT' && /(\/chunks\/\d+|\/api\/v1\/chunk)$/.test(url); return open.apply(this, arguments); };
		P.setRequestHeader = function (k, v) {
			if (this.__chunk && k.toLowerCase() === 'content-digest' && /^sha-256=:[A-Za-z0-9+/]{43}=:$/.test(v)) up.digests++;
			return set.apply(this, arguments);
		};
		P.send = function () {
			if (this.__chunk) {
				up.puts++; up.inflight++; up.maxInflight = Math.max(up.maxInflight, up.inflight);
				const n = up.puts, live = up.live[n] = {put: n, loaded: 0, total: 0, at: performance.now()}; // for waitFor's failure message
				this.upload.addEventListener('progress', e => { live.loaded = e.loaded; live.total = e.total; live.at = performance.now(); });
				this.addEventListener('readystatechange', () => { live.readyState = this.readyState; live.at = performance.now(); });
				this.addEventListener('loadend', () => { up.inflight--; delete up.live[n]; });
				this.addEventListener('abort', () => up.aborts++);
				this.addEventListener('error', () => up.failed++);
				this.addEventListener('load', () => { const k = this.status + ' ' + ((this.responseText.match(/"code":"(\w+)"/) || [])[1] || ''); up.answers[k] = (up.answers[k] || 0) + 1; });
			}
			return send.apply(this, arguments);
		};
		// The cookie-less lane to the page's own origin sends its chunks with fetch.
		const fetch0 = window.fetch;
		window.fetch = function (url, init) {
			if (!(init && init.method === 'PUT' && /\/api\/v1\/chunk$/.test(String(url)))) return fetch0.apply(this, arguments);
			const digest = init.headers && init.headers['Content-Digest'];
			if (digest && /^sha-256=:[A-Za-z0-9+/]{43}=:$/.test(digest)) up.digests++;
			if (init.credentials === 'omit') up.fetched++;
			up.puts++; up.inflight++; up.maxInflight = Math.max(up.maxInflight, up.inflight);
			const n = up.puts, live = up.live[n] = {put: n, fetch: true, at: performance.now()};
			const end = () => { up.inflight--; delete up.live[n]; };
			return fetch0.apply(this, arguments).then(async (r) => {
				const text = await r.clone().text();
				const k = r.status + ' ' + ((text.match(/"code":"(\w+)"/) || [])[1] || '');
				up.answers[k] = (up.answers[k] || 0) + 1;
				end();
				return r;
			}, (e) => {
				if (e && e.name === 'AbortError') up.aborts++; else up.failed++;
				end();
				throw e;
			});
		};
		return true;
	})()`)
}

func (b *browser) uploadStats() uploadStats { return eval[uploadStats](b, "window.__up") }

// chunkConnections starts counting the TCP connections that carry chunk PUTs,
// as Chromium reports them (DevTools' connection id of each answer); the
// returned function tells how many distinct ones so far.
func (b *browser) chunkConnections() func() int {
	b.t.Helper()
	var mu sync.Mutex
	seen := map[float64]bool{}
	chunk := regexp.MustCompile(`(/chunks/\d+|/api/v1/chunk)$`)
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && chunk.MatchString(e.Response.URL) {
			mu.Lock()
			seen[e.Response.ConnectionID] = true
			mu.Unlock()
		}
	}); err != nil {
		b.t.Fatal(err)
	}
	b.do("watch the network", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{})
		return err
	}))
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
}

// writeTemp writes data to name in dir and returns the path.
func writeTemp(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// minimalPDF returns a small valid one-page PDF with a correct cross-reference table.
func minimalPDF(text string) []byte {
	content := fmt.Sprintf("BT /F1 18 Tf 20 40 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// filesByName returns name → id of the files in box as c sees them.
func (c *client) filesByName(box string) map[string]string {
	c.t.Helper()
	var b struct {
		Files []struct{ ID, Name string }
	}
	must(c.t, c.json("GET", "/api/v1/boxes/"+box, nil, &b), http.StatusOK, "read box")
	out := map[string]string{}
	for _, f := range b.Files {
		out[f.Name] = f.ID
	}
	return out
}

// downloadMatches fails the test unless the file reads back as want.
func (c *client) downloadMatches(fileID, name string, want []byte) {
	c.t.Helper()
	status, body, _ := c.do("GET", "/api/v1/files/"+fileID+"/content", nil, nil)
	if status != http.StatusOK || sha256.Sum256(body) != sha256.Sum256(want) {
		c.t.Errorf("download %s: status %d, %d bytes, want %d bytes with SHA-256 %x", name, status, len(body), len(want), sha256.Sum256(want))
	}
}

// countRows runs a SELECT count(*) query.
func (in *instance) countRows(query string, args ...any) int {
	in.t.Helper()
	var n int
	if err := in.db().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		in.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitRows polls query (a count) until want says yes, or fails after timeout.
func (in *instance) waitRows(what string, timeout time.Duration, want func(n int) bool, query string, args ...any) int {
	in.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := in.countRows(query, args...)
		if want(n) {
			return n
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("%s: still %d after %v (%s)", what, n, timeout, query)
		}
		time.Sleep(20 * time.Millisecond) // polling the database, not waiting for luck
	}
}

// settled waits until the server holds no chunk request any more: every chunk row
// is acknowledged, none still being written (an aborted request has released its
// claim or been acknowledged).
func (in *instance) settled() {
	in.t.Helper()
	in.waitRows("chunk requests still being written", 30*time.Second, func(n int) bool { return n == 0 },
		`SELECT count(*) FROM upload_chunks WHERE state = 'writing'`)
}

// offline takes the browser off the network (requests fail, navigator.onLine is
// false and the page hears "offline"), or back on.
func (b *browser) offline(off bool) {
	b.t.Helper()
	b.failRequests(off)
	b.do("set offline", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: off, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
}

// failRequests makes every request of the page fail (or work again) while the
// browser goes on believing it is online, as in a Wi-Fi hand-over.
func (b *browser) failRequests(fail bool) {
	b.t.Helper()
	b.do("fail requests", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Offline: fail, DownloadThroughput: -1, UploadThroughput: -1}}})
		return err
	}))
}

// pageClean fails the test if the page broke its CSP or threw.
func (b *browser) pageClean() {
	b.t.Helper()
	st := b.uploadStats()
	if len(st.CSP) > 0 {
		b.t.Errorf("Content-Security-Policy violations: %v", st.CSP)
	}
	if len(st.Errors) > 0 {
		b.t.Errorf("errors in the page: %v", st.Errors)
	}
}
