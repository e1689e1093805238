package main

import (
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
	"path/filepath"
	"sort"
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
