//go:build medbox_testclock

package main

import (
	"fmt"
	"os"
	"time"

	"github.com/medbox-jp/medbox/internal/clocktest"
)

// processClock, in a binary built for tests, starts the clock where the test's
// moved clock stood when it started this process (MEDBOX_TEST_CLOCK) and lets it
// run at the wall clock's pace from there, so the process, the test's in-process
// instances and the commands it runs agree on the date. Without the variable (the
// guarded DICOM worker, which gets an empty environment) it is the wall clock.
func processClock(getenv func(string) string) func() time.Time {
	v := getenv(clocktest.ProcessVar)
	if v == "" {
		return time.Now
	}
	start, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "medbox: %s=%q: %v\n", clocktest.ProcessVar, v, err)
		os.Exit(2)
	}
	base := time.Now()
	return func() time.Time { return start.Add(time.Since(base)) }
}
