package job

import (
	"context"
	"fmt"
	"time"
)

// Periodic is work done every Every. Each run is one job row keyed by (name, time
// slot), so when several instances run, exactly one of them wins each slot.
type Periodic struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context, now time.Time) error
}

// periodicKind prefixes the job kind of each periodic task. A kind per task means
// that an instance claims only the slots of tasks it has: during a rolling upgrade
// an older instance must not claim a new task's slot and bury it as unknown.
const periodicKind = "periodic:"

type periodicPayload struct {
	Name string    `json:"name"`
	Slot time.Time `json:"slot"`
}

// Schedule adds periodic work.
func (q *Queue) Schedule(ps ...Periodic) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range ps {
		q.periodic[p.Name] = p
		q.handlers[periodicKind+p.Name] = q.runPeriodic
	}
}

// schedulePeriodic enqueues the current slot of every periodic task, once per slot
// per instance; the dedup key makes it once per slot overall.
func (q *Queue) schedulePeriodic(ctx context.Context) error {
	now := q.o.Now()
	q.mu.Lock()
	var due []periodicPayload
	for name, p := range q.periodic {
		slot := now.Truncate(p.Every)
		if !q.lastSlot[name].Equal(slot) {
			due = append(due, periodicPayload{Name: name, Slot: slot})
		}
	}
	q.mu.Unlock()
	for _, d := range due {
		key := fmt.Sprintf("periodic:%s:%d", d.Name, d.Slot.UnixMilli())
		if err := Enqueue(ctx, q.db, now, periodicKind+d.Name, d, Key(key), At(d.Slot), MaxAttempts(3)); err != nil {
			return err
		}
		q.mu.Lock()
		q.lastSlot[d.Name] = d.Slot
		q.mu.Unlock()
	}
	return nil
}

func (q *Queue) runPeriodic(ctx context.Context, j *Job) error {
	var p periodicPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	q.mu.Lock()
	task, ok := q.periodic[p.Name]
	q.mu.Unlock()
	if !ok {
		return Permanent(fmt.Errorf("no periodic task %q", p.Name))
	}
	return task.Run(ctx, q.o.Now())
}
