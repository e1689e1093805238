package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
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

// grantedPut is a chunk PUT as the page sends it to an upload origin: the one
// chunk path, upload and chunk in headers, the upload's grant.
func grantedPut(id string, n int, grant string, more map[string]string) map[string]string {
	h := map[string]string{"Medbox-Upload": id, "Medbox-Chunk": strconv.Itoa(n), "Medbox-Upload-Grant": grant}
	for k, v := range more {
		h[k] = v
	}
	return h
}

// uploadJSON with its grant, as POST /api/v1/boxes/{box}/uploads answers when
// the instance has upload origins.
type grantedUpload struct {
	ID      string    `json:"id"`
	Grant   string    `json:"upload_grant"`
	Expires time.Time `json:"upload_grant_expires"`
}

// TestUploadOrigins (R-T1): an extra upload origin (MEDBOX_UPLOAD_LISTEN) takes
// chunk PUTs from the page's origin at one path, authorised by the upload's grant
// in a header — no cookie, no bearer token — over HTTP/1.1 only; it answers CORS
// preflights for the page's origin alone (cached for two hours, no credentials),
// and serves nothing else. A grant ends with its upload, its session, the
// member's sign-out everywhere and its lifetime. The page lets its script reach
// the origins and tells it about them.
func TestUploadOrigins(t *testing.T) {
	certFile, keyFile, roots := testCert(t)
	up := []string{tlsFreeAddr(t), tlsFreeAddr(t)}
	in := startInstance(t, instanceOptions{roots: roots, env: merged(smallChunks,
		"MEDBOX_TLS_CERT", certFile, "MEDBOX_TLS_KEY", keyFile, "MEDBOX_UPLOAD_LISTEN", strings.Join(up, ","))})
	x := newExchange(t, in)
	page, origin := in.url, "https://"+up[1]
	chunkURL := origin + "/api/v1/chunk"

	web := in.client()
	status, body, _ := web.form("/login", "email", "sender@a.example.jp", "password", senderPassword)
	must(t, status, http.StatusSeeOther, "sign in", body)
	data := jpeg(31, 256<<10+1000) // two chunks
	newUpload := func(c *client, name string) grantedUpload {
		t.Helper()
		var u grantedUpload
		must(t, c.json("POST", "/api/v1/boxes/"+x.box+"/uploads", map[string]any{"name": name, "size": len(data)}, &u),
			http.StatusCreated, "create upload")
		if u.Grant == "" || !u.Expires.After(in.clock.Now()) {
			t.Fatalf("upload %s created without a grant: %+v", name, u)
		}
		return u
	}
	u := newUpload(web, "ct.jpg")
	fromPage := map[string]string{"Origin": page, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"}

	// The preflight: for the page's origin only, cacheable, without credentials.
	resp, _ := web.at("OPTIONS", chunkURL, nil, merged(fromPage, "Access-Control-Request-Method", "PUT",
		"Access-Control-Request-Headers", "content-digest,medbox-upload,medbox-chunk,medbox-upload-grant"))
	allowed := resp.Header.Get("Access-Control-Allow-Headers")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != page ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "" || resp.Header.Get("Access-Control-Max-Age") != "7200" ||
		!strings.Contains(allowed, "Content-Digest") || !strings.Contains(allowed, "Medbox-Upload-Grant") || !strings.Contains(allowed, "Medbox-Chunk") {
		t.Errorf("preflight from the page: %d %v", resp.StatusCode, resp.Header)
	}
	for _, other := range []string{"https://evil.example", "https://" + up[0], "http://" + strings.TrimPrefix(page, "https://")} {
		resp, _ := web.at("OPTIONS", chunkURL, nil, map[string]string{"Origin": other, "Access-Control-Request-Method": "PUT"})
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from %s: %d, Access-Control-Allow-Origin %q; want 403 and none", other, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}

	// The PUT itself, with the grant, over HTTP/1.1.
	stranger := in.client() // no cookie at all: the grant is the credential
	resp, put := stranger.at("PUT", chunkURL, data[:256<<10], grantedPut(u.ID, 0, u.Grant, fromPage))
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != page {
		t.Fatalf("chunk through the upload origin: %d %s %v", resp.StatusCode, put, resp.Header)
	}
	if resp.ProtoMajor != 1 {
		t.Errorf("upload origin spoke %s; want HTTP/1.1 only", resp.Proto)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("chunk answer lacks the security headers: %v", resp.Header)
	}
	refused := func(what string, c *client, hdr map[string]string, want int, wantCode string) {
		t.Helper()
		resp, body := c.at("PUT", chunkURL, data[256<<10:], hdr)
		if resp.StatusCode != want || (wantCode != "" && !strings.Contains(string(body), `"code":"`+wantCode+`"`)) {
			t.Errorf("%s: %d %s, want %d %s", what, resp.StatusCode, body, want, wantCode)
		}
		if hdr["Origin"] == page && resp.Header.Get("Access-Control-Allow-Origin") != page {
			t.Errorf("%s: the page cannot read the answer (%v)", what, resp.Header)
		}
	}
	refused("chunk from another site", web, grantedPut(u.ID, 1, u.Grant, merged(fromPage, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")), http.StatusForbidden, "")
	refused("chunk with the session cookie but no grant", web, merged(fromPage, "Medbox-Upload", u.ID, "Medbox-Chunk", "1"), http.StatusUnauthorized, "bad_grant")
	refused("chunk with a bearer token but no grant", x.sender, map[string]string{"Authorization": "Bearer " + x.sender.tok, "Medbox-Upload": u.ID, "Medbox-Chunk": "1"}, http.StatusUnauthorized, "bad_grant")
	refused("chunk with a made-up grant", stranger, grantedPut(u.ID, 1, "x"+u.Grant[1:], fromPage), http.StatusUnauthorized, "bad_grant")
	other := newUpload(x.sender, "other.jpg") // the same member's other upload, through the API
	refused("grant of one upload for another", stranger, grantedPut(other.ID, 1, u.Grant, fromPage), http.StatusUnauthorized, "bad_grant")
	var outBox map[string]any
	must(t, x.outside.json("POST", "/api/v1/boxes", map[string]any{"recipients": []string{x.senderID}, "expires_in_hours": 72}, &outBox),
		http.StatusCreated, "outsider's box")
	var mine grantedUpload
	must(t, x.outside.json("POST", "/api/v1/boxes/"+outBox["id"].(string)+"/uploads", map[string]any{"name": "o.jpg", "size": len(data)}, &mine),
		http.StatusCreated, "outsider's upload")
	refused("someone else's grant", stranger, grantedPut(u.ID, 1, mine.Grant, fromPage), http.StatusUnauthorized, "bad_grant")

	// A script that created an upload with its bearer token gets a grant too.
	if resp, body := stranger.at("PUT", chunkURL, data[:256<<10], grantedPut(other.ID, 0, other.Grant, nil)); resp.StatusCode != http.StatusNoContent {
		t.Errorf("script's chunk with its grant: %d %s", resp.StatusCode, body)
	}
	// The resume status hands out a fresh grant; both work until the upload ends.
	var st grantedUpload
	must(t, web.json("GET", "/api/v1/uploads/"+u.ID, nil, &st), http.StatusOK, "status")
	if st.Grant == "" || st.Grant == u.Grant {
		t.Errorf("status gave grant %q, want a fresh one", st.Grant)
	}
	if resp, body := stranger.at("PUT", chunkURL, data[256<<10:], grantedPut(u.ID, 1, st.Grant, fromPage)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second chunk with the fresh grant: %d %s", resp.StatusCode, body)
	}
	var f struct {
		File struct{ ID string } `json:"file"`
	}
	must(t, web.json("POST", "/api/v1/uploads/"+u.ID+"/complete", nil, &f), http.StatusCreated, "complete on the main origin")
	x.rcpt.downloadMatches(f.File.ID, "ct.jpg", data)
	refused("grant of a completed upload", stranger, grantedPut(u.ID, 1, st.Grant, fromPage), http.StatusUnauthorized, "bad_grant")

	// The main origin speaks HTTP/1.1 by default (MEDBOX_HTTP2=false); its pages
	// let the script reach the upload origins and name them.
	resp, html := web.at("GET", page+"/boxes/"+x.box, nil, nil)
	if resp.ProtoMajor != 1 {
		t.Errorf("main origin spoke %s by default; want HTTP/1.1", resp.Proto)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	want := "connect-src 'self' https://" + up[0] + " https://" + up[1] + ";"
	if !strings.Contains(csp, want) {
		t.Errorf("CSP %q lacks %q", csp, want)
	}
	if !bytes.Contains(html, []byte(`data-upload-origins="https://`+up[0]+` https://`+up[1]+`"`)) {
		t.Error("the box page does not name the upload origins")
	}

	// A grant ends with an abort, with its session, with sign-out everywhere and
	// with its lifetime.
	ended := func(what string, u grantedUpload) {
		t.Helper()
		refused("grant after "+what, stranger, grantedPut(u.ID, 1, u.Grant, fromPage), http.StatusUnauthorized, "bad_grant")
	}
	aborted := newUpload(web, "aborted.jpg")
	must(t, web.json("DELETE", "/api/v1/uploads/"+aborted.ID, nil, nil), http.StatusNoContent, "abort")
	ended("abort", aborted)
	late := newUpload(web, "late.jpg")
	in.clock.Advance(2*time.Hour + time.Minute)
	web.do("GET", "/api/v1/me", nil, nil) // keeps the session alive past the grant
	ended("its lifetime", late)
	web2 := in.client()
	must(t, func() int {
		s, _, _ := web2.form("/login", "email", "sender@a.example.jp", "password", senderPassword)
		return s
	}(), http.StatusSeeOther, "sign in again")
	out := newUpload(web2, "signed-out.jpg")
	must(t, func() int { s, _, _ := web2.form("/logout"); return s }(), http.StatusSeeOther, "sign out")
	ended("sign-out", out)
	web3 := in.client()
	must(t, func() int {
		s, _, _ := web3.form("/login", "email", "sender@a.example.jp", "password", senderPassword)
		return s
	}(), http.StatusSeeOther, "sign in once more")
	everywhere := newUpload(web3, "everywhere.jpg")
	must(t, func() int { s, _, _ := web3.form("/settings/signout-everywhere", "confirmed", "yes"); return s }(), http.StatusSeeOther, "sign out everywhere")
	ended("sign-out everywhere", everywhere)

	// Nothing else is served there.
	for _, path := range []string{"/login", "/boxes/" + x.box, "/api/v1/uploads/" + u.ID, "/api/v1/boxes/" + x.box + "/uploads",
		"/api/v1/uploads/" + u.ID + "/chunks/0", "/static/upload.js"} {
		if resp, _ := web.at("GET", origin+path, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the upload origin: %d, want 404", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/api/v1/boxes/" + x.box + "/uploads", "/api/v1/uploads/" + u.ID + "/chunks/1"} {
		if resp, _ := web.at("POST", origin+path, []byte(`{"name":"a","size":1}`), fromPage); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s on the upload origin: %d, want 404", path, resp.StatusCode)
		}
	}

}

// refusingOrigin is an upload origin that answers its preflight and then refuses
// every chunk with 403, as a balancer that does not serve the name might.
func refusingOrigin(t *testing.T, page func() string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Access-Control-Allow-Origin", page())
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "PUT")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Digest, Medbox-Upload, Medbox-Chunk, Medbox-Upload-Grant")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Error(w, `{"error":{"code":"forbidden"}}`, http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestBrowserUploadOrigins (R-T1): the browser client spreads its chunks over
// the upload origins — more in flight than one origin's six connections — sends
// none through the page's own origin while they work, sets aside an origin that
// cannot be reached and one that refuses, asks for a new grant when its grant
// has ended, and every file arrives intact.
func TestBrowserUploadOrigins(t *testing.T) {
	up := []string{tlsFreeAddr(t), tlsFreeAddr(t)}
	dead := tlsFreeAddr(t) // nobody listens there: a port a firewall blocks
	var pageURL atomic.Value
	refusing := refusingOrigin(t, func() string { return pageURL.Load().(string) })
	origins := []string{"http://" + up[0], "http://" + up[1], "http://" + dead, refusing}
	pageURL.Store("http://" + tlsFreeAddr(t)) // replaced below, before the page loads
	listen := tlsFreeAddr(t)
	pageURL.Store("http://" + listen)
	in, x, b := senderAtBox(t, instanceOptions{env: merged(smallChunks, "MEDBOX_LISTEN", listen,
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
	// Once chunks flow, every grant ends (as after its two hours): the upload
	// origins answer bad_grant and the page asks its own origin for new ones.
	in.waitRows("chunks arriving", 30*time.Second, func(n int) bool { return n >= 4 }, `SELECT count(*) FROM upload_chunks WHERE state = 'done'`)
	in.db().ExecContext(t.Context(), `DELETE FROM upload_grants`)
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
	if n := by[refusing]; n < 1 || n > 7 {
		t.Errorf("the refusing origin was sent %d chunks; want it tried and set aside at its first answer", n)
	}
	if n := st.Answers["401 bad_grant"]; n < 1 {
		t.Errorf("no chunk met an ended grant (%v); the test did not end them", st.Answers)
	}
	if n := in.countRows(`SELECT count(*) FROM audit_events WHERE action = 'upload.create'`); n != 3 {
		t.Errorf("%d uploads created for 3 files", n)
	}
	if st.MaxInflight <= 6 {
		t.Errorf("at most %d chunk PUTs in flight; want more than one origin's 6", st.MaxInflight)
	}
	got := x.rcpt.filesByName(x.box)
	for name, data := range files {
		x.rcpt.downloadMatches(got[name], name, data)
	}
}

// TestBrowserUploadHostsOnOnePort (R-T1): the hospital-friendly deployment —
// the page and twelve-at-most upload host names on ONE address and port (443 in
// production), the page over HTTP/2, the upload hosts with a certificate of their
// own. Chromium sends every chunk to the upload hosts, on HTTP/1.1 connections of
// their own (it cannot fold them into the page's HTTP/2 connection), none through
// the page's origin, and every file arrives intact.
func TestBrowserUploadHostsOnOnePort(t *testing.T) {
	listen := tlsFreeAddr(t)
	_, port, _ := net.SplitHostPort(listen)
	mainCert, mainKey, mainSPKI, main := namedCert(t, "medbox.test")
	upCert, upKey, upSPKI, upc := namedCert(t, "up1.medbox.test", "up2.medbox.test", "up3.medbox.test")
	roots := x509.NewCertPool()
	roots.AddCert(main)
	roots.AddCert(upc)
	var origins []string
	for i := 1; i <= 3; i++ {
		origins = append(origins, fmt.Sprintf("https://up%d.medbox.test:%s", i, port))
	}
	in, x, b := senderAtBoxWith(t, instanceOptions{roots: roots, loopbackNames: true, env: merged(smallChunks,
		"MEDBOX_LISTEN", listen, "MEDBOX_BASE_URL", "https://medbox.test:"+port, "MEDBOX_HTTP2", "true", "MEDBOX_LOG_LEVEL", "info",
		"MEDBOX_TLS_CERT", mainCert, "MEDBOX_TLS_KEY", mainKey, "MEDBOX_UPLOAD_TLS_CERT", upCert, "MEDBOX_UPLOAD_TLS_KEY", upKey,
		"MEDBOX_UPLOAD_ORIGINS", strings.Join(origins, ","))}, desktop,
		chromedp.Flag("host-resolver-rules", "MAP medbox.test 127.0.0.1, MAP *.medbox.test 127.0.0.1"),
		chromedp.Flag("ignore-certificate-errors-spki-list", mainSPKI+","+upSPKI))
	b.watchUploads()
	dir := t.TempDir()
	files := map[string][]byte{"a.jpg": jpeg(51, 4_000_000), "b.jpg": jpeg(52, 3_000_000+3)}
	var paths []string
	for _, name := range []string{"a.jpg", "b.jpg"} {
		paths = append(paths, writeTemp(t, dir, name, files[name]))
	}
	b.throttle(4_000_000, 20*time.Millisecond) // so that chunks overlap and spread over the hosts
	b.do("choose files", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), paths))
	b.waitFor("every file done", `document.querySelectorAll('.upload-row').length === 2 &&
		[...document.querySelectorAll('.upload-row')].every(r => r.dataset.state === 'done')`, 60*time.Second)
	b.throttle(0, 0)
	b.pageClean()

	// The server's request log tells where each chunk came in, and how.
	type line struct{ Method, Host, Path, Proto string }
	byHost := map[string]int{}
	var page, onOwn int
	for _, l := range strings.Split(in.out.String(), "\n") {
		var r line
		if json.Unmarshal([]byte(l), &r) != nil || r.Method == "" {
			continue
		}
		switch {
		case r.Method == "PUT" && r.Path == "/api/v1/chunk":
			byHost[r.Host]++
			if r.Proto != "HTTP/1.1" {
				t.Errorf("a chunk reached %s over %s; want HTTP/1.1", r.Host, r.Proto)
			}
		case r.Method == "PUT" && strings.Contains(r.Path, "/chunks/"):
			onOwn++
		case r.Method == "GET" && strings.HasPrefix(r.Path, "/boxes/") && r.Proto == "HTTP/2.0":
			page++
		}
	}
	t.Logf("chunk PUTs by host: %v; through the page's origin: %d", byHost, onOwn)
	if page == 0 {
		t.Error("the page was not served over HTTP/2: the test does not show that coalescing is avoided")
	}
	if onOwn != 0 {
		t.Errorf("%d chunks went through the page's origin while the upload hosts worked", onOwn)
	}
	for i := 1; i <= 3; i++ {
		if h := fmt.Sprintf("up%d.medbox.test:%s", i, port); byHost[h] < 2 {
			t.Errorf("upload host %s carried %d chunks; want its share", h, byHost[h])
		}
	}
	got := x.rcpt.filesByName(x.box)
	for name, data := range files {
		x.rcpt.downloadMatches(got[name], name, data)
	}
}
