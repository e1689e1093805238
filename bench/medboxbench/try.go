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
//	medbox-bench try -link 200M-60ms-0.5% -origins 8 -conc 48 -chunk 4MiB -set 1GiB -cap 30s
func runTry(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("try", flag.ExitOnError)
	linkName := fs.String("link", allLinks[0].Name, "link: "+linkNames())
	origins := fs.Int("origins", 8, "upload origins (0: none)")
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
	if b.cert, b.key, err = writeCert(b.work, serverAddr, "127.0.0.1"); err != nil {
		return err
	}
	if b.spki, err = spkiHash(b.cert); err != nil {
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
	c := serverConf{origins: *origins, http2: *h2, conc: *conc}
	if *chunk != "" {
		n, err := parseSize(*chunk)
		if err != nil {
			return err
		}
		c.chunk = n
	}
	s, err := b.startServer(ctx, serverNS, serverAddr, data, "try-medbox", c)
	if err != nil {
		return err
	}
	acctFile := filepath.Join(b.work, "account-try.json")
	if _, err := b.helper(ctx, serverNS, "prepare", "-base", s.base, "-cert", b.cert, "-data", data, "-medbox", b.medbox, "-out", acctFile); err != nil {
		return err
	}
	for range *runs {
		r, err := b.browserRun(ctx, clientNS, s, acctFile, set, "try", *capDur, wanemPID)
		if err != nil {
			return err
		}
		js, _ := json.Marshal(r.Usage)
		fmt.Printf("%s %s origins=%d conc=%d chunk=%s: %.1f Mbit/s done=%v in %.0f s, max in flight %d; %s\n", l.Name, set.Name, *origins, *conc, *chunk,
			r.Mbit, r.Done, r.Seconds, r.Inflight, js)
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
