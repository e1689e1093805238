package main

import (
	"time"
)

// Which event mails whom, per-member triggers, the burst window, reminders,
// expiry warnings and that no mail carries anything identifying are internal/notify's
// own tests. Here: helpers of the end-to-end tests that follow mail through a
// running instance (notify_smtp_test.go, cluster_test.go, scaleout_test.go,
// monitor_test.go).

// afterWindow lets pending events become notices, moves the clock past the
// notification window, and delivers the mail that gathers them.
func (in *instance) afterWindow() {
	in.deliver()
	in.clock.Advance(61 * time.Second)
	in.deliver()
}

func subjects(ms []sentMail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}
