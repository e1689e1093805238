//go:build bench

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// runLink measures one emulated link: its capacity; MedBox's browser client
// with the upload hosts on port 443 (the headline arrangement), and on the
// headline link also through a CONNECT proxy, with upload listeners on ports of
// their own, and with the default settings (the page's origin alone); the
// single-stream upload; and downloads with BBR and with CUBIC. On the phone's
// link it measures the viewer instead.
func (b *bench) runLink(ctx context.Context, l link) error {
	say("link %s: rate %g Mbit/s, RTT %v, loss %g%%", l.Name, l.Mbit, l.RTT, l.Loss*100)
	wanemPID, err := b.netnsUp(l)
	if err != nil {
		return err
	}
	lr := b.res.link(l)

	if lr.Capacity, err = b.capacity(ctx, l); err != nil {
		return err
	}
	say("  capacity (iperf3, 64 streams): %.1f Mbit/s; payload rate of the link %.1f Mbit/s", lr.Capacity, l.payload())

	data := filepath.Join(b.work, "data-"+l.slug())
	os.RemoveAll(data)
	defer os.RemoveAll(data)
	deployed := serverConf{hosts: b.origins, http2: true, chunk: b.chunk}
	s, err := b.startServer(ctx, serverNS, serverAddr, pagePort, data, l.slug()+"-medbox", deployed)
	if err != nil {
		return err
	}
	defer func() { b.stop(s.cmd) }()
	acctFile := filepath.Join(b.work, "account-"+l.slug()+".json")
	if _, err := b.helper(ctx, serverNS, "prepare", "-base", s.base, "-addr", fmt.Sprintf("%s:%d", s.addr, s.port), "-cert", b.certs.cert,
		"-data", data, "-medbox", b.medbox, "-out", acctFile); err != nil {
		return err
	}
	acct, err := readAccount(acctFile)
	if err != nil {
		return err
	}
	if l.Phone {
		return b.runPhone(ctx, l, lr, s, acctFile)
	}
	restart := func(c serverConf) error {
		b.stop(s.cmd)
		s, err = b.startServer(ctx, serverNS, serverAddr, pagePort, data, l.slug()+"-medbox", c)
		return err
	}

	if b.tune && l.Headline {
		if err := b.sweep(ctx, l, lr, restart, func() *server { return s }, acctFile, wanemPID); err != nil {
			return err
		}
		if err := restart(deployed); err != nil {
			return err
		}
	}

	// (a) The upload hosts on 443, every file set to the end (on the other
	// links the first set).
	sets := b.sets
	if !l.Headline {
		sets = sets[:1]
	}
	browse := func(set fileSet, client string, capDur time.Duration, proxy string) (*browserResult, error) {
		r, err := b.browserRun(ctx, clientNS, s, acctFile, set, capDur, wanemPID, proxy)
		if err != nil {
			return nil, err
		}
		lr.add(set, client, r.Mbit, r.Done, r.Usage, r.note())
		say("  %-9s %-32s %7.1f Mbit/s %s in %.0f s; server CPU %.0f%%, browser CPU %.0f%%, peak RSS %s; %s",
			set.Name, client, r.Mbit, doneWord(r.Done), r.Seconds, r.Usage.ServerCPU, r.Usage.BrowserCPU, mib(r.Usage.ServerPeak), r.note())
		if r.Failed > 0 || len(r.PageError) > 0 {
			say("    %d files failed; page errors: %q", r.Failed, r.PageError)
		}
		return r, nil
	}
	var bigFile string
	for _, set := range sets {
		r, err := browse(set, clientHosts, 0, "")
		if err != nil {
			return err
		}
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
		say("  %-9s %-32s %7.1f Mbit/s %s", b.sets[0].Name, label, mbit, doneWord(done))
	}
	download(clientDownBBR)

	if l.Headline {
		// (c) The same through a hospital's explicit proxy.
		proxy, err := b.startProxy(ctx, s)
		if err != nil {
			return err
		}
		cpu0, _ := procCPU(proxy.Process.Pid)
		r, err := browse(b.sets[0], clientProxy, 0, fmt.Sprintf("http://127.0.0.1:%d", proxyPort))
		cpu1, _ := procCPU(proxy.Process.Pid)
		b.stop(proxy)
		if err != nil {
			return err
		}
		if r.Seconds > 0 {
			row := &lr.Rows[len(lr.Rows)-1]
			total, most := proxyTunnels(b.logs)
			row.Note += fmt.Sprintf("; squid: %d tunnels, %d at once, CPU %.0f %%", total, most, 100*(cpu1-cpu0).Seconds()/r.Seconds)
		}
		// (d) Upload listeners on ports of their own (a hospital must open them).
		if err := restart(serverConf{ports: b.origins, http2: true, chunk: b.chunk}); err != nil {
			return err
		}
		if _, err := browse(b.sets[0], clientPorts, 0, ""); err != nil {
			return err
		}
		// (b) MedBox's defaults: no upload origins, HTTP/1.1 on the page's origin.
		if err := restart(serverConf{chunk: b.chunk}); err != nil {
			return err
		}
		if _, err := browse(b.sets[0], clientDefault, b.capShort, ""); err != nil {
			return err
		}
	}
	if err := restart(serverConf{hosts: b.origins, http2: true, cc: "system", chunk: b.chunk}); err != nil {
		return err
	}
	download(clientDownCubic)
	b.stop(s.cmd)

	// The ordinary upload: one stream, the same bytes, to a plain sink on the
	// server's address.
	sinkLog := filepath.Join(b.logs, l.slug()+"-sink.jsonl")
	sink := inNS(serverNS, b.self, "sink", "-listen", fmt.Sprintf("%s:%d", serverAddr, sinkPort), "-cert", b.certs.cert, "-key", b.certs.key, "-log", sinkLog)
	if err := sink.Start(); err != nil {
		return err
	}
	b.procs = append(b.procs, sink)
	defer b.stop(sink)
	time.Sleep(300 * time.Millisecond)
	for _, set := range sets {
		mbit, done, u := b.curlUpload(ctx, set, b.capShort, sinkLog, sink.Process.Pid, wanemPID)
		lr.add(set, clientSingle, mbit, done, u, "curl -T, one connection")
		say("  %-9s %-32s %7.1f Mbit/s %s", set.Name, clientSingle, mbit, doneWord(done))
	}
	return nil
}

// note says how a browser run went out: to how many origins, how many chunks
// at once, and over which protocols (the page's, then the chunks').
func (r *browserResult) note() string {
	var protos []string
	for p, n := range r.Protocols {
		protos = append(protos, fmt.Sprintf("%d %s", n, strings.TrimPrefix(p, "HTTP/")))
	}
	sort.Strings(protos)
	note := fmt.Sprintf("%d in flight to %d hosts; page %s, chunks %s", r.Inflight, r.Hosts, r.PageProto, strings.Join(protos, " + "))
	if r.Refused > 0 {
		note += fmt.Sprintf(", %d refused", r.Refused)
	}
	return note
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
		r, err := b.browserRun(ctx, clientNS, cur(), acctFile, set, capDur, wanemPID, "")
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
		if err := try(serverConf{hosts: (conc + 5) / 6, http2: true, chunk: b.chunk}, b.capTune); err != nil {
			return err
		}
	}
	for _, chunk := range []int64{4 << 20, 8 << 20} {
		if err := try(serverConf{hosts: b.origins, http2: true, chunk: chunk}, 0); err != nil {
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
