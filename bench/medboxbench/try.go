//go:build bench

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runTry measures one browser upload on one link with one server setting, for
// exploring beyond the fixed matrix of run:
//
//	medbox-bench try -link 200M-60ms-0.5% -hosts 8 -conc 48 -chunk 4MiB -set 1GiB -cap 30s
//	medbox-bench try -hosts 12 -proxy          the same through squid on the client side
//	medbox-bench try -hosts 0 -ports 12        upload listeners on ports 8444–8455
func runTry(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("try", flag.ExitOnError)
	linkName := fs.String("link", allLinks[0].Name, "link: "+linkNames())
	hosts := fs.Int("hosts", 12, "upload host names on 443 (0: none)")
	ports := fs.Int("ports", 0, "upload listeners on ports 8444… (0: none)")
	proxy := fs.Bool("proxy", false, "through squid, an explicit CONNECT proxy on the client side")
	h2 := fs.Bool("http2", true, "HTTP/2 on the main origin")
	conc := fs.Int("conc", 0, "MEDBOX_UPLOAD_CONCURRENCY (0: client default)")
	chunk := fs.String("chunk", "", "MEDBOX_CHUNK_SIZE (empty: default)")
	setName := fs.String("set", "1GiB", "file set: 1GiB, 20x50MiB, 256MiB, 10x25MiB")
	capDur := fs.Duration("cap", 30*time.Second, "stop after this long (0: until done)")
	runs := fs.Int("n", 1, "repeat")
	work := fs.String("work", envOr("BENCH_WORK", "/var/tmp/medbox-bench"), "work directory")
	medbox := fs.String("medbox", "bin/medbox", "the medbox binary")
	fs.Parse(args)
	var l link
	for _, x := range allLinks {
		if x.Name == *linkName {
			l = x
		}
	}
	if l.Name == "" {
		return fmt.Errorf("no link %q", *linkName)
	}
	sets := map[string]fileSet{"1GiB": {"1GiB", 1, 1 << 30}, "20x50MiB": {"20x50MiB", 20, 50 << 20}, "256MiB": {"256MiB", 1, 256 << 20}, "10x25MiB": {"10x25MiB", 10, 25 << 20}}
	set, ok := sets[*setName]
	if !ok {
		return fmt.Errorf("no file set %q", *setName)
	}
	b := &bench{settings: settings{sets: []fileSet{set}, timeout: 15 * time.Minute}, work: *work, chromium: envOr("MEDBOX_CHROMIUM", "/usr/bin/chromium"),
		wanemDir: "bench/wanem", stamp: "try-" + time.Now().UTC().Format("20060102-150405")}
	var err error
	b.repo, _ = os.Getwd()
	b.medbox, _ = filepath.Abs(*medbox)
	b.self, _ = os.Executable()
	b.wanemDir, _ = filepath.Abs(b.wanemDir)
	b.logs = filepath.Join(b.work, "logs", b.stamp)
	os.MkdirAll(b.logs, 0o755)
	defer b.netnsDown()
	defer b.stopAll()
	if b.certs, err = writeCerts(b.work, *hosts, serverAddr, "127.0.0.1"); err != nil {
		return err
	}
	if err := b.makeFiles(); err != nil {
		return err
	}
	wanemPID, err := b.netnsUp(l)
	if err != nil {
		return err
	}
	data := filepath.Join(b.work, "data-try")
	os.RemoveAll(data)
	defer os.RemoveAll(data)
	c := serverConf{hosts: *hosts, ports: *ports, http2: *h2, conc: *conc}
	if *chunk != "" {
		n, err := parseSize(*chunk)
		if err != nil {
			return err
		}
		c.chunk = n
	}
	s, err := b.startServer(ctx, serverNS, serverAddr, pagePort, data, "try-medbox", c)
	if err != nil {
		return err
	}
	acctFile := filepath.Join(b.work, "account-try.json")
	if _, err := b.helper(ctx, serverNS, "prepare", "-base", s.base, "-addr", fmt.Sprintf("%s:%d", s.addr, s.port), "-cert", b.certs.cert,
		"-data", data, "-medbox", b.medbox, "-out", acctFile); err != nil {
		return err
	}
	if l.Phone {
		lr := &linkResult{Link: l}
		return b.runPhone(ctx, l, lr, s, acctFile)
	}
	via := ""
	if *proxy {
		p, err := b.startProxy(ctx, s)
		if err != nil {
			return err
		}
		defer b.stop(p)
		via = fmt.Sprintf("http://127.0.0.1:%d", proxyPort)
	}
	for range *runs {
		r, err := b.browserRun(ctx, clientNS, s, acctFile, set, *capDur, wanemPID, via)
		if err != nil {
			return err
		}
		js, _ := json.Marshal(r.Usage)
		fmt.Printf("%s %s hosts=%d ports=%d proxy=%v conc=%d chunk=%s: %.1f Mbit/s done=%v in %.0f s, failed %d; %s; %v; %s\n", l.Name, set.Name,
			*hosts, *ports, *proxy, *conc, *chunk, r.Mbit, r.Done, r.Seconds, r.Failed, r.note(), r.PageError, js)
	}
	return nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "MiB"):
		mult, s = 1<<20, strings.TrimSuffix(s, "MiB")
	case strings.HasSuffix(s, "KiB"):
		mult, s = 1<<10, strings.TrimSuffix(s, "KiB")
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	return n * mult, nil
}
