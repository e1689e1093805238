package job

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Stats describe the queue for monitoring.
type Stats struct {
	Due       map[string]int // queued jobs that are due, by kind
	OldestDue time.Duration  // how long the oldest due job has waited
	Dead      int            // jobs given up
}

// Stats reads the queue's depth, the age of its oldest due job and its dead count.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	now := sqldb.Millis(q.o.Now())
	st := Stats{Due: map[string]int{}}
	// A job waits from when it is due, but not from before it existed: a job
	// enqueued to run at once is stored with run_at 0.
	rows, err := q.db.QueryContext(ctx, `SELECT kind, count(*), min(CASE WHEN run_at > created_at THEN run_at ELSE created_at END)
		FROM jobs WHERE state = 'queued' AND run_at <= $1 GROUP BY kind`, now)
	if err != nil {
		return st, fmt.Errorf("job stats: %w", err)
	}
	defer rows.Close()
	oldest := now
	for rows.Next() {
		var kind string
		var n int
		var since int64
		if err := rows.Scan(&kind, &n, &since); err != nil {
			return st, fmt.Errorf("job stats: %w", err)
		}
		st.Due[kind] = n
		oldest = min(oldest, since)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("job stats: %w", err)
	}
	st.OldestDue = time.Duration(now-oldest) * time.Millisecond
	if err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE state = 'dead'`).Scan(&st.Dead); err != nil {
		return st, fmt.Errorf("count dead jobs: %w", err)
	}
	return st, nil
}

type metrics struct {
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "medbox_jobs_total", Help: "Job runs by kind and result."},
			[]string{"kind", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "medbox_job_duration_seconds", Help: "Job run time.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8)}, []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(m.runs, m.duration)
	}
	return m
}

func (m *metrics) observe(kind string, err error, d time.Duration) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.runs.WithLabelValues(kind, result).Inc()
	m.duration.WithLabelValues(kind).Observe(d.Seconds())
}
