package box_test

import (
	"context"
	"io"
	"slices"
	"testing"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// TestHistory (R-X5): what participants do in a box — views, downloads,
// uploads, comments, recipients added, deletions — is in its history, newest
// first, with who did it, for every participant to read.
func TestHistory(t *testing.T) {
	t.Parallel()
	type want struct {
		who    member.ID
		action string
		target string
	}
	tests := []struct {
		name string
		do   func(ctx context.Context, t *testing.T, f *fixture) want
	}{
		{"box created", func(_ context.Context, _ *testing.T, f *fixture) want {
			return want{f.sender.ID, "box.create", string(f.box)}
		}},
		{"recipient views", func(ctx context.Context, t *testing.T, f *fixture) want {
			if _, err := f.Boxes.View(ctx, f.colleague.ID, f.box, ""); err != nil {
				t.Fatal(err)
			}
			return want{f.colleague.ID, "box.view", string(f.box)}
		}},
		{"recipient downloads a file", func(ctx context.Context, t *testing.T, f *fixture) want {
			file := f.send(t, f.sender.ID, f.box, "a.jpg", jpeg(30, 1000))
			if err := f.Boxes.RecordDownload(ctx, f.colleague.ID, *file, "file.download", ""); err != nil {
				t.Fatal(err)
			}
			return want{f.colleague.ID, "file.download", string(file.ID)}
		}},
		{"recipient downloads the box as one archive", func(ctx context.Context, t *testing.T, f *fixture) want {
			f.send(t, f.sender.ID, f.box, "a.jpg", jpeg(31, 1000))
			if err := f.Boxes.WriteZip(ctx, f.colleague.ID, f.box, io.Discard, ""); err != nil {
				t.Fatal(err)
			}
			return want{f.colleague.ID, "box.download_zip", string(f.box)}
		}},
		{"recipient comments", func(ctx context.Context, t *testing.T, f *fixture) want {
			c, err := f.Boxes.AddComment(ctx, f.colleague.ID, f.box, "拝見しました", "")
			if err != nil {
				t.Fatal(err)
			}
			return want{f.colleague.ID, "box.comment", c.ID}
		}},
		{"sender adds a recipient", func(ctx context.Context, t *testing.T, f *fixture) want {
			if err := f.Boxes.AddRecipients(ctx, f.sender.ID, f.box, []member.ID{f.outsider().ID}, ""); err != nil {
				t.Fatal(err)
			}
			return want{f.sender.ID, "box.add_recipients", string(f.box)}
		}},
		{"sender uploads a file", func(_ context.Context, t *testing.T, f *fixture) want {
			file := f.send(t, f.sender.ID, f.box, "a.jpg", jpeg(32, 1000))
			return want{f.sender.ID, "file.upload", string(file.ID)}
		}},
		{"sender deletes a file", func(ctx context.Context, t *testing.T, f *fixture) want {
			file := f.send(t, f.sender.ID, f.box, "a.jpg", jpeg(33, 1000))
			if err := f.Boxes.DeleteFile(ctx, f.sender.ID, file.ID, ""); err != nil {
				t.Fatal(err)
			}
			return want{f.sender.ID, "file.delete", string(file.ID)}
		}},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				wt := tt.do(ctx, t, f)
				names := map[member.ID]string{f.sender.ID: f.sender.Name, f.colleague.ID: f.colleague.Name}
				for _, reader := range []member.ID{f.sender.ID, f.colleague.ID} {
					h, err := f.Boxes.History(ctx, reader, f.box)
					if err != nil {
						t.Fatalf("History() error: %v", err)
					}
					if len(h) == 0 {
						t.Fatal("History() is empty")
					}
					if got := h[0]; got.Who != wt.who || got.Name != names[wt.who] || got.Action != wt.action || got.Target != wt.target {
						t.Errorf("newest entry read by %s = %s by %s (%q) on %s; want %s by %s (%q) on %s",
							reader, got.Action, got.Who, got.Name, got.Target, wt.action, wt.who, names[wt.who], wt.target)
					}
					if last := h[len(h)-1]; last.Action != "box.create" {
						t.Errorf("oldest entry = %s, want box.create", last.Action)
					}
				}
			})
		}
		t.Run("withdrawn participant", func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			f := newFixture(t, w)
			if _, err := f.Boxes.View(ctx, f.colleague.ID, f.box, ""); err != nil {
				t.Fatal(err)
			}
			if err := f.Members.Withdraw(ctx, f.colleague.ID, featuretest.Password, ""); err != nil {
				t.Fatal(err)
			}
			h, err := f.Boxes.History(ctx, f.sender.ID, f.box)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(h, func(a box.Access) bool { return a.Action == "box.view" })
			if i < 0 || h[i].Who != f.colleague.ID || h[i].Name != "" {
				t.Errorf("history = %+v; want the view by the withdrawn %s, without a name", h, f.colleague.ID)
			}
		})
	})
}
