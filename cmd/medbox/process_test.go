package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/clocktest"
)

// The tests that kill an instance need a real process: the medbox binary, built
// once per test process. It is built with -race when the tests are, so that it
// links from the packages `go test` just compiled and its own races are caught.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// medboxBinary returns the path of a freshly built medbox. It lives in one fixed
// place per checkout and build mode (so repeated runs leave no trail of copies)
// and is replaced by rename, so a child still running an older copy is unharmed.
func medboxBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			binErr = err
			return
		}
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s race=%v", wd, raceBuild)))
		dir := filepath.Join(os.TempDir(), "medbox-testbin-"+hex.EncodeToString(sum[:6]))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			binErr = err
			return
		}
		tmp := filepath.Join(dir, fmt.Sprintf("medbox.%d.tmp", os.Getpid()))
		// medbox_testclock: the process starts its clock where the test's clock
		// stands (clock_testclock.go); nodynamic as in the Makefile.
		args := []string{"build", "-tags=nodynamic,medbox_testclock", "-o", tmp}
		if raceBuild {
			args = append(args, "-race")
		}
		start := time.Now()
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=auto")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		binPath = filepath.Join(dir, "medbox")
		binErr = os.Rename(tmp, binPath)
		t.Logf("built %s in %v (race=%v)", binPath, time.Since(start).Round(time.Millisecond), raceBuild)
	})
	if binErr != nil {
		t.Fatalf("build medbox: %v", binErr)
	}
	return binPath
}

// procAddr returns a loopback address nobody listens on right now.
func procAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is `medbox serve` running as a child process, which a test may kill -9
// and start again with the same configuration.
type proc struct {
	t     testing.TB
	bin   string
	clock *clocktest.Clock // the test's clock; see environ
	born  time.Time        // wall time of startProc
	env   map[string]string
	url   string
	data  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *syncBuffer // stdout and stderr of every run, in order
	done chan struct{}
	runs int
}

// startProc starts medbox serve with env on top of the test's own environment
// (which carries the S3 credentials) and waits until /readyz answers 200. The
// process's clock starts where clk stands.
func startProc(t testing.TB, clk *clocktest.Clock, env map[string]string) *proc {
	t.Helper()
	p := &proc{t: t, bin: medboxBinary(t), clock: clk, born: time.Now(), env: map[string]string{}, out: &syncBuffer{}}
	for k, v := range env {
		p.env[k] = v
	}
	if p.env["MEDBOX_DATA"] == "" {
		p.env["MEDBOX_DATA"] = t.TempDir()
	}
	if p.env["MEDBOX_LISTEN"] == "" {
		p.env["MEDBOX_LISTEN"] = procAddr(t)
	}
	if p.env["MEDBOX_LOG_LEVEL"] == "" {
		p.env["MEDBOX_LOG_LEVEL"] = "warn"
	}
	p.data, p.url = p.env["MEDBOX_DATA"], "http://"+p.env["MEDBOX_LISTEN"]
	t.Cleanup(func() {
		p.kill()
		if strings.Contains(p.out.String(), "WARNING: DATA RACE") {
			t.Errorf("the medbox process reported a data race:\n%s", p.out.String())
		}
	})
	p.start()
	return p
}

// environ is the environment of a start or a command: the test's own, p.env, and
// the clock. The process's clock starts at the test's clock plus the wall time
// since startProc, so it never runs back across restarts while the test's clock
// stands still, and it follows the test's clock when that moves.
func (p *proc) environ() []string {
	at := clocktest.At(p.clock.Now().Add(time.Since(p.born)))
	env := append(os.Environ(), at.Environ())
	for k, v := range p.env {
		env = append(env, k+"="+v)
	}
	return env
}

// start runs the process and waits until it is ready.
func (p *proc) start() {
	p.t.Helper()
	cmd := exec.Command(p.bin, "serve")
	cmd.Env = p.environ()
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start medbox: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.runs++
	p.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			p.t.Fatalf("medbox exited before it was ready (%v):\n%s", cmd.ProcessState, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("medbox not ready after 60 s: %v\n%s", err, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL — no shutdown, no deferred code — and waits for the exit.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// command runs a one-shot medbox subcommand with the same configuration and
// returns its output.
func (p *proc) command(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = p.environ()
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// instance returns a stand-in for the harness's in-process instance, so that its
// clients (login, registerAPI, createUpload …) can talk to the process. Only
// what needs no app works: no outbox(), no deliver().
func (p *proc) instance() *instance {
	return &instance{t: p.t, url: p.url, data: p.data, out: p.out}
}

// apiCall is one request that may fail without failing the test: the process on
// the other end may be killed at any moment.
func apiCall(hc *http.Client, method, url, token string, body []byte, header map[string]string) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
