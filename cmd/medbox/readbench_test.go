//go:build bench

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestAuditedReads (`make bench`, issue 14) measures audited reads: readers,
// each signed in as a recipient, load a box page (which records box.view) and a
// file's preview (which reads the log for the viewer's recent views), over and
// over. It runs once on one instance with SQLite and once on two instances
// sharing one PostgreSQL database, the readers split between them, and reports
// requests per second and the 99th-percentile latency of both from one run.
//
//	go test -tags bench,nodynamic -run '^TestAuditedReads$' -v ./cmd/medbox
//
// MEDBOX_BENCH_READERS (200) and MEDBOX_BENCH_SECONDS (30) change the load;
// MEDBOX_BENCH_OUT names a JSON file for the results.
func TestAuditedReads(t *testing.T) {
	readers := envInt("MEDBOX_BENCH_READERS", 200)
	dur := time.Duration(envInt("MEDBOX_BENCH_SECONDS", 30)) * time.Second
	lite := measureReads(t, "SQLite, one instance", readers, dur, func(t *testing.T) []*instance {
		return []*instance{startInstance(t, instanceOptions{})}
	})
	pg := measureReads(t, "PostgreSQL, two instances", readers, dur, func(t *testing.T) []*instance {
		db := sqltest.NewPostgresURL(t)
		a := startInstance(t, instanceOptions{database: db})
		// b shares a's data directory: one blob store and one master key.
		b := startInstance(t, instanceOptions{database: db, env: map[string]string{"MEDBOX_DATA": a.data}, clock: a.clock})
		return []*instance{a, b}
	})
	verdict := "reaches"
	if pg.RPS < lite.RPS {
		verdict = "DOES NOT reach"
	}
	t.Logf("audited reads, %d readers, %s: PostgreSQL with two instances %s the SQLite figure (%.0f vs %.0f req/s; p99 %s vs %s)",
		readers, dur, verdict, pg.RPS, lite.RPS, pg.P99, lite.P99)
	if out := os.Getenv("MEDBOX_BENCH_OUT"); out != "" {
		b, _ := json.MarshalIndent(map[string]any{"readers": readers, "seconds": dur.Seconds(), "runs": []readResult{lite, pg}}, "", "  ")
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
}

// reader is one signed-in recipient: a browser session for the box page and an
// API token for the preview, each its own connection.
type reader struct {
	web, api *client
	box      string
	file     string
}

func measureReads(t *testing.T, name string, readers int, dur time.Duration, start func(t *testing.T) []*instance) readResult {
	var res readResult
	t.Run(name, func(t *testing.T) {
		ins := start(t)
		rs := prepareReaders(t, ins, readers)
		// Checkpoints run every minute in service; here every 5 s, so the run
		// includes their cost.
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(5 * time.Second):
					ins[0].app.Audit.Checkpoint(ctx, ins[0].clock.Now())
				}
			}
		}()
		run := func(d time.Duration) ([]time.Duration, int) {
			var mu sync.Mutex
			var all []time.Duration
			failed := 0
			deadline := time.Now().Add(d)
			var wg sync.WaitGroup
			for _, r := range rs {
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
			return all, failed
		}
		run(3 * time.Second) // warm up: connections, caches, the first view of each preview
		var before int64
		ins[0].db().QueryRowContext(ctx, `SELECT count(*) FROM audit_events`).Scan(&before)
		began := time.Now()
		lat, failed := run(dur)
		elapsed := time.Since(began)
		var after int64
		ins[0].db().QueryRowContext(ctx, `SELECT count(*) FROM audit_events`).Scan(&after)
		slices.Sort(lat)
		res = readResult{Name: name, Requests: len(lat), Failed: failed, RPS: float64(len(lat)) / elapsed.Seconds(),
			P50: lat[len(lat)/2], P99: lat[len(lat)*99/100], Events: after - before}
		t.Logf("%s: %d readers, %s: %.0f req/s, p50 %s, p99 %s, %d failed, %d audit events written",
			name, readers, dur, res.RPS, res.P50.Round(time.Millisecond), res.P99.Round(time.Millisecond), failed, res.Events)
		stop()
		if n, err := ins[0].app.Audit.Verify(context.Background()); err != nil {
			t.Errorf("audit log after the run (%d events): %v", n, err)
		}
		if failed > 0 {
			t.Errorf("%d requests failed", failed)
		}
	})
	return res
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
