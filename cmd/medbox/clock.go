//go:build !medbox_testclock

package main

import "time"

// processClock returns the clock of a medbox process: the wall clock. A binary
// built for tests (tag medbox_testclock, clock_testclock.go) reads its start from
// the test that runs it instead.
func processClock(func(string) string) func() time.Time { return time.Now }
