//go:build bench

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The clients of a link's table.
const (
	clientHosts     = "(a) medbox, upload hosts on 443"    // the headline: page and upload host names on one address, port 443
	clientDefault   = "(b) medbox, defaults (one origin)"  // no upload origins: the page's origin alone, HTTP/1.1
	clientProxy     = "(c) medbox, upload hosts via proxy" // (a) through an explicit CONNECT proxy (squid) on the client side
	clientPorts     = "(d) medbox, upload ports"           // upload listeners on ports 8444–8455
	clientSingle    = "single stream"                      // curl -T to the sink
	clientDownBBR   = "download, BBR"                      // curl from MedBox, server on BBR (default)
	clientDownCubic = "download, CUBIC"                    // the same with the system's CUBIC
)

// results are everything one `make bench` measured.
type results struct {
	Stamp    string          `json:"stamp"`
	Machine  string          `json:"machine"`
	Commit   string          `json:"commit"`          // git rev-parse HEAD of the tree measured
	Dirty    []string        `json:"dirty,omitempty"` // git status --porcelain: empty for a clean tree
	Load     string          `json:"load"`            // load average when the bench started
	LoadEnd  string          `json:"load_end"`        // and when it ended
	Bodies   []bodyResult    `json:"bodies,omitempty"`
	Quick    bool            `json:"quick"`
	Origins  int             `json:"origins"`
	Links    []*linkResult   `json:"links"`
	Loopback *loopbackResult `json:"loopback,omitempty"`
}

type linkResult struct {
	Link     link           `json:"link"`
	Capacity float64        `json:"capacity_mbit"` // iperf3, 64 streams
	Rows     []row          `json:"rows"`
	Sweep    []sweepPoint   `json:"sweep,omitempty"`
	Viewer   []viewerResult `json:"viewer,omitempty"`
}

type row struct {
	Set    fileSet `json:"set"`
	Client string  `json:"client"`
	Mbit   float64 `json:"mbit"`
	Done   bool    `json:"complete"`
	Usage  usage   `json:"usage"`
	Note   string  `json:"note"`
}

type sweepPoint struct {
	Concurrency int     `json:"concurrency"` // most chunk PUTs seen in flight
	Chunk       int64   `json:"chunk"`
	Mbit        float64 `json:"mbit"`
	Done        bool    `json:"complete"`
	Seconds     float64 `json:"seconds"`
	Usage       usage   `json:"usage"`
}

func newResults(s settings, stamp string) *results {
	return &results{Stamp: stamp, Quick: s.quick, Origins: s.origins}
}

func (r *results) link(l link) *linkResult {
	lr := &linkResult{Link: l}
	r.Links = append(r.Links, lr)
	return lr
}

func (lr *linkResult) add(set fileSet, client string, mbit float64, done bool, u usage, note string) {
	lr.Rows = append(lr.Rows, row{Set: set, Client: client, Mbit: mbit, Done: done, Usage: u, Note: note})
}

func (lr *linkResult) find(set, client string) *row {
	for i := range lr.Rows {
		if lr.Rows[i].Set.Name == set && lr.Rows[i].Client == client {
			return &lr.Rows[i]
		}
	}
	return nil
}

// report writes the results as Markdown and JSON under bench/results, prints
// the tables, and ends with the headline.
func (b *bench) report() error {
	var md strings.Builder
	r := b.res
	mode := "full"
	if r.Quick {
		mode = "quick (BENCH_QUICK=1: one link, smaller files, shorter caps)"
	}
	fmt.Fprintf(&md, "# make bench — %s UTC\n\n", r.Stamp)
	tree := "clean tree"
	if len(r.Dirty) > 0 {
		tree = fmt.Sprintf("%d uncommitted changes: %s", len(r.Dirty), strings.Join(r.Dirty, "; "))
	}
	fmt.Fprintf(&md, "Commit %s (%s). Machine: %s. Load average at the start %s, at the end %s. Mode: %s.\n\n",
		r.Commit, tree, r.Machine, r.Load, r.LoadEnd, mode)
	fmt.Fprintf(&md, "(a), the headline: page https://%s and %d upload hosts up1…up%d.%s, all on one address and port 443; "+
		"the page's certificate does not name the upload hosts, which have their own (HTTP/1.1 only); MEDBOX_HTTP2=true on the page, "+
		"so that the table shows whether the browser folds the upload hosts into the page's HTTP/2 connection (\"chunks h2\" if it did). "+
		"(b) MedBox's defaults: no upload origins, HTTP/1.1. (c) (a) through squid, an explicit CONNECT proxy on the client's side "+
		"(Chromium --proxy-server). (d) %d upload listeners on ports 8444–8455.\n\n", pageHost, r.Origins, r.Origins, pageHost, r.Origins)
	md.WriteString("Goodput is payload bytes over wall time: for a complete run from choosing the files to the last one completed;\n" +
		"for a run cut at its cap, bytes the server received (stored, or read by the sink) over the time until the cap.\n" +
		"÷ link is against the link's capacity measured with iperf3 (64 CUBIC streams) in the same run; ÷ payload rate against the most\n" +
		"TCP can carry on the emulated link (its rate less headers and losses), which a busy machine cannot lower. CPU is percent of one core,\n" +
		"averaged over the run (the machine column: percent of all cores); RSS is the server's peak during the run.\n\n")
	for _, lr := range r.Links {
		l := lr.Link
		fmt.Fprintf(&md, "## %s — %g Mbit/s, RTT %v, loss %g %%\n\n", l.Name, l.Mbit, l.RTT, l.Loss*100)
		fmt.Fprintf(&md, "Capacity: %.1f Mbit/s with iperf3 (64 streams); payload rate of the link %.1f Mbit/s.\n\n", lr.Capacity, l.payload())
		if l.Phone {
			writeViewer(&md, lr)
			continue
		}
		md.WriteString("| files | client | goodput Mbit/s | ÷ single stream | ÷ link | ÷ payload rate | complete | server CPU % | server RSS start → peak | browser CPU % | emulator CPU % | machine CPU % | note |\n")
		md.WriteString("|---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|---|\n")
		for _, row := range lr.Rows {
			ratio := "—"
			if single := lr.find(row.Set.Name, clientSingle); single != nil && single.Mbit > 0 && !strings.HasPrefix(row.Client, "download") {
				ratio = fmt.Sprintf("%.1f×", row.Mbit/single.Mbit)
			}
			share := "—"
			if lr.Capacity > 0 {
				share = fmt.Sprintf("%.0f %%", 100*row.Mbit/lr.Capacity)
			}
			browser := "—"
			if row.Usage.BrowserCPU > 0 {
				browser = fmt.Sprintf("%.0f", row.Usage.BrowserCPU)
			}
			fmt.Fprintf(&md, "| %s | %s | %.1f | %s | %s | %.0f %% | %s | %.0f | %s | %s | %.0f | %.0f | %s |\n", row.Set.Name, row.Client, row.Mbit, ratio, share,
				100*row.Mbit/l.payload(), yesNo(row.Done), row.Usage.ServerCPU, rssRange(row.Usage), browser, row.Usage.WanemCPU, row.Usage.MachineCPU, row.Note)
		}
		if len(lr.Sweep) > 0 {
			md.WriteString("\nTuning with the 1 GiB file (chunks in flight: each point cut at 30 s, 6 per upload origin; chunk size: each run to the end):\n\n")
			md.WriteString("| chunks in flight | chunk size | goodput Mbit/s | ÷ link | complete | seconds | server CPU % | browser CPU % | machine CPU % |\n|--:|--:|--:|--:|---|--:|--:|--:|--:|\n")
			for _, p := range lr.Sweep {
				fmt.Fprintf(&md, "| %d | %s | %.1f | %.0f %% | %s | %.0f | %.0f | %.0f | %.0f |\n", p.Concurrency, mib(p.Chunk), p.Mbit, 100*p.Mbit/lr.Capacity,
					yesNo(p.Done), p.Seconds, p.Usage.ServerCPU, p.Usage.BrowserCPU, p.Usage.MachineCPU)
			}
		}
		md.WriteString("\n")
	}
	if lb := r.Loopback; lb != nil {
		md.WriteString("## Loopback (no emulator; TLS on 127.0.0.1)\n\n")
		md.WriteString("| measure | MiB/s | Mbit/s | server CPU % | server RSS start → peak | machine CPU % | note |\n|---|--:|--:|--:|--:|--:|---|\n")
		for _, m := range lb.Rows {
			fmt.Fprintf(&md, "| %s | %.0f | %.0f | %.0f | %s | %.0f | %s |\n", m.Name, m.MBps, m.MBps*8*1.048576, m.Usage.ServerCPU, rssRange(m.Usage), m.Usage.MachineCPU, m.Note)
		}
		md.WriteString("\n")
	}
	writeBodies(&md, r.Bodies)
	headline := b.headline()
	fmt.Fprintf(&md, "Headline: %s, (a) with %s.\n\n%s\n", b.headlineLink(), b.sets[0].Name, headline)

	if err := os.MkdirAll(b.out, 0o755); err != nil {
		return err
	}
	name := r.Stamp
	if r.Quick {
		name += "-quick"
	}
	mdPath := filepath.Join(b.out, name+".md")
	if err := os.WriteFile(mdPath, []byte(md.String()), 0o644); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(filepath.Join(b.out, name+".json"), js, 0o644); err != nil {
		return err
	}
	fmt.Print(md.String())
	fmt.Printf("\nresults: %s\n", mdPath)
	fmt.Println(headline)
	return nil
}

func (b *bench) headlineLink() string {
	for _, lr := range b.res.Links {
		if lr.Link.Headline {
			return lr.Link.Name
		}
	}
	return "no headline link measured"
}

// headline is the last line of make bench: (a) against the single stream on
// the headline link.
func (b *bench) headline() string {
	prefix := fmt.Sprintf("upload goodput (443 only, %d upload hosts):", b.origins)
	for _, lr := range b.res.Links {
		if !lr.Link.Headline {
			continue
		}
		mb, single := lr.find(b.sets[0].Name, clientHosts), lr.find(b.sets[0].Name, clientSingle)
		if mb == nil || single == nil || single.Mbit == 0 {
			break
		}
		return fmt.Sprintf("%s medbox %.1f Mbit/s, single-stream %.1f Mbit/s, ratio %.1f, link %.1f Mbit/s",
			prefix, mb.Mbit, single.Mbit, mb.Mbit/single.Mbit, lr.Capacity)
	}
	return prefix + " the 200 Mbit/s / 60 ms / 0.5 % link was not measured"
}

// writeViewer writes the phone's table: the time from opening the viewer page
// to the first image, and to the file's own frame on the canvas.
func writeViewer(md *strings.Builder, lr *linkResult) {
	md.WriteString("The viewer in Chromium at the size of a phone (390 × 844 CSS pixels, 3 device pixels per pixel, touch), " +
		"opened from the box page with an empty cache; times from the start of the navigation to the viewer's marks, median of the runs.\n\n")
	md.WriteString("| file | size | frames | first image ms | first mark | full frame ms | runs (first image ms) |\n|---|--:|--:|--:|---|--:|---|\n")
	for _, v := range lr.Viewer {
		first := ""
		if len(v.Runs) > 0 {
			first = v.Runs[len(v.Runs)-1].First
		}
		fmt.Fprintf(md, "| %s | %.1f MB | %d (%d × %d) | %.0f | %s | %.0f | %v |\n", v.Name, float64(v.Bytes)/1e6, v.Frames, v.Width, v.Height,
			v.median(func(r viewerRun) float64 { return r.FirstMs }), first, v.median(func(r viewerRun) float64 { return r.FullMs }), firstTimes(v.Runs))
	}
	md.WriteString("\n")
}

func rssRange(u usage) string {
	if u.ServerPeak == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f → %.0f MiB", float64(u.ServerStart)/(1<<20), float64(u.ServerPeak)/(1<<20))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "cut at cap"
}
