//go:build bench

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browserResult is what one browser upload measured.
type browserResult struct {
	Files     int            `json:"files"`
	Payload   int64          `json:"payload"` // bytes chosen
	Done      bool           `json:"done"`    // every file completed
	Failed    int            `json:"failed"`  // rows that ended failed
	Stored    int64          `json:"stored"`  // sealed bytes the server wrote meanwhile
	Seconds   float64        `json:"seconds"` // from choosing the files to the last one done, or to the cap
	Mbit      float64        `json:"mbit"`    // goodput
	ByOrigin  map[string]int `json:"by_origin"`
	PageProto string         `json:"page_proto"` // the box page's protocol (navigation timing)
	// From the server's request log: chunk PUTs by protocol, the host names
	// they went to, and how many were refused.
	Protocols map[string]int `json:"protocols"`
	Hosts     int            `json:"hosts"`
	Refused   int            `json:"refused"`
	Inflight  int            `json:"max_inflight"`
	FileIDs   []string       `json:"file_ids"`
	PageError []string       `json:"page_errors,omitempty"`
	Usage     usage          `json:"usage"`
}

// runBrowser signs in with headless Chromium, opens the box page and uploads
// the files through MedBox's own upload client, as a member would. It runs in
// the client's network namespace and prints a browserResult as JSON.
func runBrowser(args []string) error {
	fs := flag.NewFlagSet("browser", flag.ExitOnError)
	base := fs.String("base", "https://"+pageHost, "MedBox base URL")
	rules := fs.String("resolve", "", "Chromium --host-resolver-rules: where the host names are")
	proxy := fs.String("proxy", "", "Chromium --proxy-server (an explicit CONNECT proxy)")
	acctFile := fs.String("account", "", "account JSON from prepare")
	box := fs.String("box", "", "box id")
	files := fs.String("files", "", "comma-separated files to upload")
	capDur := fs.Duration("cap", 0, "stop after this long and measure what arrived (0: until done)")
	timeout := fs.Duration("timeout", 20*time.Minute, "give up after this long")
	serverPID := fs.Int("server-pid", 0, "pid of the server, for CPU and peak RSS")
	wanemPID := fs.Int("wanem-pid", 0, "pid of the emulator, for its CPU")
	blobs := fs.String("blobs", "", "the server's blob directory, for the bytes stored")
	chromium := fs.String("chromium", "/usr/bin/chromium", "browser")
	spki := fs.String("spki", "", "base64 SHA-256 of the server's public keys (comma-separated), to trust its certificates")
	fs.Parse(args)
	acct, err := readAccount(*acctFile)
	if err != nil {
		return err
	}
	paths := strings.Split(*files, ",")
	res := browserResult{Files: len(paths)}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		res.Payload += fi.Size()
	}

	bctx, done, err := startChromium(*chromium, *spki, *rules, *proxy, 1280, 900)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancelT := context.WithTimeout(bctx, *timeout+2*time.Minute)
	defer cancelT()
	if err := signIn(ctx, *base, acct); err != nil {
		return err
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(*base+"/boxes/"+*box),
		chromedp.WaitVisible(chromedp.CSS(`#dropzone`)),
		chromedp.Evaluate[chromedp.Void](watchScript),
	)
	if err != nil {
		return fmt.Errorf("open the box page: %w", err)
	}

	// The automation's own instrumentation would cost the browser CPU a
	// member's browser does not spend: DevTools' network tracking (which
	// chromedp turns on) follows every request, and the CSS agent every
	// style change of the progress bars.
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Disable, cdp.Empty{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, css.Disable, cdp.Empty{})
		return err
	})); err != nil {
		return fmt.Errorf("turn off DevTools tracking: %w", err)
	}
	m := startTreeMeter(*serverPID, *wanemPID, os.Getpid())
	stored0 := dirBytes(*blobs)
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS(`#file-input`), paths)); err != nil {
		return fmt.Errorf("choose files: %w", err)
	}
	type rows struct {
		Rows, Done, Failed int
	}
	var st rows
	for {
		time.Sleep(100 * time.Millisecond)
		st, err = chromedp.Run(ctx, chromedp.Evaluate[rows](`(() => {
			const rows = [...document.querySelectorAll('.upload-row')];
			return {Rows: rows.length, Done: rows.filter(r => r.dataset.state === 'done').length,
				Failed: rows.filter(r => r.dataset.state === 'failed').length};
		})()`))
		if err != nil {
			return fmt.Errorf("watch the upload: %w", err)
		}
		elapsed := time.Since(start)
		if st.Rows == len(paths) && st.Done == len(paths) {
			res.Done = true
			break
		}
		if st.Failed > 0 || (*capDur > 0 && elapsed >= *capDur) || elapsed >= *timeout {
			break
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.Stored = dirBytes(*blobs) - stored0
	res.Usage = m.stop()
	res.Failed = st.Failed
	if res.Done {
		res.Mbit = float64(res.Payload) * 8 / res.Seconds / 1e6
	} else {
		res.Mbit = float64(res.Stored) * 8 / res.Seconds / 1e6
	}
	type counters struct {
		ByOrigin map[string]int `json:"byOrigin"`
		Page     string         `json:"page"`
		Max      int            `json:"max"`
		Errors   []string       `json:"errors"`
		IDs      []string       `json:"ids"`
	}
	watch, err := chromedp.Run(ctx, chromedp.Evaluate[counters](`({...window.__bench,
		ids: [...document.querySelectorAll('#files li.file')].map(li => li.dataset.id)})`))
	if err != nil {
		return fmt.Errorf("read the counters: %w", err)
	}
	res.ByOrigin, res.Inflight, res.PageError, res.FileIDs = watch.ByOrigin, watch.Max, watch.Errors, watch.IDs
	res.PageProto = watch.Page
	// Stop what is still in flight before the browser goes, so the server is idle for the next run.
	chromedp.Do(ctx, chromedp.Navigate("about:blank"))
	return json.NewEncoder(os.Stdout).Encode(res)
}

// startChromium starts headless Chromium with a fresh profile, trusting the
// certificates whose keys are in spki, with rules for its host resolver and,
// if proxy is not empty, an explicit proxy. done ends it.
func startChromium(chromium, spki, rules, proxy string, width, height int) (context.Context, func(), error) {
	profile, err := os.MkdirTemp("", "medbox-bench-chromium-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in a namespace
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(width, height),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "ja-JP"),
	)
	if rules != "" {
		opts = append(opts, chromedp.Flag("host-resolver-rules", rules))
	}
	if proxy != "" {
		opts = append(opts, chromedp.Flag("proxy-server", proxy))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	return ctx, func() { cancel(); cancelAlloc(); os.RemoveAll(profile) }, nil
}

// signIn signs the account in on the login page.
func signIn(ctx context.Context, base string, acct *account) error {
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), acct.Email),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), acct.Password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
	)
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	for i := 0; ; i++ {
		loc, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.readyState === 'complete' ? location.pathname : '/login'"))
		if err == nil && !strings.Contains(loc, "/login") {
			return nil
		}
		if i > 300 {
			return errors.New("sign in: still on the login page after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// watchScript counts chunk PUTs per origin (the page's cookie-less lane apart)
// and the most in flight at once,
// notes the page's own protocol, and records errors in the page. It runs from
// DevTools, outside the page's CSP.
const watchScript = `(() => {
	const w = window.__bench = {byOrigin: {}, inflight: 0, max: 0, errors: [],
		page: (performance.getEntriesByType('navigation')[0] || {}).nextHopProtocol || '?'};
	document.addEventListener('securitypolicyviolation', e => w.errors.push('CSP ' + e.violatedDirective + ' ' + e.blockedURI));
	window.addEventListener('error', e => w.errors.push(String(e.message)));
	window.addEventListener('unhandledrejection', e => w.errors.push(String(e.reason)));
	const P = XMLHttpRequest.prototype, open = P.open, send = P.send;
	P.open = function (method, url) {
		this.__chunk = method === 'PUT' && /\/chunks\/\d+$|\/api\/v1\/chunk$/.test(url);
		if (this.__chunk) { const o = new URL(url, location.href).origin; w.byOrigin[o] = (w.byOrigin[o] || 0) + 1; }
		return open.apply(this, arguments);
	};
	P.send = function () {
		if (this.__chunk) {
			w.inflight++; w.max = Math.max(w.max, w.inflight);
			this.addEventListener('loadend', () => w.inflight--);
		}
		return send.apply(this, arguments);
	};
	// The page's cookie-less lane to its own origin sends chunks with fetch.
	const fetch0 = window.fetch;
	window.fetch = function (url, init) {
		if (!(init && init.method === 'PUT' && /\/api\/v1\/chunk$/.test(String(url)))) return fetch0.apply(this, arguments);
		const o = new URL(url, location.href).origin + ' (no cookie)';
		w.byOrigin[o] = (w.byOrigin[o] || 0) + 1;
		w.inflight++; w.max = Math.max(w.max, w.inflight);
		const end = () => w.inflight--;
		return fetch0.apply(this, arguments).then((r) => { end(); return r; }, (e) => { end(); throw e; });
	};
	return true;
})()`
