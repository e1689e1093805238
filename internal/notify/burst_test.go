package notify_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/job"
)

// TestBurstBecomesOneMail (R-N1): what happens for a member within one window
// becomes one mail — the kind's own mail when it is one kind in one box, else a
// digest with a line per box and kind. News a window apart is a mail each.
func TestBurstBecomesOneMail(t *testing.T) {
	tests := []struct {
		name      string
		burst     func(f *fixture) (boxes []box.ID)
		want      []string // kinds of the recipient's mails after the shared one
		wantLines []string // i18n ids of the digest's lines
	}{
		{"twelve files in one box", func(f *fixture) []box.ID {
			for i := range 12 {
				f.file(f.sender, fmt.Sprintf("slice%02d.txt", i))
			}
			return []box.ID{f.box}
		}, []string{"file_added"}, nil},
		{"files and comments in one box: one mail, of the first news", func(f *fixture) []box.ID {
			f.file(f.sender, "a.txt")
			f.comment(f.sender, "一枚目")
			f.file(f.sender, "b.txt")
			f.comment(f.other, "二枚目")
			return []box.ID{f.box}
		}, []string{"file_added"}, nil},
		{"news in two boxes: a digest counting the boxes", func(f *fixture) []box.ID {
			second := f.Box(f.other.ID, f.rcpt.ID)
			f.AddFile(f.other.ID, second.ID, "b.txt", []byte("経過表\n"))
			f.comment(f.sender, "至急")
			return []box.ID{f.box, second.ID}
		}, []string{"digest"}, []string{"notice.line.comment", "notice.line.shared"}},
		{"news a window apart, opened in between: two mails", func(f *fixture) []box.ID {
			f.file(f.sender, "a.txt")
			f.afterWindow()
			f.view(f.rcpt)
			f.file(f.sender, "b.txt")
			return []box.ID{f.box}
		}, []string{"file_added", "file_added"}, nil},
		{"news a window apart, not opened: one mail", func(f *fixture) []box.ID {
			f.file(f.sender, "a.txt")
			f.afterWindow()
			f.file(f.sender, "b.txt")
			return []box.ID{f.box}
		}, []string{"file_added"}, nil},
	}
	featuretest.Each(t, featuretest.Options{Env: map[string]string{"MEDBOX_MAX_FILES": "50"}}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, w.For(t))
				f.share(0)
				f.afterWindow()
				f.view(f.rcpt) // what follows is news again
				boxes := tt.burst(f)
				f.afterWindow()
				mails := f.notices(f.rcpt)[1:]
				var got []string
				for _, m := range mails {
					got = append(got, kindOf(m))
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("mails after the burst: got %q, want %q", got, tt.want)
				}
				last := mails[len(mails)-1]
				for _, b := range boxes {
					if !strings.Contains(last.Text, f.boxLink(b)) {
						t.Errorf("mail has no link to box %s:\n%s", b, last.Text)
					}
				}
				for _, id := range tt.wantLines {
					if line := i18n.T(i18n.Ja, id); !strings.Contains(last.Text, "・"+line) {
						t.Errorf("digest lacks the line %q:\n%s", line, last.Text)
					}
				}
			})
		}
	})
}

// TestEachNoticeIsMailedOnce: however often the mail of a window is gathered —
// again in a later window, or by a second job for the same member — a notice
// goes out in one mail only.
func TestEachNoticeIsMailedOnce(t *testing.T) {
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		f := newFixture(t, w)
		f.share(0)
		f.comment(f.sender, "ご確認ください")
		f.RunJobs()
		// A second gathering for the same member, as a retried or duplicated job would be.
		for range 2 {
			if err := job.Enqueue(context.Background(), f.DB, f.Clock.Now(), "notify.flush", map[string]any{"member": f.rcpt.ID}); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			f.afterWindow()
		}
		if got := f.news(f.rcpt); !slices.Equal(got, []string{"shared"}) {
			t.Errorf("the recipient's mail: got %q, want one mail of the arrival", got)
		}
		var unsent int
		if err := f.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM notices WHERE mailed_at IS NULL`).Scan(&unsent); err != nil {
			t.Fatal(err)
		}
		if unsent != 0 {
			t.Errorf("%d notices never mailed", unsent)
		}
	})
}
