package featuretest

import (
	"sync"
	"testing"

	"github.com/medbox-jp/medbox/internal/server"
)

// adminMu serialises the creation of a World's administrator by For.
var adminMu sync.Mutex

// For returns a view of w that reports to t, for a subtest — parallel ones too —
// that works in the World its parent made: the same instance, clock and
// administrator, with failures going to the subtest that had them. A table test
// thus gives each case a fresh fixture (its own members and boxes) without the
// cost of a fresh database per case.
func (w *World) For(t testing.TB) *World {
	t.Helper()
	adminMu.Lock()
	defer adminMu.Unlock()
	if w.admin == nil {
		c := *w
		c.T = t
		w.admin = c.Admin()
	}
	c := *w
	c.T = t
	return &c
}

// jobsLocks are the locks by which the views of a World take turns in RunJobs.
var jobsLocks sync.Map // *server.Instance → *sync.Mutex

func jobsLock(in *server.Instance) *sync.Mutex {
	mu, _ := jobsLocks.LoadOrStore(in, new(sync.Mutex))
	return mu.(*sync.Mutex)
}
