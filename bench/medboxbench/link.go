//go:build bench

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// runLink measures one emulated link: its capacity, MedBox's browser client as
// deployed (HTTP/2 page, HTTP/1.1 upload origins) and with one HTTP/2 origin,
// the single-stream upload, and downloads with BBR and with CUBIC.
func (b *bench) runLink(ctx context.Context, l link) error {
	say("link %s: rate %g Mbit/s, RTT %v, loss %g%%", l.Name, l.Mbit, l.RTT, l.Loss*100)
	wanemPID, err := b.netnsUp(l)
	if err != nil {
		return err
	}
	lr := b.res.link(l)

	// The ordinary upload's endpoint, on the same TLS certificate.
	sinkLog := filepath.Join(b.logs, l.slug()+"-sink.jsonl")
	sink := inNS(serverNS, b.self, "sink", "-listen", fmt.Sprintf("%s:%d", serverAddr, sinkPort), "-cert", b.cert, "-key", b.key, "-log", sinkLog)
	if err := sink.Start(); err != nil {
		return err
	}
	b.procs = append(b.procs, sink)
	defer b.stop(sink)

	if lr.Capacity, err = b.capacity(ctx, l); err != nil {
		return err
	}
	say("  capacity (iperf3, 64 streams): %.1f Mbit/s; payload rate of the link %.1f Mbit/s", lr.Capacity, l.payload())

	data := filepath.Join(b.work, "data-"+l.slug())
	os.RemoveAll(data)
	defer os.RemoveAll(data)
	deployed := serverConf{origins: b.origins, http2: true, chunk: b.chunk}
	s, err := b.startServer(ctx, serverNS, serverAddr, data, l.slug()+"-medbox", deployed)
	if err != nil {
		return err
	}
	acctFile := filepath.Join(b.work, "account-"+l.slug()+".json")
	if _, err := b.helper(ctx, serverNS, "prepare", "-base", s.base, "-cert", b.cert, "-data", data, "-medbox", b.medbox, "-out", acctFile); err != nil {
		b.stop(s.cmd)
		return err
	}
	acct, err := readAccount(acctFile)
	if err != nil {
		return err
	}
	restart := func(c serverConf) error {
		b.stop(s.cmd)
		s, err = b.startServer(ctx, serverNS, serverAddr, data, l.slug()+"-medbox", c)
		return err
	}
	defer func() { b.stop(s.cmd) }()

	if b.tune && l.Headline {
		if err := b.sweep(ctx, l, lr, restart, func() *server { return s }, acctFile, wanemPID); err != nil {
			return err
		}
		if err := restart(deployed); err != nil {
			return err
		}
	}

	// MedBox as deployed: every file set to the end.
	var bigFile string
	for _, set := range b.sets {
		r, err := b.browserRun(ctx, clientNS, s, acctFile, set, "medbox", 0, wanemPID)
		if err != nil {
			return err
		}
		lr.add(set, clientMedBox, r.Mbit, r.Done, r.Usage, fmt.Sprintf("%d origins, %d in flight", len(r.ByOrigin), r.Inflight))
		say("  %-9s %-22s %7.1f Mbit/s %s in %.0f s; server CPU %.0f%%, peak RSS %s; chunks by origin %v",
			set.Name, clientMedBox, r.Mbit, doneWord(r.Done), r.Seconds, r.Usage.ServerCPU, mib(r.Usage.ServerPeak), r.ByOrigin)
		if set.Count == 1 && r.Done && len(r.FileIDs) == 1 {
			bigFile = r.FileIDs[0]
		}
	}
	download := func(label string) {
		if bigFile == "" {
			return
		}
		mbit, done, u := b.download(ctx, s, acct, bigFile, b.capDown, wanemPID)
		lr.add(b.sets[0], label, mbit, done, u, "one connection, server sends")
		say("  %-9s %-22s %7.1f Mbit/s %s", b.sets[0].Name, label, mbit, doneWord(done))
	}
	download(clientDownBBR)

	// The same client with one HTTP/2 origin: every chunk on one connection.
	if err := restart(serverConf{http2: true, chunk: b.chunk}); err != nil {
		return err
	}
	for _, set := range b.sets {
		r, err := b.browserRun(ctx, clientNS, s, acctFile, set, clientH2, b.capShort, wanemPID)
		if err != nil {
			return err
		}
		lr.add(set, clientH2, r.Mbit, r.Done, r.Usage, fmt.Sprintf("%d in flight on one connection", r.Inflight))
		say("  %-9s %-22s %7.1f Mbit/s %s", set.Name, clientH2, r.Mbit, doneWord(r.Done))
	}
	if l.Headline {
		// And with one HTTP/1.1 origin: the browser's six connections.
		if err := restart(serverConf{http2: false, chunk: b.chunk}); err != nil {
			return err
		}
		set := b.sets[0]
		r, err := b.browserRun(ctx, clientNS, s, acctFile, set, clientH1, b.capShort, wanemPID)
		if err != nil {
			return err
		}
		lr.add(set, clientH1, r.Mbit, r.Done, r.Usage, fmt.Sprintf("%d in flight", r.Inflight))
		say("  %-9s %-22s %7.1f Mbit/s %s", set.Name, clientH1, r.Mbit, doneWord(r.Done))
	}
	if err := restart(serverConf{origins: b.origins, http2: true, cc: "system", chunk: b.chunk}); err != nil {
		return err
	}
	download(clientDownCubic)
	b.stop(s.cmd)

	// The ordinary upload: one stream, the same bytes.
	for _, set := range b.sets {
		mbit, done, u := b.curlUpload(ctx, set, b.capShort, sinkLog, sink.Process.Pid, wanemPID)
		lr.add(set, clientSingle, mbit, done, u, "curl -T, one connection")
		say("  %-9s %-22s %7.1f Mbit/s %s", set.Name, clientSingle, mbit, doneWord(done))
	}
	return nil
}

// sweep chooses the defaults from measurement on the headline link with the
// 1 GiB file: how many chunks in flight (each point cut at capTune: the rate
// the pool sustains), and the chunk size (each run to the end, since the
// chunks still in flight at the end — each on one slow connection — are what
// a large chunk costs). The deployed setting itself is measured in the main
// table.
func (b *bench) sweep(ctx context.Context, l link, lr *linkResult, restart func(serverConf) error, cur func() *server, acctFile string, wanemPID int) error {
	set := b.sets[0]
	try := func(c serverConf, capDur time.Duration) error {
		if err := restart(c); err != nil {
			return err
		}
		r, err := b.browserRun(ctx, clientNS, cur(), acctFile, set, "tune", capDur, wanemPID)
		if err != nil {
			return err
		}
		p := sweepPoint{Concurrency: r.Inflight, Chunk: c.chunk, Mbit: r.Mbit, Done: r.Done, Seconds: r.Seconds, Usage: r.Usage}
		if p.Chunk == 0 {
			p.Chunk = defaultChunk
		}
		lr.Sweep = append(lr.Sweep, p)
		say("  tune: %2d in flight, %s chunks: %6.1f Mbit/s %s (server CPU %.0f%%, browser CPU %.0f%%, machine CPU %.0f%%)",
			p.Concurrency, mib(p.Chunk), r.Mbit, doneWord(r.Done), r.Usage.ServerCPU, r.Usage.BrowserCPU, r.Usage.MachineCPU)
		return nil
	}
	for _, conc := range []int{6, 24, 48, 72, 96} {
		if err := try(serverConf{origins: (conc + 5) / 6, http2: true, chunk: b.chunk}, b.capTune); err != nil {
			return err
		}
	}
	for _, chunk := range []int64{4 << 20, 8 << 20} {
		if err := try(serverConf{origins: b.origins, http2: true, chunk: chunk}, 0); err != nil {
			return err
		}
	}
	return nil
}

// defaultChunk is MedBox's default chunk size (internal/config).
const defaultChunk = 2 << 20

func doneWord(done bool) string {
	if done {
		return "complete"
	}
	return "(cut at the cap)"
}

func numCPU() int { return runtime.NumCPU() }
