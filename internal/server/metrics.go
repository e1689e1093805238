package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/web"
)

// metrics is what an instance tells Prometheus at GET /metrics (R-R3). Each
// instance has its own registry, so instances in one test process never share
// counters. Who may read it: see web.Metrics and docs/deploy.md.
type metrics struct {
	reg          *prometheus.Registry
	http         *web.Metrics
	mailFailures prometheus.Counter
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &metrics{
		reg:  reg,
		http: web.NewMetrics(reg),
		mailFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "medbox_mail_send_failures_total",
			Help: "Failed attempts to hand a mail to the SMTP server (each is retried by the mail job)."}),
	}
	reg.MustRegister(m.mailFailures)
	return m
}

// watchQueue reports the job queue's depth, the wait of its oldest due job and
// its dead jobs, read from the database at each scrape. The queue is one table
// for all instances, so every instance reports the same numbers: alert on max(),
// not sum().
func (m *metrics) watchQueue(q *job.Queue) {
	m.reg.MustRegister(&queueCollector{
		q: q,
		depth: prometheus.NewDesc("medbox_job_queue_depth", "Queued jobs that are due now, by kind (all instances).",
			[]string{"kind"}, nil),
		oldest: prometheus.NewDesc("medbox_job_queue_oldest_due_seconds", "How long the oldest due job has been waiting.",
			nil, nil),
		dead: prometheus.NewDesc("medbox_jobs_dead", "Jobs given up after their last attempt, kept for inspection.",
			nil, nil),
	})
}

type queueCollector struct {
	q                   *job.Queue
	depth, oldest, dead *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
	ch <- c.dead
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, err := c.q.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		return
	}
	for _, kind := range c.q.Kinds() {
		if _, ok := st.Due[kind]; !ok {
			st.Due[kind] = 0 // a kind with nothing due still shows, as 0
		}
	}
	for kind, n := range st.Due {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), kind)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, st.OldestDue.Seconds())
	ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(st.Dead))
}
