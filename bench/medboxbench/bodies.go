//go:build bench

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// bodyResult is what one browser measured in the chunk-body test: ms to send
// the chunks, per run, as Blob slices and as ArrayBuffers.
type bodyResult struct {
	Browser     string    `json:"browser"`
	Version     string    `json:"version"`
	Blob        []float64 `json:"blob"` // ms per run
	ArrayBuffer []float64 `json:"arraybuffer"`
	Error       string    `json:"error,omitempty"`
}

// The chunk-body test: 20 chunks of 2 MiB, six at once, as upload.js sends
// them on one origin.
const (
	bodyChunks = 20
	bodyChunk  = 2 << 20
	bodyRuns   = 5
)

// runBodies asks, in Chromium and in Firefox, whether a chunk body sent as an
// ArrayBuffer (read and hashed in a worker, handed back) is slower than the
// Blob slice itself (what upload.js sends), on loopback over TLS. It runs
// bench/bodies/bodies.mjs with puppeteer-core (`npm ci` in bench/bodies).
func (b *bench) runBodies(ctx context.Context) error {
	dir := filepath.Join(b.repo, "bench", "bodies")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core")); err != nil {
		say("  chunk bodies: skipped: no bench/bodies/node_modules (npm ci --prefix bench/bodies)")
		return nil
	}
	file := filepath.Join(b.work, "files", "bodies-40MiB.bin")
	if fi, err := os.Stat(file); err != nil || fi.Size() != bodyChunks*bodyChunk {
		if err := writeRandom(file, bodyChunks*bodyChunk, 40); err != nil {
			return err
		}
	}
	browsers := []struct{ name, exec string }{{"chrome", b.chromium}, {"firefox", envOr("MEDBOX_FIREFOX", "/usr/bin/firefox-esr")}}
	for _, br := range browsers {
		r := bodyResult{Browser: br.name}
		cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "bodies.mjs"), "--browser", br.name, "--exec", br.exec, "--file", file,
			"--cert", b.certs.cert, "--key", b.certs.key, "--chunks", fmt.Sprint(bodyChunks), "--chunk", fmt.Sprint(bodyChunk),
			"--runs", fmt.Sprint(bodyRuns))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err == nil {
			err = json.Unmarshal(out, &r)
		}
		if err != nil {
			r.Error = strings.TrimSpace(fmt.Sprintf("%v: %s", err, lastLine(stderr.String())))
		}
		b.res.Bodies = append(b.res.Bodies, r)
		say("  chunk bodies, %s %s: Blob.slice %v ms, ArrayBuffer %v ms %s", br.name, r.Version, r.Blob, r.ArrayBuffer, r.Error)
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// writeBodies writes the chunk-body table.
func writeBodies(md *strings.Builder, rs []bodyResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(md, "## Chunk bodies: Blob.slice or ArrayBuffer (loopback, TLS)\n\n"+
		"%d chunks of %d MiB of one file chosen in a file input, %d PUTs at once (XMLHttpRequest), each chunk read and hashed "+
		"(SHA-256) in a worker first; sent as the Blob slice (upload.js now) or as the ArrayBuffer the worker read and handed back "+
		"(upload.js before). ms from the first slice to the last answer, median of %d runs each, alternating (bench/bodies/bodies.mjs).\n\n",
		bodyChunks, bodyChunk>>20, 6, bodyRuns)
	md.WriteString("| browser | Blob.slice ms | ArrayBuffer ms | ArrayBuffer ÷ Blob | runs (Blob; ArrayBuffer) |\n|---|--:|--:|--:|---|\n")
	for _, r := range rs {
		if r.Error != "" {
			fmt.Fprintf(md, "| %s | — | — | — | failed: %s |\n", r.Browser, r.Error)
			continue
		}
		bl, ab := medianOf(r.Blob), medianOf(r.ArrayBuffer)
		ratio := "—"
		if bl > 0 {
			ratio = fmt.Sprintf("%.1f×", ab/bl)
		}
		fmt.Fprintf(md, "| %s | %.0f | %.0f | %s | %v; %v |\n", r.Version, bl, ab, ratio, r.Blob, r.ArrayBuffer)
	}
	md.WriteString("\n")
}
