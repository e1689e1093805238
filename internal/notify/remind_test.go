package notify_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestRemindersAndExpiryWarnings (R-N1, on the moved clock): what stays unread for
// 24 hours brings one reminder, and opening the box first cancels it; a box still
// unread 12 hours before it expires brings one warning. Boxes last 72 hours.
func TestRemindersAndExpiryWarnings(t *testing.T) {
	type step struct {
		at   time.Duration // after the box was shared
		do   func(f *fixture)
		want map[string][]string // every role's mail so far
	}
	shared := map[string][]string{"rcpt": {"shared"}, "other": {"shared"}}
	tests := []struct {
		name    string
		expires time.Duration // 0: the default, 72 hours
		steps   []step
	}{
		{"unread for a day: one reminder, once", 0, []step{
			{23 * time.Hour, nil, shared},
			{25 * time.Hour, nil, map[string][]string{"rcpt": {"shared", "reminder"}, "other": {"shared", "reminder"}}},
			{49 * time.Hour, nil, map[string][]string{"rcpt": {"shared", "reminder"}, "other": {"shared", "reminder"}}},
		}},
		{"opened within the day: no reminder", 0, []step{
			{time.Hour, func(f *fixture) { f.view(f.rcpt) }, shared},
			{25 * time.Hour, nil, map[string][]string{"rcpt": {"shared"}, "other": {"shared", "reminder"}}},
		}},
		{"opened, then a new file: reminded of the file", 0, []step{
			{time.Hour, func(f *fixture) { f.view(f.rcpt); f.view(f.other) }, shared},
			{2 * time.Hour, func(f *fixture) { f.file(f.sender, "a.txt") }, nil},
			{25 * time.Hour, func(f *fixture) { f.view(f.other) }, map[string][]string{"rcpt": {"shared", "file_added"}, "other": {"shared", "file_added"}}},
			{27 * time.Hour, nil, map[string][]string{"rcpt": {"shared", "file_added", "reminder"}, "other": {"shared", "file_added"}}},
		}},
		{"unread 12 hours before expiry: one warning", 0, []step{
			{time.Hour, func(f *fixture) { f.view(f.other) }, shared},
			{59 * time.Hour, nil, map[string][]string{"rcpt": {"shared", "reminder"}, "other": {"shared"}}},
			{61 * time.Hour, nil, map[string][]string{"rcpt": {"shared", "reminder", "expiring"}, "other": {"shared"}}},
			{71 * time.Hour, nil, map[string][]string{"rcpt": {"shared", "reminder", "expiring"}, "other": {"shared"}}},
		}},
		{"added later and never opened: reminded and warned", 0, []step{
			{time.Hour, func(f *fixture) {
				f.view(f.rcpt)
				f.view(f.other)
				if err := f.Boxes.AddRecipients(context.Background(), f.sender.ID, f.box, []member.ID{f.outsider.ID}, featuretest.Addr); err != nil {
					f.t.Fatal(err)
				}
			}, map[string][]string{"rcpt": {"shared"}, "other": {"shared"}, "outsider": {"shared"}}},
			{26 * time.Hour, nil, map[string][]string{"rcpt": {"shared"}, "other": {"shared"}, "outsider": {"shared", "reminder"}}},
			{61 * time.Hour, nil, map[string][]string{"rcpt": {"shared"}, "other": {"shared"}, "outsider": {"shared", "reminder", "expiring"}}},
		}},
		{"a box shorter than the warning's lead: neither", 6 * time.Hour, []step{
			{5 * time.Hour, nil, shared},
			{30 * time.Hour, nil, shared}, // gone at 6 hours: nothing to remind of
		}},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, w.For(t))
				f.share(tt.expires)
				f.afterWindow()
				for _, s := range tt.steps {
					f.at(s.at)
					if s.do != nil {
						s.do(f)
						f.afterWindow()
					}
					if s.want == nil {
						continue
					}
					for _, role := range roles {
						if got := f.news(f.who(role)); !slices.Equal(got, s.want[role]) {
							t.Errorf("at %v, %s's mail: got %q, want %q", s.at, role, got, s.want[role])
						}
					}
				}
			})
		}
	})
}
