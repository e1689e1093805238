package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

const senderPassword = "correct horse battery" // newExchange's members use the default

// TestBrowserUpload (R-T1): at phone width the sender drops two photos and a PDF
// on the box page; one pool of hashed chunk requests carries them, every row ends
// done, the files join the list, and the recipient reads back the exact bytes.
func TestBrowserUpload(t *testing.T) {
	in, x, b := senderAtBox(t, instanceOptions{env: smallChunks}, phone)
	if eval[bool](b, `!document.getElementById('upload-needs-js').hidden`) {
		t.Error("the no-JavaScript hint still shows")
	}
	b.screenshot("box-before")
	b.fitsWidth("box page")

	dir := t.TempDir()
	files := map[string][]byte{
		"2026-11-24_胸部CT_造影あり_series001_axial_thin_slices.jpg": jpeg(11, 3_000_000),
		"echo.jpg": jpeg(12, 2_200_000+123),
		"紹介状.pdf":  minimalPDF("MedBox referral"),
	}
	var paths []string
	for _, name := range []string{"2026-11-24_胸部CT_造影あり_series001_axial_thin_slices.jpg", "echo.jpg", "紹介状.pdf"} {
		paths = append(paths, writeTemp(t, dir, name, files[name]))
	}
	chunks := 0
	for _, data := range files {
		chunks += (len(data) + 256<<10 - 1) / (256 << 10)
	}

	// Slow enough to see the bars move and the pool fill; about 3 s in all.
	b.throttle(2_000_000, 20*time.Millisecond)
	b.watchUploads()
	conns := b.chunkConnections()
	start := time.Now()
	// Where the first row's 中止 is, sampled from before the speed is known until
	// after: it must not move when the speed appears (a tap would land elsewhere).
	eval[bool](b, `(() => { window.cancelTops = []; setInterval(() => {
		const c = document.querySelector('.upload-row .upload-cancel');
		if (c && !document.getElementById('upload-total').hidden) window.cancelTops.push([c.getBoundingClientRect().top + window.scrollY,
			/秒/.test(document.getElementById('total-speed').textContent)]);
	}, 20); return true; })()`)
	b.do("choose files", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), paths))
	b.waitFor("progress shows", `(() => {
		const bar = document.getElementById('total-bar');
		return !document.getElementById('upload-total').hidden && bar.value > 0.15 && bar.value < 0.9 &&
			/秒/.test(document.getElementById('total-speed').textContent);
	})()`, 15*time.Second)
	tops := eval[[][2]any](b, `window.cancelTops`)
	moved, withSpeed := map[float64]bool{}, map[bool]bool{}
	for _, s := range tops {
		moved[s[0].(float64)], withSpeed[s[1].(bool)] = true, true
	}
	if len(moved) != 1 || !withSpeed[false] || !withSpeed[true] {
		t.Errorf("the first row's 中止 stood at %d places (want 1) in %d samples, before the speed showed: %v, after: %v",
			len(moved), len(tops), withSpeed[false], withSpeed[true])
	}
	b.screenshot("sending")
	b.screenshotOf("sending-upload", "#upload")
	b.fitsWidth("box page while sending")
	b.waitFor("every file done", `document.querySelectorAll('.upload-row').length === 3 &&
		[...document.querySelectorAll('.upload-row')].every(r => r.dataset.state === 'done') &&
		!document.getElementById('upload-done').hidden`, 30*time.Second)
	t.Logf("three files, %d chunks, sent in %v", chunks, time.Since(start).Round(time.Millisecond))
	b.throttle(0, 0)
	b.screenshot("done")
	b.screenshotOf("done-upload", "#upload")
	b.screenshotOf("done-files", "#files")
	b.fitsWidth("box page when done")

	if got := b.text("#upload-done"); got != "すべて送信しました。" {
		t.Errorf("all-done notice = %q", got)
	}
	st := b.uploadStats()
	if st.Puts != chunks || st.Digests != chunks {
		t.Errorf("%d chunk PUTs, %d with a SHA-256 Content-Digest; want %d of each", st.Puts, st.Digests, chunks)
	}
	// Six with the cookie and six without: browsers pool the two apart, so the
	// page's own origin alone carries the chunks on twelve TCP connections.
	if st.MaxInflight != 12 {
		t.Errorf("at most %d chunk requests in flight, want the pool of 12 full", st.MaxInflight)
	}
	if st.Fetched == 0 || st.Fetched == st.Puts {
		t.Errorf("%d of %d chunk PUTs went without the cookie; want both lanes used", st.Fetched, st.Puts)
	}
	t.Logf("chunk PUTs: %d, %d of them without the cookie, on %d TCP connections", st.Puts, st.Fetched, conns())
	if n := conns(); n <= 6 {
		t.Errorf("chunk PUTs travelled on %d TCP connections; want more than one pool's 6", n)
	}
	b.pageClean()
	if !eval[bool](b, `performance.getEntriesByType('resource').some(e => e.name.endsWith('/static/hash-worker.js'))`) {
		t.Error("the hashing worker was never loaded")
	}
	listed := eval[[]string](b, `[...document.querySelectorAll('#files ul.files li.file a.file-name')].map(a => a.textContent)`)
	if len(listed) != 3 {
		t.Errorf("file list shows %q, want the three files", listed)
	}
	meta := eval[string](b, `[...document.querySelectorAll('#files li.file')].filter(li => li.querySelector('.file-name').textContent === '紹介状.pdf').map(li => li.querySelector('.file-meta').textContent).join()`)
	if want := fmt.Sprintf("%d B · PDF · 送 信子", len(files["紹介状.pdf"])); meta != want {
		t.Errorf("file list line of the PDF reads %q, want %q", meta, want)
	}
	if n := eval[int](b, `Object.keys(localStorage).filter(k => k.startsWith('medbox.upload.')).length`); n != 0 {
		t.Errorf("%d resume entries left in localStorage after completion", n)
	}

	// The recipient reads back exactly what was sent.
	got := x.rcpt.filesByName(x.box)
	for name, data := range files {
		id, ok := got[name]
		if !ok {
			t.Errorf("recipient does not see %s among %v", name, got)
			continue
		}
		x.rcpt.downloadMatches(id, name, data)
	}

	// The page as the server renders it agrees with what the script added.
	b.open(in.url + "/boxes/" + x.box)
	if n := eval[int](b, `document.querySelectorAll('#files li.file').length`); n != 3 {
		t.Errorf("after a reload the box lists %d files", n)
	}
}

// TestBrowserUploadRefusals: choices the limits forbid are refused before any
// byte is sent, an empty file is marked in its row, and an executable renamed
// .jpg ends with the server's Japanese message in its row with nothing of it left.
func TestBrowserUploadRefusals(t *testing.T) {
	in, x, b := senderAtBox(t, instanceOptions{env: smallChunks}, phone)
	b.watchUploads()
	dir := t.TempDir()

	// 21 files: more than a send may hold; nothing is created.
	var many []string
	for i := range 21 {
		many = append(many, writeTemp(t, dir, fmt.Sprintf("slice%02d.jpg", i), jpeg(uint64(100+i), 2000)))
	}
	b.do("choose 21 files", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), many))
	b.waitFor("too many refused", `!document.getElementById('upload-error').hidden`, 5*time.Second)
	if got := b.text("#upload-error"); !strings.Contains(got, "20ファイルまで") {
		t.Errorf("refusal of 21 files reads %q", got)
	}
	b.screenshotOf("too-many", "#upload")

	// An empty file and an executable dressed as a photo.
	exe := content(3, 300_000)
	copy(exe, []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"))
	binaryPE(exe)
	empty := writeTemp(t, dir, "empty.jpg", nil)
	photo := writeTemp(t, dir, "photo.jpg", exe)
	b.do("choose the executable", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{empty, photo}))
	b.waitFor("both rows failed", `document.querySelectorAll('.upload-row[data-state=failed]').length === 2`, 15*time.Second)
	if !eval[bool](b, `document.getElementById('upload-error').hidden`) {
		t.Error("the earlier refusal still shows after a new choice")
	}
	b.pageClean()
	rows := eval[[]string](b, `[...document.querySelectorAll('.upload-row')].map(r => r.querySelector('.upload-name').textContent + ': ' + r.querySelector('.upload-msg').textContent)`)
	want := []string{"empty.jpg: 空のファイルは送れません。", "photo.jpg: 実行ファイル(プログラム)は送れません。"}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("rows read %q, want %q", rows, want)
	}
	b.screenshot("refused")
	b.screenshotOf("refused-upload", "#upload")
	b.fitsWidth("box page with refusals")

	in.deliver()
	if n := in.countRows(`SELECT count(*) FROM audit_events WHERE action = 'upload.create' AND box_id = $1`, x.box); n != 1 {
		t.Errorf("%d uploads created; want only the executable's", n)
	}
	if n := in.countRows(`SELECT count(*) FROM audit_events WHERE action = 'upload.refuse' AND box_id = $1`, x.box); n != 1 {
		t.Errorf("%d refusals recorded, want 1", n)
	}
	for _, table := range []string{"uploads", "upload_chunks", "files"} {
		if n := in.countRows("SELECT count(*) FROM " + table); n != 0 {
			t.Errorf("%d rows left in %s", n, table)
		}
	}
	if used := x.sender.usage(); used != 0 {
		t.Errorf("usage after the refusal = %d", used)
	}
	for _, f := range blobFiles(t, in) {
		if !strings.Contains(f, string(filepath.Separator)+"proofs"+string(filepath.Separator)) {
			t.Errorf("object left after refusal: %s", f)
		}
	}
	if n := eval[int](b, `Object.keys(localStorage).filter(k => k.startsWith('medbox.upload.')).length`); n != 0 {
		t.Errorf("%d resume entries left after the refusal", n)
	}
	if n := eval[int](b, `document.querySelectorAll('#files li.file').length`); n != 0 {
		t.Errorf("the refused file is listed")
	}
	// Dismissing clears the rows.
	b.do("dismiss", chromedp.Click(chromedp.CSS(".upload-row .upload-dismiss")), chromedp.Click(chromedp.CSS(".upload-row .upload-dismiss")))
	if n := eval[int](b, `document.querySelectorAll('.upload-row').length`); n != 0 {
		t.Errorf("%d rows after dismissing both", n)
	}

	// The same refusal in English, with the numbers filled in by the script.
	b.open(in.url + "/lang/en?next=/boxes/" + x.box)
	b.do("wait for the drop zone", chromedp.WaitVisible(chromedp.CSS("#dropzone")))
	b.do("choose 21 files", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), many))
	b.waitFor("too many refused", `!document.getElementById('upload-error').hidden`, 5*time.Second)
	if got := b.text("#upload-error"); got != "Up to 20 files per send (20 more can be added)." {
		t.Errorf("refusal of 21 files in English reads %q", got)
	}
	b.screenshotOf("too-many-en", "#upload")
}

// TestBrowserUploadResume (R-T1): a slow upload is interrupted by leaving the
// page; choosing the same file again later sends only the missing chunks into the
// same upload, and the file arrives whole.
func TestBrowserUploadResume(t *testing.T) {
	in, x, b := senderAtBox(t, instanceOptions{env: smallChunks}, phone)

	data := jpeg(21, 16*256<<10-5000) // 16 chunks, the last one short
	path := writeTemp(t, t.TempDir(), "MRI_頭部.jpg", data)
	b.throttle(400_000, 20*time.Millisecond)
	b.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{path}))
	deadline := time.Now().Add(20 * time.Second)
	for in.countRows(`SELECT count(*) FROM upload_chunks`) < 4 {
		if time.Now().After(deadline) {
			b.screenshot("failed-slow-start")
			t.Fatal("no chunks arrived within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.screenshotOf("interrupted", "#upload")
	b.open(in.url + "/boxes") // leaving the page aborts what is in flight
	b.throttle(0, 0)
	in.settled() // the server is done with the aborted requests
	had := in.countRows(`SELECT count(*) FROM upload_chunks`)
	if had >= 16 {
		t.Fatalf("all %d chunks arrived before the page was left; slow the transfer down", had)
	}
	if n := eval[int](b, `Object.keys(localStorage).filter(k => k.startsWith('medbox.upload.')).length`); n != 1 {
		t.Errorf("%d resume entries in localStorage, want 1", n)
	}
	if eval[bool](b, `Object.keys(localStorage).some(k => localStorage.getItem(k).includes('MRI'))`) {
		t.Error("localStorage holds the file name")
	}

	b.open(in.url + "/boxes/" + x.box)
	b.do("wait for the drop zone", chromedp.WaitVisible(chromedp.CSS("#dropzone")))
	b.watchUploads()
	b.do("choose the same file", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{path}))
	b.waitFor("resumed upload done", `(() => {
		const r = document.querySelector('.upload-row');
		return !!r && r.dataset.state === 'done';
	})()`, 20*time.Second)
	b.screenshotOf("resumed", "#upload")
	if r := eval[string](b, `(() => { const r = document.querySelector('.upload-row'); return r.dataset.resumed + ' ' + r.querySelector('.upload-note').textContent; })()`); r != "true 前回の続きから送信します" {
		t.Errorf("the row says %q, want it marked as resumed", r)
	}
	b.pageClean()
	if st := b.uploadStats(); st.Puts != 16-had {
		t.Errorf("%d chunks sent after resuming; the server had %d of 16", st.Puts, had)
	}
	if n := in.countRows(`SELECT count(*) FROM audit_events WHERE action = 'upload.create' AND box_id = $1`, x.box); n != 1 {
		t.Errorf("%d uploads created for one file, want 1", n)
	}
	if n := eval[int](b, `Object.keys(localStorage).filter(k => k.startsWith('medbox.upload.')).length`); n != 0 {
		t.Errorf("%d resume entries left after completion", n)
	}
	id, ok := x.rcpt.filesByName(x.box)["MRI_頭部.jpg"]
	if !ok {
		t.Fatal("the resumed file is not in the box")
	}
	x.rcpt.downloadMatches(id, "MRI_頭部.jpg", data)
	if used := x.sender.usage(); used != int64(len(data)) {
		t.Errorf("usage = %d, want %d", used, len(data))
	}
}

// TestBrowserUploadOfflineAndCancel: while the browser is offline the upload
// pauses and says so, and it goes on by itself when the network returns; a file
// cancelled halfway is aborted on the server and gives its quota back.
func TestBrowserUploadOfflineAndCancel(t *testing.T) {
	in, x, b := senderAtBox(t, instanceOptions{env: smallChunks}, phone)

	dir := t.TempDir()
	keep := jpeg(31, 12*256<<10)
	drop := jpeg(32, 12*256<<10)
	paths := []string{writeTemp(t, dir, "keep.jpg", keep), writeTemp(t, dir, "drop.jpg", drop)}
	b.throttle(500_000, 20*time.Millisecond)
	b.watchUploads()
	b.do("choose files", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), paths))
	b.waitFor("both uploads created", `document.querySelectorAll('.upload-row[data-state=sending]').length === 2`, 10*time.Second)
	b.do("cancel the second file", chromedp.Click(chromedp.CSS(".upload-row:nth-child(2) .upload-cancel")))
	b.waitFor("cancelled row gone", `document.querySelectorAll('.upload-row').length === 1`, 5*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for in.countRows(`SELECT count(*) FROM uploads`) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d uploads on the server after cancelling one of two", in.countRows(`SELECT count(*) FROM uploads`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for in.countRows(`SELECT count(*) FROM upload_chunks`) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no chunks arrived")
		}
		time.Sleep(50 * time.Millisecond)
	}

	b.offline(true)
	b.waitFor("paused", `!document.getElementById('upload-offline').hidden &&
		document.querySelector('.upload-row .upload-state').textContent === '一時停止中'`, 5*time.Second)
	b.screenshotOf("offline", "#upload")
	in.settled() // what was in flight when the network went is acknowledged or released
	before := in.countRows(`SELECT count(*) FROM upload_chunks`)
	sent := b.uploadStats().Puts
	time.Sleep(1500 * time.Millisecond) // an observation window: nothing may be sent in it
	if after := in.countRows(`SELECT count(*) FROM upload_chunks`); after != before || b.uploadStats().Puts != sent {
		t.Errorf("chunks went on while offline: %d stored, then %d; %d sent, then %d", before, after, sent, b.uploadStats().Puts)
	}
	b.offline(false)
	b.throttle(0, 0)
	b.waitFor("done after reconnecting", `document.querySelector('.upload-row').dataset.state === 'done' &&
		document.getElementById('upload-offline').hidden`, 20*time.Second)
	b.screenshotOf("back-online", "#upload")
	b.pageClean()

	got := x.rcpt.filesByName(x.box)
	if len(got) != 1 || got["keep.jpg"] == "" {
		t.Fatalf("box holds %v, want only keep.jpg", got)
	}
	x.rcpt.downloadMatches(got["keep.jpg"], "keep.jpg", keep)
	if n := in.countRows(`SELECT count(*) FROM uploads`); n != 0 {
		t.Errorf("%d uploads left", n)
	}
	if n := in.countRows(`SELECT count(*) FROM audit_events WHERE action = 'upload.abort' AND box_id = $1`, x.box); n != 1 {
		t.Errorf("%d aborts recorded, want 1", n)
	}
	if used := x.sender.usage(); used != int64(len(keep)) {
		t.Errorf("usage = %d, want only keep.jpg's %d", used, len(keep))
	}
}

// TestBrowserUploadStalledChunk: a chunk request that hangs without moving a
// byte — a connection that died without a word, with no offline event — is
// aborted after the page's stall time and sent again, and the file arrives
// whole long before the request's own timeout (76 s for these chunks) would
// have ended it.
func TestBrowserUploadStalledChunk(t *testing.T) {
	t.Parallel() // 20 s of it is the page waiting for a stalled chunk
	_, x, b := senderAtBox(t, instanceOptions{env: smallChunks}, desktop)
	b.watchUploads()

	// DevTools pauses every chunk request before it leaves the browser; the
	// first two are never let go, every later one goes on at once.
	const hung = 2
	paused := make(chan fetch.RequestID, 256)
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			paused <- e.RequestID
		}
	}); err != nil {
		t.Fatal(err)
	}
	b.do("intercept chunk requests", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/chunks/*"}}})
		return err
	}))
	go func() {
		n := 0
		for {
			select {
			case <-b.ctx.Done():
				return
			case id := <-paused:
				if n < hung {
					n++
					continue
				}
				_ = chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id})
					return err
				}))
			}
		}
	}()

	data := jpeg(33, 12*256<<10) // twelve chunks
	b.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{writeTemp(t, t.TempDir(), "stall.jpg", data)}))
	b.waitFor("done despite the hung requests", `document.querySelector('.upload-row')?.dataset.state === 'done'`, 60*time.Second)
	b.pageClean()
	st := b.uploadStats()
	if st.Aborts != hung || st.Puts != 12+hung {
		t.Errorf("%d chunk PUTs, %d aborted; want the %d hung ones aborted and sent again among %d", st.Puts, st.Aborts, hung, 12+hung)
	}
	id, ok := x.rcpt.filesByName(x.box)["stall.jpg"]
	if !ok {
		t.Fatal("the file is not in the box")
	}
	x.rcpt.downloadMatches(id, "stall.jpg", data)
}

// TestBrowserUploadNetworkBlip: for a moment every request fails while the
// browser still believes it is online — a Wi-Fi hand-over, a proxy restart.
// The page retries with back-off and goes on as soon as the network does; it
// never sets its own origin aside, which would stall the file for 30 s.
func TestBrowserUploadNetworkBlip(t *testing.T) {
	in, x, b := senderAtBox(t, instanceOptions{env: smallChunks}, desktop)
	b.watchUploads()

	data := jpeg(34, 12*256<<10) // twelve chunks
	b.throttle(500_000, 20*time.Millisecond)
	b.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), []string{writeTemp(t, t.TempDir(), "blip.jpg", data)}))
	deadline := time.Now().Add(10 * time.Second)
	for in.countRows(`SELECT count(*) FROM upload_chunks`) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no chunks arrived")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.failRequests(true)
	b.waitFor("chunks failing", `window.__up.failed >= 6 && navigator.onLine`, 10*time.Second)
	b.failRequests(false)
	b.waitFor("done after the blip", `document.querySelector('.upload-row').dataset.state === 'done'`, 15*time.Second)
	b.pageClean()
	id, ok := x.rcpt.filesByName(x.box)["blip.jpg"]
	if !ok {
		t.Fatal("the file is not in the box")
	}
	x.rcpt.downloadMatches(id, "blip.jpg", data)
}
