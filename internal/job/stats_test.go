package job_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

func TestStatsReportDepthAndAge(t *testing.T) {
	t.Parallel()
	sqltest.Each(t, func(t *testing.T, db *sqldb.DB) {
		now := start
		c := newClock(now)
		q := newQueue(db, "a", c) // handles none of these kinds, so they stay queued
		enqueue(t, db, c.Now(), "test.x", notice{})
		enqueue(t, db, c.Now(), "test.x", notice{})
		enqueue(t, db, c.Now(), "test.y", notice{}, job.At(now.Add(2*time.Minute)))
		enqueue(t, db, c.Now(), "test.z", notice{}, job.At(now.Add(time.Hour)))

		st, err := q.Stats(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]int{"test.x": 2}, st.Due); diff != "" {
			t.Errorf("Due at once (-want +got):\n%s", diff)
		}
		if st.OldestDue < 0 || st.OldestDue > 2*time.Second {
			t.Errorf("OldestDue of fresh jobs = %v, want about 0", st.OldestDue)
		}

		c.Advance(5 * time.Minute)
		st, err = q.Stats(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]int{"test.x": 2, "test.y": 1}, st.Due); diff != "" {
			t.Errorf("Due after 5 min (-want +got):\n%s", diff)
		}
		if st.OldestDue < 4*time.Minute || st.OldestDue > 5*time.Minute {
			t.Errorf("OldestDue after 5 min = %v, want about 5m", st.OldestDue)
		}
		if st.Dead != 0 {
			t.Errorf("Dead = %d, want 0", st.Dead)
		}
	})
}
