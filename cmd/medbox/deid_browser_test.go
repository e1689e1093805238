package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/medbox-jp/medbox/internal/deid"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// deidSets are the DICOM test sets, each de-identified as one send: the
// repository's files, its DICOMDIR study, and the shared extra set.
func deidSets(t testing.TB) map[string][]string {
	t.Helper()
	sets := map[string][]string{}
	glob := func(set string, patterns ...string) {
		for _, p := range patterns {
			m, _ := filepath.Glob(p)
			sets[set] = append(sets[set], m...)
		}
	}
	root := filepath.Join("..", "..", "testdata", "dicom")
	glob("testdata", filepath.Join(root, "*.dcm"), filepath.Join(root, "generated", "*.dcm"))
	filepath.WalkDir(filepath.Join(root, "dicomdir_study"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			sets["dicomdir_study"] = append(sets["dicomdir_study"], p)
		}
		return nil
	})
	more := filepath.Join("..", "..", "..", "shared", "testdata", "dicom-more")
	if _, err := os.Stat(more); err != nil {
		sqltest.Unavailable(t, "the shared DICOM set ../shared/testdata/dicom-more is missing")
	}
	glob("dicom-more", filepath.Join(more, "*.dcm"))
	for _, paths := range sets {
		for i, p := range paths {
			if abs, err := filepath.Abs(p); err == nil {
				paths[i] = abs // the browser reads files by absolute path
			}
		}
		sort.Strings(paths)
	}
	return sets
}

// jsResult is what the page reports for one file rewritten by deid-worker.js.
type jsResult struct {
	Kind  string `json:"kind"`
	Error string `json:"error"`
	Size  int64  `json:"size"`
	SHA   string `json:"sha"`
	B64   string `json:"b64"` // small outputs whole, for the deflated ones
}

// runDeidWorker de-identifies paths in the page's worker as one send with seed
// and opts, and reports each file.
func runDeidWorker(b *browser, paths []string, seed [deid.SeedSize]byte, opts deid.Options) []jsResult {
	b.t.Helper()
	eval[bool](b, `(() => { let i = document.getElementById('deid-test'); if (!i) { i = document.createElement('input');
		i.type = 'file'; i.multiple = true; i.id = 'deid-test'; document.body.append(i); } return true; })()`)
	b.do("choose the test files", chromedp.SetUploadFiles(chromedp.CSS("#deid-test"), paths))
	o, _ := json.Marshal(map[string]bool{"retainPatientCharacteristics": opts.RetainPatientCharacteristics,
		"modifiedDates": opts.ModifiedDates, "cleanDescriptors": opts.CleanDescriptors, "retainDeviceIdentity": opts.RetainDeviceIdentity})
	ints := make([]int, len(seed)) // json.Marshal would write []byte as base64
	for i, x := range seed {
		ints[i] = int(x)
	}
	s, _ := json.Marshal(ints)
	expr := fmt.Sprintf(`(async () => {
		const files = [...document.getElementById('deid-test').files];
		const w = new Worker('/static/deid-worker.js', {type: 'module'});
		const res = await new Promise((ok, bad) => {
			w.onmessage = (e) => { if (e.data.results) ok(e.data.results); };
			w.onerror = (e) => bad(new Error('worker: ' + e.message));
			w.postMessage({files, options: %s, seed: new Uint8Array(%s), dicom: true, photos: false});
		});
		w.terminate();
		const out = [];
		for (const r of res) {
			if (!r.blob) { out.push({kind: r.kind, error: r.error ? r.error.code + ': ' + r.error.detail : ''}); continue; }
			const buf = new Uint8Array(await r.blob.arrayBuffer());
			const sha = [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf))].map((x) => x.toString(16).padStart(2, '0')).join('');
			let b64 = '';
			if (buf.length < 64 << 10) { let s = ''; for (const x of buf) s += String.fromCharCode(x); b64 = btoa(s); }
			out.push({kind: r.kind, size: buf.length, sha, b64});
		}
		return JSON.stringify(out);
	})()`, o, s)
	ctx, cancel := context.WithTimeout(b.ctx, 3*time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("run deid-worker.js: %v", err)
	}
	var out []jsResult
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		b.t.Fatal(err)
	}
	if len(out) != len(paths) {
		b.t.Fatalf("the worker answered for %d files, want %d", len(out), len(paths))
	}
	return out
}

// goRewrite de-identifies one file with send and returns the output's bytes.
func goRewrite(t testing.TB, send *deid.Send, path string) ([]byte, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	o, err := send.Rewrite(f, st.Size())
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := o.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), nil
}

// inflatedDataset splits a deflated DICOM file into its meta information and
// its inflated dataset: two deflaters need not agree on the compressed bytes.
func inflatedDataset(t testing.TB, b []byte) ([]byte, []byte) {
	t.Helper()
	if len(b) < 144 || string(b[128:132]) != "DICM" {
		t.Fatalf("deflated output has no preamble")
	}
	end := 144 + int(binary.LittleEndian.Uint32(b[140:144]))
	ds, err := io.ReadAll(flate.NewReader(bytes.NewReader(b[end:])))
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return b[:end], ds
}

// TestDeidBrowserMatchesGo: the browser's rewrite (deid-worker.js in headless
// Chromium) and the Go one give the same bytes for every file of every test set,
// with the default options and with every option on, for one seed.
func TestDeidBrowserMatchesGo(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	b := newBrowser(t, desktop)
	b.open(in.url + "/login")
	var seed [deid.SeedSize]byte
	copy(seed[:], "medbox deid browser parity seed!")
	variants := map[string]deid.Options{
		"defaults": deid.DefaultOptions(),
		"all":      {RetainPatientCharacteristics: true, ModifiedDates: true, CleanDescriptors: true, RetainDeviceIdentity: true},
	}
	for setName, paths := range deidSets(t) {
		for vName, opts := range variants {
			t.Run(setName+"/"+vName, func(t *testing.T) {
				b.t = t
				js := runDeidWorker(b, paths, seed, opts)
				send := deid.NewSendSeed(opts, seed)
				same := 0
				for i, p := range paths {
					want, err := goRewrite(t, send, p)
					got := js[i]
					switch {
					case err != nil && got.Kind == "error":
						same++
						continue
					case err != nil && got.Kind == "other":
						continue // not DICOM to either: a README beside the study
					case err != nil:
						t.Errorf("%s: Go refused it (%v), the browser made %s", p, err, got.Kind)
						continue
					case got.Kind != "dicom":
						t.Errorf("%s: the browser made %s (%s), Go rewrote it", p, got.Kind, got.Error)
						continue
					}
					sum := sha256.Sum256(want)
					if hex.EncodeToString(sum[:]) == got.SHA {
						same++
						continue
					}
					if bytes.Contains(want[:min(len(want), 400)], []byte("1.2.840.10008.1.2.1.99")) && got.B64 != "" {
						gb, _ := base64.StdEncoding.DecodeString(got.B64)
						wm, wd := inflatedDataset(t, want)
						gm, gd := inflatedDataset(t, gb)
						if bytes.Equal(wm, gm) && bytes.Equal(wd, gd) {
							same++
							continue
						}
					}
					t.Errorf("%s: browser output (%d bytes, %s) differs from Go's (%d bytes)", p, got.Size, got.SHA, len(want))
				}
				t.Logf("%d of %d files identical in Go and in the browser", same, len(paths))
				if same == 0 {
					t.Error("no file compared")
				}
			})
		}
	}
}

// rawValue returns the value of tag in an explicit VR little endian file, as
// stored, found by its header bytes: enough for a test's known inputs.
func rawValue(t testing.TB, data []byte, tag uint32) []byte {
	t.Helper()
	h := []byte{byte(tag >> 16), byte(tag >> 24), byte(tag), byte(tag >> 8)}
	i := bytes.Index(data, h)
	if i < 0 || i+8 > len(data) {
		t.Fatalf("tag %08X not found", tag)
	}
	n := int(binary.LittleEndian.Uint16(data[i+6:]))
	return bytes.TrimRight(data[i+8:i+8+n], " \x00")
}

// zipFolder writes the files under dir into a ZIP, deflated, with the paths
// relative to dir.
func zipFolder(t testing.TB, dir, to string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, _ := os.ReadFile(p)
		_, err = w.Write(b)
		return err
	})
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeTemp(t, filepath.Dir(to), filepath.Base(to), buf.Bytes())
}

// encryptedZip is a ZIP whose entry says it is encrypted (general purpose bit
// 0), as a password-protected export does.
func encryptedZip(t testing.TB, to string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "IMG0001.dcm", Method: zip.Store})
	w.Write(bytes.Repeat([]byte{0x5a}, 300))
	zw.Close()
	b := buf.Bytes()
	for _, sig := range [][]byte{{'P', 'K', 3, 4}, {'P', 'K', 1, 2}} {
		i := bytes.Index(b, sig)
		off := 6
		if sig[2] == 1 {
			off = 8
		}
		b[i+off] |= 1
	}
	writeTemp(t, filepath.Dir(to), filepath.Base(to), b)
}

// TestDeidSendAtPhoneWidth: at 375 px the sender turns on 「匿名化して送る」,
// chooses a ZIP of a DICOMDIR study, two single DICOM files and three bad
// inputs (not DICOM, truncated, an encrypted ZIP). The page lists what changes
// (患者名 → ANON-…), warns about burned-in annotation and sends only once the
// sender confirms; the bad inputs are refused with a message and not sent, the
// rest goes on. On the server, no stored (decrypted) byte holds an original
// patient name or ID, and the recipient sees 匿名化済み and the history entry.
func TestDeidSendAtPhoneWidth(t *testing.T) {
	in, x, b := senderAtBox(t, instanceOptions{}, phone)
	root := filepath.Join("..", "..", "testdata", "dicom")
	dir := t.TempDir()
	study := filepath.Join(dir, "study.zip")
	zipFolder(t, filepath.Join(root, "dicomdir_study"), study)
	single := []string{filepath.Join(root, "charset_japanese_ir87.dcm"), filepath.Join(root, "ct_small.dcm")}
	ct, _ := os.ReadFile(single[1])
	bad := []string{
		writeTemp(t, dir, "not-dicom.dcm", []byte("This is a referral letter, not an image.\n")),
		writeTemp(t, dir, "truncated.dcm", ct[:len(ct)/2]),
	}
	encryptedZip(t, filepath.Join(dir, "locked.zip"))
	bad = append(bad, filepath.Join(dir, "locked.zip"))
	var secrets [][]byte // original names and IDs, as stored
	for _, p := range single {
		data, _ := os.ReadFile(p)
		secrets = append(secrets, rawValue(t, data, 0x00100010), rawValue(t, data, 0x00100020))
	}
	for _, p := range []string{"TINY_ALPHA/PT000000/ST000000/SE000000/IM000000", "98892001/CT5N/2392"} {
		img, _ := os.ReadFile(filepath.Join(root, "dicomdir_study", p))
		secrets = append(secrets, rawValue(t, img, 0x00100010), rawValue(t, img, 0x00100020))
	}

	b.watchUploads()
	b.do("turn on de-identification", chromedp.Click(chromedp.CSS("#deid-on")))
	if eval[bool](b, `document.getElementById('deid-options').hidden`) {
		t.Error("the profile options do not show when de-identification is on")
	}
	paths := append([]string{study}, single...)
	paths = append(paths, bad...)
	for i, p := range paths {
		paths[i], _ = filepath.Abs(p)
	}
	b.do("choose files", chromedp.SetUploadFiles(chromedp.CSS("#file-input"), paths))
	b.waitFor("the review shows", `!document.getElementById('deid-review').hidden`, 60*time.Second)
	review := b.text("#deid-review")
	if strings.ContainsRune(review, 0xFFFD) {
		t.Errorf("the review shows undecodable text: %s", review)
	}
	for _, want := range []string{"患者名", "→", "ANON-", "患者ID", "山田^太郎"} {
		if !strings.Contains(review, want) {
			t.Errorf("the review lacks %q: %s", want, review)
		}
	}
	if eval[bool](b, `document.getElementById('deid-burned').hidden`) {
		t.Error("no burned-in warning for an OT (secondary capture) image")
	}
	if !eval[bool](b, `document.getElementById('deid-send').disabled`) {
		t.Error("sending is possible before the burned-in annotation is confirmed")
	}
	if eval[int](b, "window.__up.puts") != 0 {
		t.Error("chunks were sent before the sender confirmed")
	}
	b.screenshot("deid-review")
	b.screenshotOf("deid-review-card", "#upload")
	b.fitsWidth("box page with the de-identification review")
	b.do("confirm the images were checked", chromedp.Click(chromedp.CSS("#deid-burned-ok")))
	b.do("send", chromedp.Click(chromedp.CSS("#deid-send")))
	b.waitFor("three sent, three refused", `(() => {
		const rows = [...document.querySelectorAll('.upload-row')];
		return rows.length === 6 && rows.filter(r => r.dataset.state === 'done').length === 3 &&
			rows.filter(r => r.dataset.state === 'failed').length === 3;
	})()`, 60*time.Second)
	b.screenshot("deid-sent")
	b.fitsWidth("box page after a de-identified send")
	rows := eval[string](b, `[...document.querySelectorAll('.upload-row')].map(r => r.dataset.state + ': ' + r.innerText.replace(/\s+/g, ' ')).join('\n')`)
	for _, want := range []string{"DICOM ファイルではない", "途中で切れている", "暗号化"} {
		if !strings.Contains(rows, want) {
			t.Errorf("no refusal saying %q:\n%s", want, rows)
		}
	}
	if !strings.Contains(rows, "匿名化済み（ANON-") {
		t.Errorf("no 匿名化済み note on the sent rows:\n%s", rows)
	}
	b.pageClean()

	// What reached the server: three files, none of the refused ones, and no
	// original name or ID in any stored byte.
	files := x.rcpt.filesByName(x.box)
	if len(files) != 3 {
		t.Fatalf("the box has %d files, want 3: %v", len(files), files)
	}
	for _, name := range []string{"not-dicom.dcm", "truncated.dcm", "locked.zip"} {
		if _, ok := files[name]; ok {
			t.Errorf("refused file %s reached the server", name)
		}
	}
	for name, id := range files {
		status, body, _ := x.rcpt.do("GET", "/api/v1/files/"+id+"/content", nil, nil)
		if status != 200 {
			t.Fatalf("download %s: %d", name, status)
		}
		contents := [][]byte{body}
		if strings.HasSuffix(name, ".zip") {
			zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, f := range zr.File {
				if strings.HasPrefix(path.Base(f.Name), "README") {
					continue // not DICOM: entries other than DICOM are sent as they are
				}
				rc, err := f.Open()
				if err != nil {
					t.Fatalf("%s/%s: %v", name, f.Name, err)
				}
				c, err := io.ReadAll(rc)
				if err != nil {
					t.Fatalf("%s/%s: %v", name, f.Name, err)
				}
				contents = append(contents, c)
			}
			if len(zr.File) < 50 {
				t.Errorf("%s has %d entries, the study had more", name, len(zr.File))
			}
		}
		for _, c := range contents {
			for _, s := range secrets {
				if len(s) >= 3 && bytes.Contains(c, s) {
					t.Errorf("%s: the stored bytes contain the original %q", name, s)
				}
			}
		}
	}

	// The recipient side: decided from the files once their previews are made.
	deadline := time.Now().Add(60 * time.Second)
	for {
		b.open(in.url + "/boxes/" + x.box)
		// A file is marked once its preview is made.
		marked := eval[string](b, `[...document.querySelectorAll('#files li.file')].filter(li => li.querySelector('.deid-badge')).map(li => li.querySelector('.file-name').textContent).sort().join(',')`)
		if marked == "charset_japanese_ir87.dcm,ct_small.dcm,study.zip" {
			break
		}
		if time.Now().After(deadline) {
			b.screenshot("failed-badges")
			t.Fatalf("files showing 匿名化済み: %q, want all three", marked)
		}
		time.Sleep(time.Second)
	}
	if h := eval[string](b, `document.getElementById("history").textContent`); !strings.Contains(h, "匿名化して送信") {
		t.Errorf("the history does not say the sender de-identified: %s", h)
	}
	b.screenshot("deid-badges")
	b.fitsWidth("box page with 匿名化済み")
	b.open(in.url + "/boxes/" + x.box + "/files/" + files["ct_small.dcm"])
	b.do("wait for the viewer", chromedp.WaitVisible(chromedp.CSS("#dv-summary")))
	if !strings.Contains(b.text("#viewer"), "匿名化済み") {
		t.Error("the viewer's header panel does not say 匿名化済み")
	}
	b.screenshot("deid-viewer")
}
