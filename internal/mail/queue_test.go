package mail_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/mail/mailtest"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// queued is a mail queue on db sending through srv, on a clock the test moves.
type queued struct {
	db    *sqldb.DB
	srv   *mailtest.Server
	clock *clocktest.Clock
	jobs  *job.Queue
}

func newQueued(t *testing.T, db *sqldb.DB) *queued {
	t.Helper()
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS, Username: user, Password: pass})
	c := clocktest.New()
	log := slog.New(slog.DiscardHandler)
	q := job.New(db, job.Options{Owner: "test", Now: c.Now, Logger: log})
	mail.Register(q, newSMTP(t, srv), log)
	return &queued{db: db, srv: srv, clock: c, jobs: q}
}

// enqueue queues m in a committed transaction.
func (q *queued) enqueue(t *testing.T, m *mail.Message) {
	t.Helper()
	err := q.db.Tx(t.Context(), func(tx *sqldb.Tx) error { return mail.Enqueue(t.Context(), tx, q.clock.Now(), m) })
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if m.ID == "" {
		t.Fatal("Enqueue did not fix the Message-ID")
	}
}

// runDue runs the due jobs after moving the clock by d.
func (q *queued) runDue(t *testing.T, d time.Duration) {
	t.Helper()
	q.clock.Advance(d)
	if _, err := q.jobs.RunDue(t.Context()); err != nil {
		t.Fatalf("RunDue: %v", err)
	}
}

// state reads the mail job's state and attempts.
func (q *queued) state(t *testing.T) (state string, attempts int, lastError string) {
	t.Helper()
	err := q.db.QueryRowContext(t.Context(), `SELECT state, attempts, last_error FROM jobs WHERE kind = $1`, mail.JobKind).
		Scan(&state, &attempts, &lastError)
	if err != nil {
		t.Fatalf("read mail job: %v", err)
	}
	return state, attempts, lastError
}

func TestQueuedMailIsDeliveredOnceAfterTemporaryFailures(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		q := newQueued(t, db)
		q.srv.FailNext(2)
		m := newMessage("taro.yamada@hospital.example.jp")
		q.enqueue(t, m)

		q.runDue(t, 0)
		q.runDue(t, 13*time.Second) // past the first back-off (10–12 s)
		if n := len(q.srv.Messages()); n != 0 {
			t.Fatalf("%d messages while the server fails, want 0", n)
		}
		if state, attempts, lastError := q.state(t); state != "queued" || attempts != 2 || !strings.Contains(lastError, "451") {
			t.Fatalf("after two failures: %s after %d attempts (%q); want queued after 2 with the 451", state, attempts, lastError)
		}
		q.runDue(t, 25*time.Second) // past the second back-off (20–24 s)
		q.runDue(t, 2*time.Hour)
		got := q.srv.Messages()
		if len(got) != 1 {
			t.Fatalf("server received %d messages, want exactly 1", len(got))
		}
		checkDelivered(t, parse(t, got[0].Data), m) // the Message-ID fixed at enqueue
		if state, attempts, _ := q.state(t); state != "done" || attempts != 3 {
			t.Errorf("mail job: %s after %d attempts, want done after 3", state, attempts)
		}
	})
}

func TestRejectedMailIsNotRetried(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		q := newQueued(t, db)
		q.srv.RejectNext(1)
		const to = "nobody@hospital.example.jp"
		q.enqueue(t, newMessage(to))
		q.runDue(t, 0)
		state, attempts, lastError := q.state(t)
		if state != "dead" || attempts != 1 || !strings.Contains(lastError, "550") {
			t.Errorf("after a 550: %s after %d attempts (%q); want dead after 1 with the 550", state, attempts, lastError)
		}
		if strings.Contains(lastError, to) {
			t.Errorf("last_error %q keeps the full address", lastError)
		}
		q.runDue(t, 2*time.Hour) // the server would take it now; it must not be asked
		q.runDue(t, 2*time.Hour)
		if n := len(q.srv.Messages()); n != 0 {
			t.Errorf("server received %d messages, want 0: a refused mail is not retried", n)
		}
		if _, attempts, _ := q.state(t); attempts != 1 {
			t.Errorf("%d attempts, want 1", attempts)
		}
	})
}

func TestQueuedMailWaitsForAStoppedServer(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		q := newQueued(t, db)
		q.srv.Stop()
		m := newMessage("taro.yamada@hospital.example.jp")
		q.enqueue(t, m)
		q.runDue(t, 0)
		if state, attempts, _ := q.state(t); state != "queued" || attempts != 1 {
			t.Fatalf("with the server down: %s after %d attempts, want queued after 1", state, attempts)
		}
		q.srv.Restart()
		q.runDue(t, 13*time.Second)
		got := q.srv.Messages()
		if len(got) != 1 {
			t.Fatalf("server received %d messages after its restart, want 1", len(got))
		}
		checkDelivered(t, parse(t, got[0].Data), m)
		if state, _, _ := q.state(t); state != "done" {
			t.Errorf("mail job %s, want done", state)
		}
	})
}

func TestQueuedMailIsNotResentAfterALostConnection(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		q := newQueued(t, db)
		q.srv.HangUpNext(1) // acknowledged, then the connection breaks
		m := newMessage("taro.yamada@hospital.example.jp")
		q.enqueue(t, m)
		q.runDue(t, 0)
		q.runDue(t, 2*time.Hour)
		if n := len(q.srv.Messages()); n != 1 {
			t.Fatalf("server received %d messages, want exactly 1", n)
		}
		if state, attempts, _ := q.state(t); state != "done" || attempts != 1 {
			t.Errorf("mail job: %s after %d attempts, want done after 1", state, attempts)
		}
	})
}
