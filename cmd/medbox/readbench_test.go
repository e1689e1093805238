//go:build bench

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestAuditedReads (`make bench`, issue 14) measures audited reads: readers,
// each signed in as a recipient, load a box page (which records box.view) and a
// file's preview (which reads the log for the viewer's recent views), over and
// over. One setup is one instance with SQLite; the other is two instances
// sharing one PostgreSQL database, the readers split between them. Both are
// measured in the same run, in alternating rounds (three of a third of the
// time each), so that the load of a shared machine weighs on both alike; it
// reports requests per second and the 99th-percentile latency of both.
//
//	go test -tags bench,nodynamic -run '^TestAuditedReads$' -v ./cmd/medbox
//
// MEDBOX_BENCH_READERS (200) and MEDBOX_BENCH_SECONDS (30, per setup) change
// the load; MEDBOX_BENCH_OUT names a JSON file for the results.
func TestAuditedReads(t *testing.T) {
	readers := envInt("MEDBOX_BENCH_READERS", 200)
	dur := time.Duration(envInt("MEDBOX_BENCH_SECONDS", 30)) * time.Second
	const rounds = 3
	lite := newReadSetup(t, "SQLite, one instance", readers, startInstance(t, instanceOptions{}))
	db := sqltest.NewPostgresURL(t)
	a := startInstance(t, instanceOptions{database: db})
	// b shares a's data directory: one blob store and one master key.
	b := startInstance(t, instanceOptions{database: db, env: map[string]string{"MEDBOX_DATA": a.data}, clock: a.clock})
	pg := newReadSetup(t, "PostgreSQL, two instances", readers, a, b)
	for _, s := range []*readSetup{lite, pg} {
		s.run(3*time.Second, false) // warm up: connections, caches, the first view of each preview
	}
	for range rounds {
		for _, s := range []*readSetup{lite, pg} {
			s.run(dur/rounds, true)
		}
	}
	var results []readResult
	for _, s := range []*readSetup{lite, pg} {
		r := s.result()
		results = append(results, r)
		t.Logf("%s: %d readers, %s: %.0f req/s, p50 %s, p99 %s, %d failed, %d audit events written; CPU per request: %s here, %s in PostgreSQL",
			r.Name, readers, dur, r.RPS, r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Failed, r.Events,
			r.AppCPU.Round(10*time.Microsecond), r.DBCPU.Round(10*time.Microsecond))
		if n, err := s.ins[0].app.Audit.Verify(context.Background()); err != nil {
			t.Errorf("%s: audit log after the run (%d events): %v", r.Name, n, err)
		}
		if r.Failed > 0 {
			t.Errorf("%s: %d requests failed", r.Name, r.Failed)
		}
	}
	verdict := "reaches"
	if results[1].RPS < results[0].RPS {
		verdict = "DOES NOT reach"
	}
	t.Logf("audited reads, %d readers, %s each: PostgreSQL with two instances %s the SQLite figure (%.0f vs %.0f req/s; p99 %s vs %s)",
		readers, dur, verdict, results[1].RPS, results[0].RPS, results[1].P99.Round(time.Millisecond), results[0].P99.Round(time.Millisecond))
	if out := os.Getenv("MEDBOX_BENCH_OUT"); out != "" {
		b, _ := json.MarshalIndent(map[string]any{"readers": readers, "seconds": dur.Seconds(), "rounds": rounds, "runs": results}, "", "  ")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type readResult struct {
	Name     string        `json:"name"`
	Requests int           `json:"requests"`
	Failed   int           `json:"failed"`
	RPS      float64       `json:"req_per_s"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	Events   int64         `json:"audit_events"`
	// CPU time per request, which the load of a shared machine does not
	// change: this process (instances and readers) and the PostgreSQL backends
	// serving it.
	AppCPU time.Duration `json:"app_cpu_per_req_ns"`
	DBCPU  time.Duration `json:"db_cpu_per_req_ns"`
}

// reader is one signed-in recipient: a browser session for the box page and an
// API token for the preview, each its own connection.
type reader struct {
	web, api *client
	box      string
	file     string
}

// readSetup is one of the measured setups, with what its rounds measured.
type readSetup struct {
	name    string
	ins     []*instance
	readers []*reader
	lat     []time.Duration
	failed  int
	elapsed time.Duration
	events  int64
	appCPU  time.Duration
	dbCPU   time.Duration
}

func newReadSetup(t *testing.T, name string, readers int, ins ...*instance) *readSetup {
	return &readSetup{name: name, ins: ins, readers: prepareReaders(t, ins, readers)}
}

// run lets every reader read for d; measured rounds add to the results. A
// checkpoint of the audit log is made every 5 s meanwhile (in service, every
// minute), so the run includes its cost.
func (s *readSetup) run(d time.Duration, measured bool) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
				s.ins[0].app.Audit.Checkpoint(ctx, s.ins[0].clock.Now())
			}
		}
	}()
	count := func() (n int64) {
		s.ins[0].db().QueryRowContext(ctx, `SELECT count(*) FROM audit_events`).Scan(&n)
		return n
	}
	before := count()
	app0, db0 := procCPU(os.Getpid()), s.backendCPU(ctx)
	var mu sync.Mutex
	var all []time.Duration
	failed := 0
	began := time.Now()
	deadline := began.Add(d)
	var wg sync.WaitGroup
	for _, r := range s.readers {
		wg.Go(func() {
			var lat []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				for _, get := range []func() int{r.boxPage, r.preview} {
					t0 := time.Now()
					if get() != http.StatusOK {
						bad++
					}
					lat = append(lat, time.Since(t0))
				}
			}
			mu.Lock()
			all, failed = append(all, lat...), failed+bad
			mu.Unlock()
		})
	}
	wg.Wait()
	if measured {
		s.elapsed += time.Since(began)
		s.lat = append(s.lat, all...)
		s.failed += failed
		s.events += count() - before
		s.appCPU += procCPU(os.Getpid()) - app0
		for pid, cpu := range s.backendCPU(ctx) {
			s.dbCPU += cpu - db0[pid] // a backend started meanwhile counts whole
		}
	}
}

// backendCPU returns the CPU time of each PostgreSQL backend serving this
// setup's database (none for SQLite).
func (s *readSetup) backendCPU(ctx context.Context) map[int]time.Duration {
	out := map[int]time.Duration{}
	db := s.ins[0].db()
	if db.Dialect() != sqldb.Postgres {
		return out
	}
	rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			out[pid] = procCPU(pid)
		}
	}
	return out
}

// procCPU returns the user and system time a process has used, from
// /proc/PID/stat (0 where there is no /proc).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

func (s *readSetup) result() readResult {
	slices.Sort(s.lat)
	r := readResult{Name: s.name, Requests: len(s.lat), Failed: s.failed, Events: s.events}
	if n := len(s.lat); n > 0 {
		r.RPS = float64(n) / s.elapsed.Seconds()
		r.P50, r.P99 = s.lat[n/2], s.lat[n*99/100]
		r.AppCPU, r.DBCPU = s.appCPU/time.Duration(n), s.dbCPU/time.Duration(n)
	}
	return r
}

// prepareReaders makes ten boxes, each with a JPEG and twenty recipients, and
// signs every reader in as one of the recipients on one of the instances.
func prepareReaders(t *testing.T, ins []*instance, readers int) []*reader {
	const boxes, members = 10, 20
	in := ins[0]
	admin := in.admin()
	sender, _ := in.approvedMember(admin, newMember{Email: "sender@a.example.jp", Name: "送 信子", Kana: "そう のぶこ"})
	var ids, emails []string
	for i := range members {
		email := fmt.Sprintf("rcpt%d@b.example.jp", i)
		_, id := in.approvedMember(admin, newMember{Email: email, Name: "受 信男", Kana: "じゅ のぶお", License: fmt.Sprint(500000 + i)})
		ids, emails = append(ids, id), append(emails, email)
	}
	type shared struct{ box, file string }
	var shares []shared
	for i := range boxes {
		var b map[string]any
		must(t, sender.json("POST", "/api/v1/boxes", map[string]any{"recipients": ids, "message": "CT", "expires_in_hours": 72}, &b),
			http.StatusCreated, "create box", b)
		box := b["id"].(string)
		shares = append(shares, shared{box, sender.upload(box, fmt.Sprintf("scan%d.jpg", i), jpegWithOrientation(t, halves(1200+i, 900), 1))})
	}
	for _, in := range ins {
		in.deliver() // previews
	}
	rs := make([]*reader, readers)
	for i := range rs {
		on := ins[i%len(ins)]
		s := shares[(i/members)%boxes]
		web, api := on.client(), on.client()
		status, body, _ := web.form("/login", "email", emails[i%members], "password", "correct horse battery")
		must(t, status, http.StatusSeeOther, "web sign-in", body)
		api.login(emails[i%members], "correct horse battery")
		rs[i] = &reader{web: web, api: api, box: s.box, file: s.file}
		if got := rs[i].preview(); got != http.StatusOK {
			t.Fatalf("preview of %s: %d", s.file, got)
		}
	}
	return rs
}

func (r *reader) boxPage() int { return get(r.web, "/boxes/"+r.box, "") }
func (r *reader) preview() int { return get(r.api, "/api/v1/files/"+r.file+"/preview", r.api.tok) }

// get fetches path without the test helpers, which may not fail a test from
// the readers' goroutines.
func get(c *client, path, token string) int {
	req, err := http.NewRequest("GET", c.in.url+path, nil)
	if err != nil {
		return 0
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
