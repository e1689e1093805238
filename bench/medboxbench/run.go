//go:build bench

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The namespaces and addresses of bench/wanem/netns-up.sh.
const (
	clientNS   = "wanem-client"
	serverNS   = "wanem-server"
	serverAddr = "10.200.0.2"
	mainPort   = 8443
	firstPort  = 8444 // upload origins: firstPort, firstPort+1, …
	sinkPort   = 9443
	wanemRun   = "/run/wanem"
)

// link is one emulated path; both directions get the same model.
type link struct {
	Name     string        `json:"name"`
	Mbit     float64       `json:"rate_mbit"`
	RTT      time.Duration `json:"rtt"`
	Loss     float64       `json:"loss"` // fraction per packet and direction
	Headline bool          `json:"headline"`
}

func (l link) wanemArgs() []string {
	return []string{"-rate", fmt.Sprintf("%gmbit", l.Mbit), "-delay", (l.RTT / 2).String(), "-loss", fmt.Sprintf("%g%%", l.Loss*100)}
}

// slug is the link's name as it may appear in a path or URL.
func (l link) slug() string { return strings.ReplaceAll(l.Name, "%", "pct") }

// payload is the most TCP can carry: the rate, less IP/TCP headers (1448 of
// 1500 bytes with timestamps) and the packets lost.
func (l link) payload() float64 { return l.Mbit * 1448 / 1500 * (1 - l.Loss) }

var allLinks = []link{
	{Name: "200M-60ms-0.5%", Mbit: 200, RTT: 60 * time.Millisecond, Loss: 0.005, Headline: true},
	{Name: "200M-20ms-0%", Mbit: 200, RTT: 20 * time.Millisecond},
	{Name: "50M-120ms-1%", Mbit: 50, RTT: 120 * time.Millisecond, Loss: 0.01},
}

// fileSet is what one run sends.
type fileSet struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Size  int64  `json:"size"`
}

func (f fileSet) bytes() int64 { return int64(f.Count) * f.Size }

// settings of a bench run.
type settings struct {
	quick    bool
	tune     bool
	loopback bool
	links    []link
	sets     []fileSet
	origins  int   // upload origins of the deployed configuration
	chunk    int64 // its chunk size; 0: MedBox's default
	capShort time.Duration
	capTune  time.Duration
	capDown  time.Duration
	timeout  time.Duration
}

// bench is one `make bench`.
type bench struct {
	settings
	repo, work, out string
	medbox, self    string
	wanemDir        string
	chromium        string
	cert, key, spki string
	files           map[string][]string // file set → paths
	res             *results
	logs            string
	procs           []*exec.Cmd
	stamp           string
}

func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	quick := fs.Bool("quick", os.Getenv("BENCH_QUICK") == "1", "one link, smaller files, shorter caps (BENCH_QUICK=1)")
	tune := fs.Bool("tune", os.Getenv("BENCH_TUNE") != "0", "sweep concurrency and chunk size on the headline link (BENCH_TUNE=0 skips)")
	loopback := fs.Bool("loopback", os.Getenv("BENCH_LOOPBACK") != "0", "measure on loopback too (BENCH_LOOPBACK=0 skips)")
	only := fs.String("links", os.Getenv("BENCH_LINKS"), "comma-separated link names to run (default: all)")
	origins := fs.Int("origins", envInt("BENCH_ORIGINS", 12), "upload origins of the deployed configuration")
	chunk := fs.String("chunk", os.Getenv("BENCH_CHUNK"), "MEDBOX_CHUNK_SIZE of the deployed configuration (empty: MedBox's default)")
	work := fs.String("work", envOr("BENCH_WORK", "/var/tmp/medbox-bench"), "work directory: test files, data, logs")
	out := fs.String("out", "bench/results", "where results go")
	medbox := fs.String("medbox", "bin/medbox", "the medbox binary")
	wanemDir := fs.String("wanem", "bench/wanem", "the WAN emulator's directory")
	chromium := fs.String("chromium", envOr("MEDBOX_CHROMIUM", "/usr/bin/chromium"), "Chromium")
	fs.Parse(args)
	if os.Geteuid() != 0 {
		return errors.New("run as root: the bench creates network namespaces (sudo make bench)")
	}
	for _, tool := range []string{"ip", "iperf3", "curl", *chromium} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (see bench/README.md): %w", tool, err)
		}
	}
	b := &bench{settings: settings{quick: *quick, tune: *tune && !*quick, loopback: *loopback, origins: *origins}, work: *work, out: *out,
		chromium: *chromium, wanemDir: *wanemDir, stamp: time.Now().UTC().Format("20060102-150405")}
	var err error
	if b.repo, err = os.Getwd(); err != nil {
		return err
	}
	if b.medbox, err = filepath.Abs(*medbox); err != nil {
		return err
	}
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	if b.wanemDir, err = filepath.Abs(*wanemDir); err != nil {
		return err
	}
	b.links = allLinks
	b.sets = []fileSet{{"1GiB", 1, 1 << 30}, {"20x50MiB", 20, 50 << 20}}
	b.capShort, b.capTune, b.capDown, b.timeout = 60*time.Second, 30*time.Second, 40*time.Second, 15*time.Minute
	if b.quick {
		b.links = allLinks[:1]
		b.sets = []fileSet{{"256MiB", 1, 256 << 20}, {"10x25MiB", 10, 25 << 20}}
		b.capShort, b.capDown, b.timeout = 25*time.Second, 20*time.Second, 5*time.Minute
	}
	if b.chunk, err = parseSize(*chunk); *chunk != "" && err != nil {
		return err
	}
	if *only == "none" {
		b.links = nil
	} else if *only != "" {
		b.links = nil
		for _, name := range strings.Split(*only, ",") {
			for _, l := range allLinks {
				if l.Name == strings.TrimSpace(name) {
					b.links = append(b.links, l)
				}
			}
		}
		if len(b.links) == 0 {
			return fmt.Errorf("no link named %q; have %s", *only, linkNames())
		}
	}
	b.logs = filepath.Join(b.work, "logs", b.stamp)
	if err := os.MkdirAll(b.logs, 0o755); err != nil {
		return err
	}
	defer b.netnsDown()
	defer b.stopAll()
	if b.cert, b.key, err = writeCert(b.work, serverAddr, "127.0.0.1"); err != nil {
		return err
	}
	if b.spki, err = spkiHash(b.cert); err != nil {
		return err
	}
	b.res = newResults(b.settings, b.stamp)
	b.res.Machine = machine()
	say("medbox-bench: %s; work in %s, logs in %s", b.res.Machine, b.work, b.logs)
	if err := b.makeFiles(); err != nil {
		return err
	}
	if b.loopback {
		if err := b.runLoopback(ctx); err != nil {
			return fmt.Errorf("loopback: %w", err)
		}
	}
	for _, l := range b.links {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.runLink(ctx, l); err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
	}
	b.netnsDown()
	return b.report()
}

func linkNames() string {
	var n []string
	for _, l := range allLinks {
		n = append(n, l.Name)
	}
	return strings.Join(n, ", ")
}

// makeFiles writes the test files once: random bytes (incompressible, like
// image and video data) behind an MP4 header, so MedBox accepts them as video.
func (b *bench) makeFiles() error {
	b.files = map[string][]string{}
	for _, set := range b.sets {
		dir := filepath.Join(b.work, "files", set.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for i := range set.Count {
			p := filepath.Join(dir, fmt.Sprintf("study-%02d.mp4", i+1))
			b.files[set.Name] = append(b.files[set.Name], p)
			if fi, err := os.Stat(p); err == nil && fi.Size() == set.Size {
				continue
			}
			say("writing %s (%s)", p, mib(set.Size))
			if err := writeRandom(p, set.Size, uint64(i+1)); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeRandom(path string, size int64, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'm', 'e', 'd', 'b', 'o', 'x'})
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		r.Read(buf)
		if off == 0 {
			copy(buf, "\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41")
		}
		n := min(int64(len(buf)), size-off)
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// serverConf is how one MedBox server of a link is configured.
type serverConf struct {
	origins int    // upload listeners (HTTP/1.1); 0: none
	http2   bool   // MEDBOX_HTTP2
	cc      string // MEDBOX_TCP_CONGESTION; "" = MedBox's default (bbr)
	chunk   int64  // MEDBOX_CHUNK_SIZE; 0 = default
	conc    int    // MEDBOX_UPLOAD_CONCURRENCY; 0 = the client's default
}

// server is a running MedBox.
type server struct {
	cmd  *exec.Cmd
	pid  int
	data string
	base string
}

// startServer starts MedBox in ns (or here, for ns ""), listening on host.
func (b *bench) startServer(ctx context.Context, ns, host, data, name string, c serverConf) (*server, error) {
	base := fmt.Sprintf("https://%s:%d", host, mainPort)
	if ns == "" {
		base = fmt.Sprintf("https://%s:%d", host, mainPort+10000)
	}
	u, _ := splitHostPort(base)
	env := []string{
		"MEDBOX_DATA=" + data, "MEDBOX_LISTEN=" + u, "MEDBOX_BASE_URL=" + base,
		"MEDBOX_TLS_CERT=" + b.cert, "MEDBOX_TLS_KEY=" + b.key, "MEDBOX_LOG_LEVEL=warn",
		"MEDBOX_MAX_SEND_BYTES=8GiB", "MEDBOX_QUOTA_BYTES=1TB", "MEDBOX_MAX_FILES=20",
		"MEDBOX_HTTP2=" + strconv.FormatBool(c.http2),
	}
	if c.origins > 0 {
		_, port := splitHostPort(base)
		p, _ := strconv.Atoi(port)
		env = append(env, fmt.Sprintf("MEDBOX_UPLOAD_LISTEN=%s:%d-%d", host, p+1, p+c.origins))
	}
	if c.cc != "" {
		env = append(env, "MEDBOX_TCP_CONGESTION="+c.cc)
	}
	if c.chunk > 0 {
		env = append(env, fmt.Sprintf("MEDBOX_CHUNK_SIZE=%d", c.chunk))
	}
	if c.conc > 0 {
		env = append(env, fmt.Sprintf("MEDBOX_UPLOAD_CONCURRENCY=%d", c.conc))
	}
	log, err := os.OpenFile(filepath.Join(b.logs, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := inNS(ns, b.medbox, "serve")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b.procs = append(b.procs, cmd)
	s := &server{cmd: cmd, pid: cmd.Process.Pid, data: data, base: base}
	for i := 0; ; i++ {
		if err := inNS(ns, "curl", "-sf", "-o", "/dev/null", "--cacert", b.cert, base+"/readyz").Run(); err == nil {
			break
		}
		if i > 100 || ctx.Err() != nil {
			b.stop(cmd)
			return nil, fmt.Errorf("medbox did not come up at %s (log: %s)", base, log.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s, nil
}

func splitHostPort(base string) (hostport, port string) {
	hp := strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
	i := strings.LastIndexByte(hp, ':')
	return hp, hp[i+1:]
}

// inNS is a command in network namespace ns; "" is this one.
func inNS(ns, name string, args ...string) *exec.Cmd {
	if ns == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// stop ends a process this bench started, gracefully, and waits for it.
func (b *bench) stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func (b *bench) stopAll() {
	for i := len(b.procs) - 1; i >= 0; i-- {
		b.stop(b.procs[i])
	}
	b.procs = nil
}

// helper runs this binary's subcommand in ns and returns its standard output.
func (b *bench) helper(ctx context.Context, ns, name string, args ...string) ([]byte, error) {
	cmd := inNS(ns, b.self, append([]string{name}, args...)...)
	var out bytes.Buffer
	log, err := os.OpenFile(filepath.Join(b.logs, "helpers.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	fmt.Fprintf(log, "--- %s %s\n", name, strings.Join(args, " "))
	cmd.Stdout, cmd.Stderr = &out, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGTERM)
		err = <-done
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w (see %s)", name, err, log.Name())
	}
	return out.Bytes(), nil
}

// browserRun uploads a file set through the box page and records the result.
func (b *bench) browserRun(ctx context.Context, ns string, s *server, acctFile string, set fileSet, client string, capDur time.Duration, wanemPID int) (*browserResult, error) {
	box, err := b.helper(ctx, ns, "newbox", "-account", acctFile, "-cert", b.cert)
	if err != nil {
		return nil, err
	}
	args := []string{"-base", s.base, "-account", acctFile, "-box", strings.TrimSpace(string(box)),
		"-files", strings.Join(b.files[set.Name], ","), "-cap", capDur.String(), "-timeout", b.timeout.String(),
		"-server-pid", strconv.Itoa(s.pid), "-wanem-pid", strconv.Itoa(wanemPID), "-blobs", filepath.Join(s.data, "blobs"),
		"-chromium", b.chromium, "-spki", b.spki}
	out, err := b.helper(ctx, ns, "browser", args...)
	if err != nil {
		return nil, err
	}
	var r browserResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("browser said %q: %w", out, err)
	}
	return &r, nil
}

// curlUpload sends a file set as one ordinary upload — curl -T, one TCP
// connection, one file after another — to the sink, and measures what the
// sink read.
func (b *bench) curlUpload(ctx context.Context, set fileSet, capDur time.Duration, sinkLog string, sinkPID, wanemPID int) (float64, bool, usage) {
	src := b.files[set.Name][0]
	if set.Count > 1 {
		src = "{" + strings.Join(b.files[set.Name], ",") + "}"
	}
	start := time.Now()
	m := startMeter(sinkPID, wanemPID)
	// --max-time counts per file; the cap is for the whole set.
	cmd := inNS(clientNS, "curl", "-sS", "--http1.1", "--cacert", b.cert, "-H", "Expect:", "--max-time", fmt.Sprint(int(capDur.Seconds())),
		"-o", "/dev/null", "-T", src, fmt.Sprintf("https://%s:%d/up/", serverAddr, sinkPort))
	if err := cmd.Start(); err == nil {
		timer := time.AfterFunc(capDur, func() { cmd.Process.Signal(syscall.SIGTERM) })
		cmd.Wait() // a run cut off at the cap ends with an error
		timer.Stop()
	}
	u := m.stop()
	end := time.Now()
	time.Sleep(2 * progressEvery) // the sink's progress lines up to end
	recs := readSink(sinkLog, start, end)
	var n int64
	var first, last int64
	complete := len(recs) == set.Count
	for _, r := range recs {
		n += r.Bytes
		if first == 0 || r.Start < first {
			first = r.Start
		}
		last = max(last, r.End)
		complete = complete && r.Complete
	}
	if n == 0 || last <= first {
		return 0, false, u
	}
	return float64(n) * 8 / (float64(last-first) / 1e9) / 1e6, complete, u
}

// download fetches a file with curl, as a browser would, over one connection.
func (b *bench) download(ctx context.Context, s *server, acct *account, file string, capDur time.Duration, wanemPID int) (float64, bool, usage) {
	m := startMeter(s.pid, wanemPID)
	out, _ := inNS(clientNS, "curl", "-sS", "--cacert", b.cert, "--max-time", fmt.Sprint(int(capDur.Seconds())), "-o", "/dev/null",
		"-H", "Authorization: Bearer "+acct.Token, "-w", "%{size_download} %{time_total} %{http_code}", s.base+"/api/v1/files/"+file+"/content").Output()
	u := m.stop()
	var size, secs float64
	var code int
	fmt.Sscan(string(out), &size, &secs, &code)
	if secs <= 0 {
		return 0, false, u
	}
	return size * 8 / secs / 1e6, code == 200 && size >= 1<<20 && secs < capDur.Seconds()-0.5, u
}

// capacity measures what the link carries with many TCP streams (iperf3).
func (b *bench) capacity(ctx context.Context, l link) (float64, error) {
	srv := inNS(serverNS, "iperf3", "-s", "-1", "-B", serverAddr, "-p", "5201")
	srv.Stdout, srv.Stderr = io.Discard, io.Discard
	if err := srv.Start(); err != nil {
		return 0, err
	}
	b.procs = append(b.procs, srv)
	defer b.stop(srv)
	time.Sleep(300 * time.Millisecond)
	out, err := inNS(clientNS, "iperf3", "-c", serverAddr, "-p", "5201", "-P", "64", "-t", "10", "-O", "2", "-J").Output()
	if err != nil {
		return 0, fmt.Errorf("iperf3: %w", err)
	}
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, err
	}
	return r.End.SumReceived.BitsPerSecond / 1e6, nil
}

func (b *bench) netnsUp(l link) (int, error) {
	cmd := exec.Command(filepath.Join(b.wanemDir, "netns-up.sh"), l.wanemArgs()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("netns-up.sh: %v: %s", err, out)
	}
	pb, err := os.ReadFile(filepath.Join(wanemRun, "wanem.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(pb)))
}

func (b *bench) netnsDown() {
	exec.Command(filepath.Join(b.wanemDir, "netns-down.sh")).Run()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return n
	}
	return def
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// machine describes where the bench ran.
func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	var uts syscall.Utsname
	syscall.Uname(&uts)
	rel := make([]byte, 0, 65)
	for _, c := range uts.Release {
		if c == 0 {
			break
		}
		rel = append(rel, byte(c))
	}
	chromium, _ := exec.Command(envOr("MEDBOX_CHROMIUM", "/usr/bin/chromium"), "--version").Output()
	return fmt.Sprintf("%d CPUs (%s), Linux %s, %s", numCPU(), cpu, rel, strings.TrimSpace(string(chromium)))
}
