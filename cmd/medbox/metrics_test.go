package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/mail/mailtest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/server"
)

// scrapeMetrics reads GET /metrics as this machine's Prometheus would, into samples
// keyed as they are printed: name{label="value",…}.
func scrapeMetrics(t *testing.T, in *instance) map[string]float64 {
	t.Helper()
	status, body := in.client().get("/metrics")
	must(t, status, http.StatusOK, "GET /metrics from loopback", body)
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsAfterTraffic (R-R3): after sign-ups, an upload and a failed mail,
// GET /metrics shows requests by route and status, their duration, upload bytes
// and goodput, the job queue's depth, oldest wait and dead jobs, and mail
// failures.
func TestMetricsAfterTraffic(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	srv.FailNext(1) // the first mail (a confirmation) fails once, and is retried
	in := startInstance(t, instanceOptions{env: map[string]string{"MEDBOX_SMTP_URL": srv.URL(), "MEDBOX_CHUNK_SIZE": "256KiB"}})
	p := &cluster{t: t, a: in, b: in, mail: srv}
	sa, _, _ := p.member("sender@a.example.jp", "送 信子", "そう のぶこ")
	_, _, rcptID := p.member("rcpt@b.example.jp", "受 信男", "じゅ のぶお")
	sa.relogin()
	var b map[string]any
	must(t, sa.json("POST", "/api/v1/boxes", map[string]any{"recipients": []string{rcptID}}, &b), http.StatusCreated, "create box", b)
	data := jpeg(81, 2*256<<10+5000) // three chunks
	sa.upload(b["id"].(string), "m.jpg", data)
	sa.do("GET", "/no/such/page", nil, nil)

	ctx := context.Background()
	if err := job.Enqueue(ctx, in.db(), in.clock.Now(), "test.nobody-handles-this", struct{}{}); err != nil {
		t.Fatal(err)
	}
	if err := job.Enqueue(ctx, in.db(), in.clock.Now(), mail.JobKind, "not a message"); err != nil { // dies at once: cannot be decoded
		t.Fatal(err)
	}
	in.deliver()
	in.clock.Advance(time.Hour) // the job nobody handles has waited an hour

	m := scrapeMetrics(t, in)
	chunk := `route="PUT /api/v1/uploads/{id}/chunks/{n}"`
	for _, c := range []struct {
		sample string
		ok     func(float64) bool
		want   string
	}{
		{`medbox_http_requests_total{code="204",` + chunk + `}`, metricEq(3), "3 chunk PUTs"},
		{`medbox_http_requests_total{code="201",route="POST /api/v1/uploads/{id}/complete"}`, metricEq(1), "1 complete"},
		{`medbox_http_requests_total{code="200",route="POST /api/v1/login"}`, metricAtLeast(2), "the sign-ins"},
		{`medbox_http_requests_total{code="404",route="none"}`, metricAtLeast(1), "unmatched paths under one label"},
		{`medbox_http_request_duration_seconds_count{` + chunk + `}`, metricEq(3), "3 timed chunk PUTs"},
		{`medbox_upload_chunk_bytes_total`, metricEq(float64(len(data))), fmt.Sprint(len(data), " bytes")},
		{`medbox_upload_chunk_goodput_bytes_per_second_count`, metricEq(3), "3 goodput observations"},
		{`medbox_upload_chunk_goodput_bytes_per_second_sum`, metricAtLeast(1), "a positive goodput"},
		{`medbox_job_queue_depth{kind="test.nobody-handles-this"}`, metricEq(1), "the unclaimed job"},
		{`medbox_job_queue_depth{kind="mail.send"}`, metricEq(0), "every kind, 0 when idle"},
		{`medbox_job_queue_oldest_due_seconds`, metricAtLeast(3000), "about an hour"},
		{`medbox_jobs_dead`, metricEq(1), "the undecodable mail"},
		{`medbox_jobs_total{kind="mail.send",result="error"}`, metricAtLeast(1), "the failed send"},
		{`medbox_mail_send_failures_total`, metricEq(1), "the one refused delivery"},
		{`go_goroutines`, metricAtLeast(1), "the runtime's own"},
	} {
		v, ok := m[c.sample]
		if !ok || !c.ok(v) {
			t.Errorf("%s = %v (present %v), want %s", c.sample, v, ok, c.want)
		}
	}
	// Relayed by a proxy, even one on this machine: refused.
	status, _, _ := in.client().do("GET", "/metrics", nil, map[string]string{"X-Forwarded-For": "198.51.100.7"})
	if status != http.StatusNotFound {
		t.Errorf("GET /metrics through a proxy: %d, want 404", status)
	}
}

func metricEq(want float64) func(float64) bool      { return func(v float64) bool { return v == want } }
func metricAtLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }

// TestMetricsAccess: without MEDBOX_METRICS_TOKEN only a direct client on this
// machine reads /metrics; with it, only a request bearing the token, from
// anywhere. Everyone else gets 404. `medbox serve` takes the token from the
// environment.
func TestMetricsAccess(t *testing.T) {
	handler := func(token string) http.Handler {
		cfg, err := config.Load(nil, envOf(map[string]string{"MEDBOX_DATA": t.TempDir()}))
		if err != nil {
			t.Fatal(err)
		}
		hp := member.TestHashParams
		a, err := server.New(t.Context(), cfg, server.NewLogger(&syncBuffer{}, "error"), server.Options{Now: clocktest.New().Now, HashParams: &hp, MetricsToken: token})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		srv, err := a.Handler()
		if err != nil {
			t.Fatal(err)
		}
		return srv.Handler()
	}
	get := func(h http.Handler, from string, header map[string]string) int {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = from
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	open, guarded := handler(""), handler("s3cret-token")
	for _, c := range []struct {
		name   string
		h      http.Handler
		from   string
		header map[string]string
		want   int
	}{
		{"loopback", open, "127.0.0.1:40000", nil, 200},
		{"loopback IPv6", open, "[::1]:40000", nil, 200},
		{"another machine", open, "203.0.113.9:40000", nil, 404},
		{"relayed by a local proxy", open, "127.0.0.1:40000", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 404},
		{"relayed, Forwarded", open, "127.0.0.1:40000", map[string]string{"Forwarded": "for=203.0.113.9"}, 404},
		{"token from anywhere", guarded, "203.0.113.9:40000", map[string]string{"Authorization": "Bearer s3cret-token"}, 200},
		{"wrong token", guarded, "203.0.113.9:40000", map[string]string{"Authorization": "Bearer s3cret-tokem"}, 404},
		{"no token, even on loopback", guarded, "127.0.0.1:40000", nil, 404},
	} {
		if got := get(c.h, c.from, c.header); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}

	// The real command reads the token from its environment.
	addr := procAddr(t)
	env := map[string]string{"MEDBOX_DATA": t.TempDir(), "MEDBOX_LISTEN": addr, "MEDBOX_METRICS_TOKEN": "from-env", "MEDBOX_LOG_LEVEL": "error"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, process{getenv: envOf(env), stdin: strings.NewReader(""), stdout: &syncBuffer{}, now: clocktest.New().Now})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	hc := &http.Client{Timeout: 10 * time.Second}
	for i := 0; ; i++ {
		status, _, err := apiCall(hc, "GET", "http://"+addr+"/healthz", "", nil, nil)
		if err == nil && status == 200 {
			break
		}
		if i > 500 {
			t.Fatalf("serve did not come up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if status, _, _ := apiCall(hc, "GET", "http://"+addr+"/metrics", "", nil, nil); status != http.StatusNotFound {
		t.Errorf("serve with MEDBOX_METRICS_TOKEN, no token: %d, want 404", status)
	}
	if status, _, _ := apiCall(hc, "GET", "http://"+addr+"/metrics", "from-env", nil, nil); status != http.StatusOK {
		t.Errorf("serve with MEDBOX_METRICS_TOKEN, the token: %d, want 200", status)
	}
	hc.CloseIdleConnections()
}
