//go:build bench

// Command medbox-deidbench measures the browser's DICOM de-identification
// (internal/web/static/deid-worker.js) in headless Chromium, as `make bench`
// runs it: a 500-file CT series (testdata/dicom/ct_small.dcm, each file with its
// own instance UID) and one large multi-frame file (a generated 512×512 16-bit
// CT of -frames frames). It prints MB/s of input rewritten, counting until the
// worker has handed back every output Blob and until those Blobs have been read
// through once, as the upload's hashing reads them.
//
//	go build -tags bench -o bin/medbox-deidbench ./bench/deidbench && bin/medbox-deidbench
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	chromium := flag.String("chromium", "/usr/bin/chromium", "browser")
	static := flag.String("static", "internal/web/static", "MedBox's static files")
	ct := flag.String("ct", "testdata/dicom/ct_small.dcm", "the CT slice the series is made of")
	files := flag.Int("files", 500, "files in the series")
	frames := flag.Int("frames", 1000, "frames of the multi-frame file (512 KiB each)")
	work := flag.String("work", os.TempDir(), "where the test files are written")
	flag.Parse()

	dir, err := os.MkdirTemp(*work, "medbox-deidbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	series, seriesBytes := makeSeries(*ct, dir, *files)
	multi, multiBytes := makeMultiFrame(dir, *frames)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(*static))))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>deid bench</title><input type="file" id="f" multiple>`)
	})
	go http.Serve(ln, mux)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(*chromium), chromedp.NoSandbox, chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Navigate("http://"+ln.Addr().String()+"/")); err != nil {
		log.Fatalf("chromium: %v", err)
	}
	a := measure(ctx, series)
	b := measure(ctx, []string{multi})
	mb := func(n int64, d float64) float64 { return float64(n) / 1e6 / d }
	fmt.Printf("de-identification in the browser: %d-file CT series (%.0f MB) %.0f MB/s rewritten, %.0f MB/s read through; "+
		"%d-frame file (%.0f MB) %.0f MB/s rewritten, %.0f MB/s read through\n",
		len(series), float64(seriesBytes)/1e6, mb(seriesBytes, a.Rewrite), mb(seriesBytes, a.Read),
		*frames, float64(multiBytes)/1e6, mb(multiBytes, b.Rewrite), mb(multiBytes, b.Read))
}

type timing struct {
	Rewrite float64 `json:"rewrite"` // seconds until every output Blob was back
	Read    float64 `json:"read"`    // seconds until they were also read through
}

func measure(ctx context.Context, paths []string) timing {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.CSS("#f"), paths)); err != nil {
		log.Fatalf("choose files: %v", err)
	}
	const js = `(async () => {
		const files = [...document.getElementById('f').files];
		const t0 = performance.now();
		const w = new Worker('/static/deid-worker.js', {type: 'module'});
		const res = await new Promise((ok, bad) => {
			w.onmessage = (e) => { if (e.data.results) ok(e.data.results); };
			w.onerror = (e) => bad(new Error(e.message));
			w.postMessage({files, options: {}, dicom: true, photos: false});
		});
		w.terminate();
		const t1 = performance.now();
		for (const r of res) {
			if (!r.blob) throw new Error('not rewritten: ' + JSON.stringify(r.error));
			const rd = r.blob.stream().getReader();
			for (;;) { const {done} = await rd.read(); if (done) break; }
		}
		const t2 = performance.now();
		return JSON.stringify({rewrite: (t1 - t0) / 1000, read: (t2 - t0) / 1000});
	})()`
	var t timing
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		log.Fatalf("run deid-worker.js: %v", err)
	}
	if err := json.Unmarshal([]byte(v), &t); err != nil {
		log.Fatal(err)
	}
	return t
}

// makeSeries writes n copies of the CT slice, each with its own SOP Instance
// UID (the last digits changed, the length kept).
func makeSeries(ct, dir string, n int) ([]string, int64) {
	src, err := os.ReadFile(ct)
	if err != nil {
		log.Fatal(err)
	}
	tag := []byte{0x08, 0x00, 0x18, 0x00, 'U', 'I'}
	i := bytes.Index(src, tag)
	if i < 0 {
		log.Fatal("no SOP Instance UID in the CT slice")
	}
	l := int(binary.LittleEndian.Uint16(src[i+6:]))
	var out []string
	var total int64
	for k := 0; k < n; k++ {
		b := bytes.Clone(src)
		v := b[i+8 : i+8+l]
		copy(v[len(v)-6:], fmt.Sprintf("%05d", k))
		p := filepath.Join(dir, fmt.Sprintf("CT%05d.dcm", k))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			log.Fatal(err)
		}
		out = append(out, p)
		total += int64(len(b))
	}
	return out, total
}

// makeMultiFrame writes an explicit VR little endian multi-frame CT of 512×512
// 16-bit frames with a patient name, ID and UIDs to replace.
func makeMultiFrame(dir string, frames int) (string, int64) {
	var h bytes.Buffer
	h.Write(make([]byte, 128))
	h.WriteString("DICM")
	el := func(g, e uint16, vr string, v []byte) {
		if len(v)%2 == 1 {
			v = append(v, ' ')
		}
		binary.Write(&h, binary.LittleEndian, [2]uint16{g, e})
		h.WriteString(vr)
		if vr == "OW" || vr == "OB" {
			h.Write([]byte{0, 0})
			binary.Write(&h, binary.LittleEndian, uint32(len(v)))
		} else {
			binary.Write(&h, binary.LittleEndian, uint16(len(v)))
		}
		h.Write(v)
	}
	us := func(x uint16) []byte { return binary.LittleEndian.AppendUint16(nil, x) }
	meta := []struct {
		e uint16
		v string
	}{{0x0002, "1.2.840.10008.5.1.4.1.1.2\x00"}, {0x0003, "1.2.3.4.5.6.7.8.9\x00"}, {0x0010, "1.2.840.10008.1.2.1\x00"}}
	var m bytes.Buffer
	for _, x := range meta {
		binary.Write(&m, binary.LittleEndian, [2]uint16{0x0002, x.e})
		m.WriteString("UI")
		binary.Write(&m, binary.LittleEndian, uint16(len(x.v)))
		m.WriteString(x.v)
	}
	el(0x0002, 0x0000, "UL", binary.LittleEndian.AppendUint32(nil, uint32(m.Len())))
	h.Write(m.Bytes())
	el(0x0008, 0x0016, "UI", []byte("1.2.840.10008.5.1.4.1.1.2\x00"))
	el(0x0008, 0x0018, "UI", []byte("1.2.3.4.5.6.7.8.9\x00"))
	el(0x0008, 0x0020, "DA", []byte("20260101"))
	el(0x0008, 0x0060, "CS", []byte("CT"))
	el(0x0010, 0x0010, "PN", []byte("Yamada^Taro"))
	el(0x0010, 0x0020, "LO", []byte("12345678"))
	el(0x0020, 0x000D, "UI", []byte("1.2.3.4.5.6.7.8.10\x00"))
	el(0x0020, 0x000E, "UI", []byte("1.2.3.4.5.6.7.8.11\x00"))
	el(0x0028, 0x0002, "US", us(1))
	el(0x0028, 0x0004, "CS", []byte("MONOCHROME2"))
	el(0x0028, 0x0008, "IS", []byte(fmt.Sprint(frames)))
	el(0x0028, 0x0010, "US", us(512))
	el(0x0028, 0x0011, "US", us(512))
	el(0x0028, 0x0100, "US", us(16))
	el(0x0028, 0x0101, "US", us(12))
	el(0x0028, 0x0102, "US", us(11))
	el(0x0028, 0x0103, "US", us(0))
	n := int64(frames) * 512 * 512 * 2
	binary.Write(&h, binary.LittleEndian, [2]uint16{0x7FE0, 0x0010})
	h.WriteString("OW\x00\x00")
	binary.Write(&h, binary.LittleEndian, uint32(n))
	p := filepath.Join(dir, "multiframe.dcm")
	f, err := os.Create(p)
	if err != nil {
		log.Fatal(err)
	}
	f.Write(h.Bytes())
	frame := make([]byte, 512*512*2)
	for i := range frame {
		frame[i] = byte(i * 7)
	}
	for k := 0; k < frames; k++ {
		if _, err := f.Write(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	return p, int64(h.Len()) + n
}
