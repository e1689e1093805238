package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// What Firefox (WebDriver BiDi) and WebKit (W3C WebDriver) have in common: both
// take the W3C WebDriver input actions, and both are programs the test starts
// and must end.

// webdriverKeys are the W3C WebDriver code points of the named keys.
var webdriverKeys = map[string]string{
	"Tab": "\uE004", "Enter": "\uE007", "Shift": "\uE008", "Escape": "\uE00C",
	"PageUp": "\uE00E", "PageDown": "\uE00F", "End": "\uE010", "Home": "\uE011",
	"ArrowLeft": "\uE012", "ArrowUp": "\uE013", "ArrowRight": "\uE014", "ArrowDown": "\uE015",
}

// keyActions is a key input source that types each key of keys in turn.
func keyActions(keys ...string) map[string]any {
	var acts []map[string]any
	for _, k := range keys {
		acts = append(acts, map[string]any{"type": "keyDown", "value": k}, map[string]any{"type": "keyUp", "value": k})
	}
	return map[string]any{"type": "key", "id": "keyboard", "actions": acts}
}

// webdriverKeyValues returns the action values of keys named as press names them.
func webdriverKeyValues(keys []string) ([]string, error) {
	var vs []string
	for _, key := range keys {
		if k, ok := webdriverKeys[key]; ok {
			vs = append(vs, k)
		} else if len([]rune(key)) == 1 {
			vs = append(vs, key)
		} else {
			return nil, fmt.Errorf("no key %q", key)
		}
	}
	return vs, nil
}

// pointerActions is a mouse that moves to the first point, presses, moves
// through the others and releases.
func pointerActions(points ...[2]float64) map[string]any {
	move := func(p [2]float64) map[string]any {
		return map[string]any{"type": "pointerMove", "x": int(p[0]), "y": int(p[1]), "duration": 16}
	}
	acts := []map[string]any{move(points[0]), {"type": "pointerDown", "button": 0}}
	for _, p := range points[1:] {
		acts = append(acts, move(p))
	}
	acts = append(acts, map[string]any{"type": "pointerUp", "button": 0})
	return map[string]any{"type": "pointer", "id": "mouse", "parameters": map[string]any{"pointerType": "mouse"}, "actions": acts}
}

// dragPoints are the points of a drag in steps.
func dragPoints(x0, y0, x1, y1 float64, steps int) [][2]float64 {
	pts := [][2]float64{{x0, y0}}
	for i := 1; i <= steps; i++ {
		pts = append(pts, [2]float64{x0 + (x1-x0)*float64(i)/float64(steps), y0 + (y1-y0)*float64(i)/float64(steps)})
	}
	return pts
}

// lookTool returns the first of the programs that is installed, or marks the
// test as missing it (a failure under CI).
func lookTool(t testing.TB, what string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if n == "" {
			continue
		}
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	sqltest.Unavailable(t, "%s is not installed", what)
	return ""
}

// startProgram starts cmd in its own process group, ended with the test, and
// returns the first submatch of re in what it prints on stderr; with re nil,
// it returns at once. What the program prints goes to the test's stderr when
// MEDBOX_BROWSER_LOG is set.
func startProgram(t testing.TB, cmd *exec.Cmd, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		// The browser runs helper processes of its own: end the whole group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	found := make(chan string, 1)
	wait := re != nil
	if re == nil {
		re = regexp.MustCompile(`^()`)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
			if os.Getenv("MEDBOX_BROWSER_LOG") != "" {
				fmt.Fprintf(os.Stderr, "%s: %s\n", cmd.Path, sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		if !sent {
			close(found)
		}
	}()
	if !wait {
		return ""
	}
	select {
	case s, ok := <-found:
		if !ok {
			t.Fatalf("%s ended before it printed %s", cmd.Path, re)
		}
		return s
	case <-time.After(timeout):
		t.Fatalf("%s did not print %s within %v", cmd.Path, re, timeout)
	}
	return ""
}
