// Package clocktest gives every test the same kind of clock: one that a test moves
// by hand, starting on today's date (so a test sees the calendar as users will)
// at a fixed time of day (so no test depends on the hour it runs).
//
// MEDBOX_TEST_CLOCK_SHIFT (a Go duration such as "8760h") moves the start: `.ci/run`
// starts every test clock a year ahead, so a test that mixes its moved clock with
// the wall clock fails on the day it is written, not on a day after.
package clocktest

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// ShiftVar names the environment variable that moves every test clock's start.
const ShiftVar = "MEDBOX_TEST_CLOCK_SHIFT"

// ProcessVar names the variable through which a test hands its clock to a medbox
// process it starts: the time, RFC 3339 with nanoseconds, at which the process
// starts. Only binaries built with the medbox_testclock tag read it.
const ProcessVar = "MEDBOX_TEST_CLOCK"

// Start returns where a test clock begins: today (moved by MEDBOX_TEST_CLOCK_SHIFT)
// at 09:00 UTC, which is 18:00 in Japan.
func Start() time.Time {
	now := time.Now().UTC().Add(Shift())
	return now.Truncate(24 * time.Hour).Add(9 * time.Hour)
}

// Shift returns the duration MEDBOX_TEST_CLOCK_SHIFT asks for, or zero. A value
// that does not parse stops the test binary: a check that silently ran unshifted
// would prove nothing.
func Shift() time.Duration {
	v := os.Getenv(ShiftVar)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		panic(fmt.Sprintf("%s=%q: %v", ShiftVar, v, err))
	}
	return d
}

// Clock is a time that only moves when told. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock at Start().
func New() *Clock { return &Clock{t: Start()} }

// At returns a clock at t.
func At(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Environ returns the ProcessVar entry that hands c's present time to a child
// process, for exec.Cmd.Env.
func (c *Clock) Environ() string {
	return ProcessVar + "=" + c.Now().Format(time.RFC3339Nano)
}
