//go:build bench

package main

import (
	"bufio"
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
	clientAddr = "10.200.0.1"
	pagePort   = 443   // the page and the upload hosts; upload listeners on the ports after it
	loopPort   = 18443 // the same on loopback
	sinkPort   = 9443
	proxyPort  = 3128 // the CONNECT proxy, on the client's loopback
	wanemRun   = "/run/wanem"
)

// link is one emulated path; both directions get the same model.
type link struct {
	Name     string        `json:"name"`
	Mbit     float64       `json:"rate_mbit"`
	RTT      time.Duration `json:"rtt"`
	Loss     float64       `json:"loss"` // fraction per packet and direction
	Headline bool          `json:"headline"`
	Phone    bool          `json:"phone"` // the viewer's link, not the uploads'
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
	{Name: "20M-80ms-0.5%", Mbit: 20, RTT: 80 * time.Millisecond, Loss: 0.005, Phone: true},
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
	bodies   bool
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
	certs           certs
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
	bodies := fs.Bool("bodies", os.Getenv("BENCH_BODIES") != "0", "Blob.slice against ArrayBuffer chunk bodies in Chromium and Firefox (BENCH_BODIES=0 skips)")
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
	for _, tool := range []string{"ip", "iperf3", "curl", "squid", *chromium} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (see bench/README.md): %w", tool, err)
		}
	}
	b := &bench{settings: settings{quick: *quick, tune: *tune && !*quick, loopback: *loopback, bodies: *bodies, origins: *origins}, work: *work, out: *out,
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
		b.links = []link{allLinks[0], allLinks[3]}
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
	if b.certs, err = writeCerts(b.work, b.origins, serverAddr, "127.0.0.1"); err != nil {
		return err
	}
	b.res = newResults(b.settings, b.stamp)
	b.res.Machine = machine()
	b.res.Commit, b.res.Dirty = gitState(b.repo)
	b.res.Load = loadAverage()
	say("medbox-bench: commit %s, %d uncommitted changes; load average %s", b.res.Commit, len(b.res.Dirty), b.res.Load)
	say("medbox-bench: %s; work in %s, logs in %s", b.res.Machine, b.work, b.logs)
	if err := b.makeFiles(); err != nil {
		return err
	}
	if b.loopback {
		if err := b.runLoopback(ctx); err != nil {
			return fmt.Errorf("loopback: %w", err)
		}
	}
	if b.bodies {
		if err := b.runBodies(ctx); err != nil {
			return fmt.Errorf("chunk bodies: %w", err)
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
	b.res.LoadEnd = loadAverage()
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

// serverConf is how one MedBox server of a link is configured: where it takes
// chunk uploads (upload host names on its own port, upload listeners on ports of
// their own, or neither: the page's origin alone) and how.
type serverConf struct {
	hosts int    // upload host names up1…upN.medbox.test on the page's port (MEDBOX_UPLOAD_ORIGINS)
	ports int    // upload listeners on the next ports (MEDBOX_UPLOAD_LISTEN)
	http2 bool   // MEDBOX_HTTP2=true; false leaves MedBox's default (HTTP/1.1 only)
	cc    string // MEDBOX_TCP_CONGESTION; "" = MedBox's default (bbr)
	chunk int64  // MEDBOX_CHUNK_SIZE; 0 = default
	conc  int    // MEDBOX_UPLOAD_CONCURRENCY; 0 = the client's default
}

// server is a running MedBox.
type server struct {
	cmd  *exec.Cmd
	pid  int
	data string
	base string // https://medbox.test, or with the port if it is not 443
	addr string // the address pageHost and the upload hosts resolve to
	port int
	log  string // its log: one line per request
}

// resolverRules maps the page's and the upload hosts' names to the server's
// address for Chromium (--host-resolver-rules), as a hospital's DNS would.
func (s *server) resolverRules() string {
	return fmt.Sprintf("MAP %s %s, MAP *.%s %s", pageHost, s.addr, pageHost, s.addr)
}

// startServer starts MedBox in ns (or here, for ns ""), listening on addr:port
// and reached as https://medbox.test[:port].
func (b *bench) startServer(ctx context.Context, ns, addr string, port int, data, name string, c serverConf) (*server, error) {
	base := "https://" + pageHost
	if port != 443 {
		base += ":" + strconv.Itoa(port)
	}
	env := []string{
		"MEDBOX_DATA=" + data, fmt.Sprintf("MEDBOX_LISTEN=%s:%d", addr, port), "MEDBOX_BASE_URL=" + base,
		"MEDBOX_TLS_CERT=" + b.certs.cert, "MEDBOX_TLS_KEY=" + b.certs.key, "MEDBOX_LOG_LEVEL=info", // a line per request: where each chunk went, and how
		"MEDBOX_MAX_SEND_BYTES=8GiB", "MEDBOX_QUOTA_BYTES=1TB", "MEDBOX_MAX_FILES=20",
	}
	if c.http2 {
		env = append(env, "MEDBOX_HTTP2=true")
	}
	if c.hosts > 0 {
		var origins []string
		for _, h := range uploadHostNames(c.hosts) {
			o := "https://" + h
			if port != 443 {
				o += ":" + strconv.Itoa(port)
			}
			origins = append(origins, o)
		}
		env = append(env, "MEDBOX_UPLOAD_ORIGINS="+strings.Join(origins, ","),
			"MEDBOX_UPLOAD_TLS_CERT="+b.certs.upCert, "MEDBOX_UPLOAD_TLS_KEY="+b.certs.upKey)
	}
	if c.ports > 0 {
		first := port + 1
		if port == 443 {
			first = 8444 // as a hospital would be asked to open them
		}
		env = append(env, fmt.Sprintf("MEDBOX_UPLOAD_LISTEN=%s:%d-%d", addr, first, first+c.ports-1))
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
	defer log.Close()
	fmt.Fprintf(log, "--- %s\n", strings.Join(env, " "))
	cmd := inNS(ns, b.medbox, "serve")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b.procs = append(b.procs, cmd)
	s := &server{cmd: cmd, pid: cmd.Process.Pid, data: data, base: base, addr: addr, port: port, log: log.Name()}
	for i := 0; ; i++ {
		if err := inNS(ns, "curl", "-sf", "-o", "/dev/null", "--cacert", b.certs.cert, "--resolve", s.curlResolve(), base+"/readyz").Run(); err == nil {
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

// curlResolve is curl's --resolve for the page's host name.
func (s *server) curlResolve() string { return fmt.Sprintf("%s:%d:%s", pageHost, s.port, s.addr) }

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

// browserRun uploads a file set through the box page and records the result;
// proxy, if not empty, is Chromium's explicit proxy.
func (b *bench) browserRun(ctx context.Context, ns string, s *server, acctFile string, set fileSet, capDur time.Duration, wanemPID int, proxy string) (*browserResult, error) {
	box, err := b.helper(ctx, ns, "newbox", "-account", acctFile, "-cert", b.certs.cert)
	if err != nil {
		return nil, err
	}
	args := []string{"-base", s.base, "-account", acctFile, "-box", strings.TrimSpace(string(box)),
		"-files", strings.Join(b.files[set.Name], ","), "-cap", capDur.String(), "-timeout", b.timeout.String(),
		"-server-pid", strconv.Itoa(s.pid), "-wanem-pid", strconv.Itoa(wanemPID), "-blobs", filepath.Join(s.data, "blobs"),
		"-chromium", b.chromium, "-spki", b.certs.spki, "-resolve", s.resolverRules()}
	if proxy != "" {
		args = append(args, "-proxy", proxy)
	}
	var logFrom int64
	if fi, err := os.Stat(s.log); err == nil {
		logFrom = fi.Size()
	}
	out, err := b.helper(ctx, ns, "browser", args...)
	if err != nil {
		return nil, err
	}
	var r browserResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("browser said %q: %w", out, err)
	}
	r.Protocols, r.Hosts, r.Refused = chunkLog(s.log, logFrom)
	return &r, nil
}

// chunkLog reads the chunk PUTs a server logged from offset on: how many came
// over each protocol (HTTP/1.1, or HTTP/2.0 if the browser folded an upload host
// into the page's connection), to how many host names, and how many were not
// taken by an upload host (401, 403, 404: the page then sends them to its own
// origin). Chunks cut off at a run's cap end as 400 or 500 and are not counted.
func chunkLog(path string, offset int64) (protos map[string]int, hosts, refused int) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0
	}
	defer f.Close()
	f.Seek(offset, io.SeekStart)
	protos = map[string]int{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg, Method, Host, Path, Proto string
			Status                         int
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Msg != "request" || l.Method != "PUT" ||
			(l.Path != "/api/v1/chunk" && !strings.Contains(l.Path, "/chunks/")) {
			continue
		}
		protos[l.Proto]++
		seen[l.Host] = true
		if l.Status == 401 || l.Status == 403 || l.Status == 404 {
			refused++ // an upload host that would not take the chunk (its grant, its name)
		}
	}
	return protos, len(seen), refused
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
	cmd := inNS(clientNS, "curl", "-sS", "--http1.1", "--cacert", b.certs.cert, "-H", "Expect:", "--max-time", fmt.Sprint(int(capDur.Seconds())),
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
	out, _ := inNS(clientNS, "curl", "-sS", "--cacert", b.certs.cert, "--resolve", s.curlResolve(), "--max-time", fmt.Sprint(int(capDur.Seconds())), "-o", "/dev/null",
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
	pid, err := strconv.Atoi(strings.TrimSpace(string(pb)))
	if err != nil {
		return 0, err
	}
	favour(pid)
	return pid, nil
}

// favour raises the scheduling priority of a process that stands for another
// machine — the emulator (the network) and the proxy — so that on a shared,
// busy machine the link stays the link; the server and the browser compete
// like everything else.
func favour(pid int) {
	// Linux keeps the nice value per thread: each of the process's threads,
	// and the threads they start later inherit it.
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, -10); err != nil {
			say("  could not raise the priority of %d/%d: %v", pid, tid, err)
			return
		}
	}
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

// gitState is the commit the bench measures and the uncommitted changes of the
// work tree (git status --porcelain), none for a clean tree.
func gitState(repo string) (commit string, dirty []string) {
	out, err := exec.Command("git", "-C", repo, "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown", []string{"not a git work tree: " + err.Error()}
	}
	commit = strings.TrimSpace(string(out))
	out, _ = exec.Command("git", "-C", repo, "status", "--porcelain").Output()
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if l != "" {
			dirty = append(dirty, l)
		}
	}
	return commit, dirty
}

// loadAverage is /proc/loadavg's first three figures: how busy the shared
// machine was when the bench started.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
