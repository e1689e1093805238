//go:build bench

package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc (100 on every Linux
// this runs on).
const clockTicks = 100

// procCPU returns the CPU time (user + system) a process has used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after its ')' are fixed.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// procStatus returns a field of /proc/PID/status in bytes (VmHWM, VmRSS).
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// resetPeakRSS starts a new peak-RSS measurement for pid (VmHWM).
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// machineCPU returns busy and total jiffies of all CPUs.
func machineCPU() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// meter measures one run: CPU of the server and the emulator, peak RSS of the
// server, and how busy the whole machine was.
type meter struct {
	server, wanem, tree     int
	start                   time.Time
	srvCPU, wanCPU, treeCPU time.Duration
	srvRSS                  int64
	machBusy, machTotal     int64
}

func startMeter(server, wanem int) *meter {
	return startTreeMeter(server, wanem, 0)
}

// startTreeMeter also counts the CPU of tree's descendants (the browser).
func startTreeMeter(server, wanem, tree int) *meter {
	m := &meter{server: server, wanem: wanem, tree: tree, start: time.Now()}
	if tree > 0 {
		m.treeCPU = descendantsCPU(tree)
	}
	if server > 0 {
		resetPeakRSS(server)
		m.srvCPU, _ = procCPU(server)
		m.srvRSS, _ = procStatus(server, "VmRSS")
	}
	if wanem > 0 {
		m.wanCPU, _ = procCPU(wanem)
	}
	m.machBusy, m.machTotal = machineCPU()
	return m
}

// usage is what a meter saw.
type usage struct {
	Seconds    float64 `json:"seconds"`
	ServerCPU  float64 `json:"server_cpu_pct"` // percent of one core, averaged
	ServerPeak int64   `json:"server_peak_rss"`
	// ServerStart is the server's RSS when the run began: a sign-in just
	// before (argon2id) leaves up to 4 × 46 MiB that Go returns to the system
	// only gradually, so the peak alone overstates what the run needed.
	ServerStart int64   `json:"server_start_rss"`
	WanemCPU    float64 `json:"wanem_cpu_pct"`
	BrowserCPU  float64 `json:"browser_cpu_pct,omitempty"`
	MachineCPU  float64 `json:"machine_cpu_pct"` // percent of all cores
	// OtherCPU is what the machine was busy with besides the server, the
	// emulator and the browser (percent of one core): the kernel's share of
	// the traffic, the client, and whatever else runs on a shared machine.
	OtherCPU float64 `json:"other_cpu_pct"`
}

func (m *meter) stop() usage {
	u := usage{Seconds: time.Since(m.start).Seconds()}
	if m.server > 0 {
		c, _ := procCPU(m.server)
		u.ServerCPU = 100 * (c - m.srvCPU).Seconds() / u.Seconds
		u.ServerPeak, _ = procStatus(m.server, "VmHWM")
		u.ServerStart = m.srvRSS
	}
	if m.wanem > 0 {
		c, _ := procCPU(m.wanem)
		u.WanemCPU = 100 * (c - m.wanCPU).Seconds() / u.Seconds
	}
	if m.tree > 0 {
		u.BrowserCPU = 100 * (descendantsCPU(m.tree) - m.treeCPU).Seconds() / u.Seconds
	}
	b, t := machineCPU()
	if t > m.machTotal {
		u.MachineCPU = 100 * float64(b-m.machBusy) / float64(t-m.machTotal)
		u.OtherCPU = max(0, u.MachineCPU*float64(numCPU())-u.ServerCPU-u.WanemCPU-u.BrowserCPU)
	}
	return u
}

// descendantsCPU is the CPU time used so far by every living descendant of pid.
func descendantsCPU(pid int) time.Duration {
	parent := map[int]int{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(b, ')'); i > 0 {
			if f := strings.Fields(string(b[i+1:])); len(f) > 2 {
				parent[p], _ = strconv.Atoi(f[1])
			}
		}
	}
	var sum time.Duration
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				c, _ := procCPU(p)
				sum += c
				break
			}
		}
	}
	return sum
}

// dirBytes is the size of every file under dir: the sealed chunks a server has
// stored so far, including those still being written.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
