package job

import "context"

// SchedulePeriodic enqueues the current slot of every periodic task without running
// anything, so that a test can watch who claims it.
func (q *Queue) SchedulePeriodic(ctx context.Context) error { return q.schedulePeriodic(ctx) }

// OnIdle makes every worker call fn when it has found nothing due and starts to
// wait for a wake-up or the next poll. Call it before Run.
func (q *Queue) OnIdle(fn func()) { q.idle = fn }
