package job

import "context"

// SchedulePeriodic enqueues the current slot of every periodic task without running
// anything, so that a test can watch who claims it.
func (q *Queue) SchedulePeriodic(ctx context.Context) error { return q.schedulePeriodic(ctx) }
