package main

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// merged returns a copy of base with more keys and values.
func merged(base map[string]string, kv ...string) map[string]string {
	env := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// at sends a request to an absolute URL with c's cookies (no bearer token),
// as a page of the instance would from script.
func (c *client) at(method, url string, body []byte, header map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestUploadOrigins (R-T1): an extra upload origin (MEDBOX_UPLOAD_LISTEN) takes
// chunk PUTs from the page's origin with the session cookie, over HTTP/1.1 only;
// it answers CORS preflights for the page's origin alone, and serves nothing
// else. The page lets its script reach the origins and tells it about them.
func TestUploadOrigins(t *testing.T) {
	certFile, keyFile, roots := testCert(t)
	up := []string{tlsFreeAddr(t), tlsFreeAddr(t)}
	in := startInstance(t, instanceOptions{roots: roots, env: merged(smallChunks,
		"MEDBOX_TLS_CERT", certFile, "MEDBOX_TLS_KEY", keyFile, "MEDBOX_UPLOAD_LISTEN", strings.Join(up, ","))})
	x := newExchange(t, in)
	page, origin := in.url, "https://"+up[1]

	web := in.client()
	status, body, _ := web.form("/login", "email", "sender@a.example.jp", "password", senderPassword)
	must(t, status, http.StatusSeeOther, "sign in", body)
	data := jpeg(31, 256<<10+1000) // two chunks
	var u struct {
		ID string `json:"id"`
	}
	must(t, web.json("POST", "/api/v1/boxes/"+x.box+"/uploads", map[string]any{"name": "ct.jpg", "size": len(data)}, &u),
		http.StatusCreated, "create upload")
	chunk := func(n int) string { return origin + "/api/v1/uploads/" + u.ID + "/chunks/" + strconv.Itoa(n) }
	fromPage := map[string]string{"Origin": page, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"}

	// The preflight: for the page's origin only.
	resp, _ := web.at("OPTIONS", chunk(0), nil, merged(fromPage, "Access-Control-Request-Method", "PUT",
		"Access-Control-Request-Headers", "content-digest"))
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != page ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Digest") {
		t.Errorf("preflight from the page: %d %v", resp.StatusCode, resp.Header)
	}
	for _, other := range []string{"https://evil.example", "https://" + up[0], "http://" + strings.TrimPrefix(page, "https://")} {
		resp, _ := web.at("OPTIONS", chunk(0), nil, map[string]string{"Origin": other, "Access-Control-Request-Method": "PUT"})
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from %s: %d, Access-Control-Allow-Origin %q; want 403 and none", other, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}

	// The PUT itself, with the cookie, over HTTP/1.1.
	resp, put := web.at("PUT", chunk(0), data[:256<<10], fromPage)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != page ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("chunk through the upload origin: %d %s %v", resp.StatusCode, put, resp.Header)
	}
	if resp.ProtoMajor != 1 {
		t.Errorf("upload origin spoke %s; want HTTP/1.1 only", resp.Proto)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("chunk answer lacks the security headers: %v", resp.Header)
	}
	if resp, body := web.at("PUT", chunk(1), data[256<<10:], merged(fromPage, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("chunk from another site: %d %s, want 403", resp.StatusCode, body)
	}
	if resp, body := in.client().at("PUT", chunk(1), data[256<<10:], fromPage); resp.StatusCode != http.StatusUnauthorized ||
		resp.Header.Get("Access-Control-Allow-Origin") != page {
		t.Errorf("chunk without a session: %d %s %v, want 401 the page can read", resp.StatusCode, body, resp.Header)
	}
	if resp, body := x.outside.at("PUT", chunk(1), data[256<<10:], map[string]string{"Authorization": "Bearer " + x.outside.tok}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("someone else's upload: %d %s, want 404", resp.StatusCode, body)
	}
	// A script with a bearer token needs no Origin.
	if resp, body := x.sender.at("PUT", chunk(1), data[256<<10:], map[string]string{"Authorization": "Bearer " + x.sender.tok}); resp.StatusCode != http.StatusNoContent {
		t.Errorf("chunk with a bearer token: %d %s", resp.StatusCode, body)
	}
	var f struct {
		File struct{ ID string } `json:"file"`
	}
	must(t, web.json("POST", "/api/v1/uploads/"+u.ID+"/complete", nil, &f), http.StatusCreated, "complete on the main origin")
	x.rcpt.downloadMatches(f.File.ID, "ct.jpg", data)

	// Nothing else is served there.
	for _, path := range []string{"/login", "/boxes/" + x.box, "/api/v1/uploads/" + u.ID, "/api/v1/boxes/" + x.box + "/uploads", "/static/upload.js"} {
		if resp, _ := web.at("GET", origin+path, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the upload origin: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := web.at("POST", origin+"/api/v1/boxes/"+x.box+"/uploads", []byte(`{"name":"a","size":1}`), fromPage); resp.StatusCode != http.StatusNotFound {
		t.Errorf("create upload on the upload origin: %d, want 404", resp.StatusCode)
	}

	// The main origin still speaks HTTP/2; its pages let the script reach the
	// upload origins and name them.
	resp, html := web.at("GET", page+"/boxes/"+x.box, nil, nil)
	if resp.ProtoMajor != 2 {
		t.Errorf("main origin spoke %s", resp.Proto)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	want := "connect-src 'self' https://" + up[0] + " https://" + up[1] + ";"
	if !strings.Contains(csp, want) {
		t.Errorf("CSP %q lacks %q", csp, want)
	}
	if !bytes.Contains(html, []byte(`data-upload-origins="https://`+up[0]+` https://`+up[1]+`"`)) {
		t.Error("the box page does not name the upload origins")
	}
}

// TestBrowserUploadOrigins (R-T1): the browser client spreads its chunks over
// the upload origins — more in flight than one origin's six connections — sends
// none through the page's own origin while they work, sets aside an origin that
// cannot be reached, and every file arrives intact.
func TestBrowserUploadOrigins(t *testing.T) {
	up := []string{tlsFreeAddr(t), tlsFreeAddr(t)}
	dead := tlsFreeAddr(t) // nobody listens there: a port a firewall blocks
	origins := []string{"http://" + up[0], "http://" + up[1], "http://" + dead}
	in, x, b := senderAtBox(t, instanceOptions{env: merged(smallChunks,
		"MEDBOX_UPLOAD_LISTEN", strings.Join(up, ","), "MEDBOX_UPLOAD_ORIGINS", strings.Join(origins, ","))}, desktop)
	b.watchUploads()
	eval[bool](b, `(() => {
		const by = window.__byOrigin = {}, P = XMLHttpRequest.prototype, open = P.open;
		P.open = function (method, url) {
			if (method === 'PUT') { const o = new URL(url, location.href).origin; by[o] = (by[o] || 0) + 1; }
			return open.apply(this, arguments);
		};
		return true;
	})()`)

	dir := t.TempDir()
	files := map[string][]byte{"a.jpg": jpeg(41, 3_000_000), "b.jpg": jpeg(42, 2_500_000+17), "c.jpg": jpeg(43, 1_000_000)}
	var paths []string
	for _, name := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		paths = append(paths, writeTemp(t, dir, name, files[name]))
	}
	b.throttle(4_000_000, 20*time.Millisecond)
	b.do("choose files", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), paths))
	b.waitFor("every file done", `document.querySelectorAll('.upload-row').length === 3 &&
		[...document.querySelectorAll('.upload-row')].every(r => r.dataset.state === 'done')`, 60*time.Second)
	b.throttle(0, 0)
	b.pageClean()

	by := eval[map[string]int](b, "window.__byOrigin")
	st := b.uploadStats()
	t.Logf("chunk PUTs by origin: %v; at most %d in flight", by, st.MaxInflight)
	for _, o := range origins[:2] {
		if by[o] < 5 {
			t.Errorf("upload origin %s carried %d chunk PUTs; want its share", o, by[o])
		}
	}
	if n := by[in.url]; n != 0 {
		t.Errorf("%d chunk PUTs went through the page's own origin while the upload origins worked", n)
	}
	if n := by[origins[2]]; n < 1 || n > 3 {
		t.Errorf("the unreachable origin was tried %d times; want it tried and set aside after at most 3", n)
	}
	if st.MaxInflight <= 6 {
		t.Errorf("at most %d chunk PUTs in flight; want more than one origin's 6", st.MaxInflight)
	}
	got := x.rcpt.filesByName(x.box)
	for name, data := range files {
		x.rcpt.downloadMatches(got[name], name, data)
	}
}
