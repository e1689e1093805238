package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// JobKind is the job that sends one queued mail.
const JobKind = "mail.send"

// Enqueue queues m in the caller's transaction: it is sent only if the transaction
// commits, and retried until the mail server takes it. Its Message-ID is fixed here,
// so a retry is recognisably the same message. now is the caller's clock.
func Enqueue(ctx context.Context, q sqldb.Querier, now time.Time, m *Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	if m.ID == "" {
		m.ID = newMessageID("@medbox.localhost")
	}
	return job.Enqueue(ctx, q, now, JobKind, m, job.MaxAttempts(20))
}

// Register makes q send queued mail through s.
func Register(q *job.Queue, s Sender, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	q.Handle(JobKind, func(ctx context.Context, j *job.Job) error {
		var m Message
		if err := j.Decode(&m); err != nil {
			return err
		}
		err := s.Send(ctx, &m)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrInvalid), errors.Is(err, ErrRejected):
			log.ErrorContext(ctx, "mail refused for good", "to", maskAll(m.To), "err", err)
			return job.Permanent(err)
		default:
			return fmt.Errorf("deliver mail (attempt %d): %w", j.Attempt, err)
		}
	})
}
