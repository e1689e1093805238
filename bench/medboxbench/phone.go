//go:build bench

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// phoneFiles are the DICOM files whose first image the phone waits for: a
// small multi-frame MR series and a large chest radiograph (testdata/dicom).
var phoneFiles = []string{"mr_10frame_native.dcm", "cr_chest_mono1_implicit.dcm"}

// phoneRuns is how often each file is opened; the table shows the median.
const phoneRuns = 5

// viewerResult is what opening one file in the viewer on the phone measured.
type viewerResult struct {
	Name   string      `json:"name"`
	Bytes  int64       `json:"bytes"`
	Frames int         `json:"frames"`
	Width  int         `json:"width"`
	Height int         `json:"height"`
	Runs   []viewerRun `json:"runs"`
}

// viewerRun is one opening of the viewer page: when each of the viewer's marks
// was set, in ms from the start of the navigation.
type viewerRun struct {
	FirstMs float64            `json:"first_ms"`   // the first image on screen, whatever it was
	First   string             `json:"first_mark"` // which mark that was
	FullMs  float64            `json:"full_ms"`    // the file's own frame drawn on the canvas (0: never)
	Marks   map[string]float64 `json:"marks"`
}

// firstMarks name the marks that say an image of the file is on screen:
// viewer.js sets medbox-viewer-first* (the server's rendering loaded, the
// frame drawn on the canvas), and a viewer that shows a screen-sized rendering
// first may set medbox-first-frame. The earliest of them is the first image.
func isFirstMark(name string) bool {
	return strings.HasPrefix(name, "medbox-viewer-first") || name == "medbox-first-frame"
}

// fullMark is set when the file's own frame, full resolution, is on the canvas.
const fullMark = "medbox-viewer-firstImageMs"

func (r viewerResult) median(f func(viewerRun) float64) float64 {
	var v []float64
	for _, run := range r.Runs {
		v = append(v, f(run))
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// runPhone measures, on the phone's link, the time from opening the viewer
// page of a DICOM file to its first image, in Chromium at the size of a phone.
func (b *bench) runPhone(ctx context.Context, l link, lr *linkResult, s *server, acctFile string) error {
	var paths []string
	for _, f := range phoneFiles {
		paths = append(paths, filepath.Join(b.repo, "testdata", "dicom", f))
	}
	out, err := b.helper(ctx, serverNS, "dicom", "-account", acctFile, "-cert", b.certs.cert, "-files", strings.Join(paths, ","))
	if err != nil {
		return err
	}
	var up dicomUpload
	if err := json.Unmarshal(out, &up); err != nil {
		return fmt.Errorf("dicom said %q: %w", out, err)
	}
	out, err = b.helper(ctx, clientNS, "viewer", "-base", s.base, "-account", acctFile, "-box", up.Box, "-files", strings.Join(up.IDs, ","),
		"-runs", fmt.Sprint(phoneRuns), "-chromium", b.chromium, "-spki", b.certs.spki, "-resolve", s.resolverRules())
	if err != nil {
		return err
	}
	var runs [][]viewerRun
	if err := json.Unmarshal(out, &runs); err != nil {
		return fmt.Errorf("viewer said %q: %w", out, err)
	}
	for i, f := range up.Files {
		f.Runs = runs[i]
		lr.Viewer = append(lr.Viewer, f)
		say("  viewer %-30s %5.1f MB, %d frames %dx%d: first image %4.0f ms (%s), full frame %4.0f ms; runs %v",
			f.Name, float64(f.Bytes)/1e6, f.Frames, f.Width, f.Height, f.median(func(r viewerRun) float64 { return r.FirstMs }),
			f.Runs[len(f.Runs)-1].First, f.median(func(r viewerRun) float64 { return r.FullMs }), firstTimes(f.Runs))
	}
	return nil
}

func firstTimes(runs []viewerRun) []int {
	var out []int
	for _, r := range runs {
		out = append(out, int(r.FirstMs))
	}
	return out
}

// dicomUpload is what the dicom helper uploaded.
type dicomUpload struct {
	Box   string         `json:"box"`
	IDs   []string       `json:"ids"`
	Files []viewerResult `json:"files"`
}

// runDICOM uploads DICOM files into a new box through the API (on the server's
// side of the link: this is not what is measured), waits until their previews
// are ready and prints a dicomUpload.
func runDICOM(args []string) error {
	fs := flag.NewFlagSet("dicom", flag.ExitOnError)
	acctFile := fs.String("account", "account.json", "account from prepare")
	cert := fs.String("cert", "", "the server's certificate")
	files := fs.String("files", "", "comma-separated DICOM files")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	acct, err := readAccount(*acctFile)
	if err != nil {
		return err
	}
	c, err := newClient(acct.Base, acct.Addr, *cert, 4)
	if err != nil {
		return err
	}
	c.token = acct.Token
	up := dicomUpload{}
	if up.Box, err = c.newBox(ctx, acct); err != nil {
		return err
	}
	for _, p := range strings.Split(*files, ",") {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		id, err := c.upload(ctx, up.Box, p, 4)
		if err != nil {
			return fmt.Errorf("upload %s: %w", p, err)
		}
		var info struct {
			Status string `json:"status"`
			Frames int    `json:"frames"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
		}
		for info.Status != "ready" {
			if info.Status == "failed" || ctx.Err() != nil {
				return fmt.Errorf("preview of %s: %q", p, info.Status)
			}
			time.Sleep(200 * time.Millisecond)
			if err := c.json(ctx, "GET", "/api/v1/files/"+id+"/dicom", nil, http.StatusOK, &info); err != nil {
				return err
			}
		}
		up.IDs = append(up.IDs, id)
		up.Files = append(up.Files, viewerResult{Name: filepath.Base(p), Bytes: fi.Size(), Frames: info.Frames, Width: info.Width, Height: info.Height})
	}
	return json.NewEncoder(os.Stdout).Encode(up)
}

// runViewer signs in with headless Chromium at the size of a phone (390 × 844
// CSS pixels, 3 device pixels each, touch), opens the box page, and then opens
// each file's viewer page runs times, with an empty cache each time but the
// connections of the box page, as a member who taps the file in the box. It
// prints, per file, each run's marks.
func runViewer(args []string) error {
	fs := flag.NewFlagSet("viewer", flag.ExitOnError)
	base := fs.String("base", "https://"+pageHost, "MedBox base URL")
	acctFile := fs.String("account", "", "account JSON from prepare")
	box := fs.String("box", "", "box id")
	files := fs.String("files", "", "comma-separated file ids")
	runs := fs.Int("runs", 3, "openings per file")
	chromium := fs.String("chromium", "/usr/bin/chromium", "browser")
	spki := fs.String("spki", "", "base64 SHA-256 of the server's public keys, to trust its certificates")
	rules := fs.String("resolve", "", "Chromium --host-resolver-rules")
	fs.Parse(args)
	acct, err := readAccount(*acctFile)
	if err != nil {
		return err
	}
	ctx, done, err := startChromium(*chromium, *spki, *rules, "", 390, 844)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		return fmt.Errorf("emulate a phone: %w", err)
	}
	if err := signIn(ctx, *base, acct); err != nil {
		return err
	}
	var out [][]viewerRun
	for _, id := range strings.Split(*files, ",") {
		var rs []viewerRun
		for range *runs {
			err := chromedp.Do(ctx,
				chromedp.Navigate(*base+"/boxes/"+*box),
				chromedp.WaitVisible(chromedp.CSS(`#files`)),
				chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
					_, err := cdp.Call(ctx, t, network.ClearBrowserCache, cdp.Empty{})
					return err
				}),
				chromedp.Navigate(*base+"/boxes/"+*box+"/files/"+id),
			)
			if err != nil {
				return fmt.Errorf("open the viewer of %s: %w", id, err)
			}
			r, err := waitMarks(ctx)
			if err != nil {
				return fmt.Errorf("viewer of %s: %w", id, err)
			}
			rs = append(rs, r)
		}
		out = append(out, rs)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// waitMarks waits until the viewer has put its first image on screen (60 s at
// most) and then, 15 s at most, for the file's own frame on the canvas, and
// returns the marks.
func waitMarks(ctx context.Context) (viewerRun, error) {
	const read = `(() => {
		const m = {};
		for (const e of performance.getEntriesByType('mark')) if (e.name.startsWith('medbox-')) m[e.name] = e.startTime;
		return m;
	})()`
	deadline := time.Now().Add(60 * time.Second)
	var r viewerRun
	for {
		marks, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](read))
		if err != nil {
			return r, err
		}
		first := r.First != ""
		r = viewerRun{Marks: marks, FullMs: marks[fullMark]}
		for name, ms := range marks {
			if isFirstMark(name) && (r.First == "" || ms < r.FirstMs) {
				r.First, r.FirstMs = name, ms
			}
		}
		if r.FullMs > 0 {
			return r, nil
		}
		if !first && r.First != "" {
			deadline = time.Now().Add(15 * time.Second)
		}
		if time.Now().After(deadline) {
			if r.First != "" {
				return r, nil
			}
			return r, errors.New("no first image after 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
