package box_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
)

// boxOps are every operation on a box or on a file in it, for checking that
// someone outside the box gets exactly the answer a made-up id gets.
var boxOps = []struct {
	name string
	call func(ctx context.Context, f *fixture, actor member.ID, id box.ID, file box.FileID) error
}{
	{"Get", func(ctx context.Context, f *fixture, actor member.ID, id box.ID, _ box.FileID) error {
		_, err := f.Boxes.Get(ctx, actor, id)
		return err
	}},
	{"View", func(ctx context.Context, f *fixture, actor member.ID, id box.ID, _ box.FileID) error {
		_, err := f.Boxes.View(ctx, actor, id, "192.0.2.7")
		return err
	}},
	{"History", func(ctx context.Context, f *fixture, actor member.ID, id box.ID, _ box.FileID) error {
		_, err := f.Boxes.History(ctx, actor, id)
		return err
	}},
	{"AddComment", func(ctx context.Context, f *fixture, actor member.ID, id box.ID, _ box.FileID) error {
		_, err := f.Boxes.AddComment(ctx, actor, id, "見えますか", "192.0.2.7")
		return err
	}},
	{"AddComment empty", func(ctx context.Context, f *fixture, actor member.ID, id box.ID, _ box.FileID) error {
		_, err := f.Boxes.AddComment(ctx, actor, id, "", "192.0.2.7")
		return err
	}},
	{"AddRecipients", func(ctx context.Context, f *fixture, actor member.ID, id box.ID, _ box.FileID) error {
		return f.Boxes.AddRecipients(ctx, actor, id, []member.ID{f.outsider().ID}, "192.0.2.7")
	}},
	{"WriteZip", func(ctx context.Context, f *fixture, actor member.ID, id box.ID, _ box.FileID) error {
		return f.Boxes.WriteZip(ctx, actor, id, io.Discard, "192.0.2.7")
	}},
	{"Participates", func(ctx context.Context, f *fixture, actor member.ID, id box.ID, _ box.FileID) error {
		return box.Participates(ctx, f.DB, actor, id)
	}},
	{"File", func(ctx context.Context, f *fixture, actor member.ID, _ box.ID, file box.FileID) error {
		_, err := f.Boxes.File(ctx, actor, file)
		return err
	}},
	{"OpenContent", func(ctx context.Context, f *fixture, actor member.ID, _ box.ID, file box.FileID) error {
		c, err := f.Boxes.OpenContent(ctx, actor, file)
		if err == nil {
			c.Close()
		}
		return err
	}},
	{"DeleteFile", func(ctx context.Context, f *fixture, actor member.ID, _ box.ID, file box.FileID) error {
		return f.Boxes.DeleteFile(ctx, actor, file, "192.0.2.7")
	}},
}

// TestOutsidersLearnNothing (R-S1): to anyone who is not a participant — another
// member, an administrator, a member awaiting review, a recipient who has
// withdrawn — every operation on a real box or file answers exactly as for an id
// that does not exist, and changes nothing.
func TestOutsidersLearnNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		actor func(t *testing.T, f *fixture) member.ID
	}{
		{"another member", func(_ *testing.T, f *fixture) member.ID { return f.outsider().ID }},
		{"administrator", func(_ *testing.T, f *fixture) member.ID { return f.Admin().ID }},
		{"member awaiting review", func(_ *testing.T, f *fixture) member.ID { return f.Registered(featuretest.NewMember{}).ID }},
		{"withdrawn recipient", func(t *testing.T, f *fixture) member.ID {
			leaver := f.Member(featuretest.NewMember{})
			if err := f.Boxes.AddRecipients(t.Context(), f.sender.ID, f.box, []member.ID{leaver.ID}, ""); err != nil {
				t.Fatal(err)
			}
			if err := f.Members.Withdraw(t.Context(), leaver.ID, featuretest.Password, ""); err != nil {
				t.Fatalf("withdraw: %v", err)
			}
			return leaver.ID
		}},
		{"no one", func(*testing.T, *fixture) member.ID { return "" }},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				file := f.send(t, f.sender.ID, f.box, "a.jpg", jpeg(1, 1000))
				if _, err := f.Boxes.AddComment(ctx, f.colleague.ID, f.box, "拝見しました", ""); err != nil {
					t.Fatal(err)
				}
				actor := tt.actor(t, f)
				before, err := f.Boxes.Get(ctx, f.sender.ID, f.box)
				if err != nil {
					t.Fatal(err)
				}
				for _, op := range boxOps {
					errReal := op.call(ctx, f, actor, f.box, file.ID)
					errMadeUp := op.call(ctx, f, actor, "zzzzzzzzzzzzzzzzzzzzzzzzzz", "yyyyyyyyyyyyyyyyyyyyyyyyyy")
					if !errors.Is(errReal, box.ErrNotFound) || errReal.Error() != errMadeUp.Error() {
						t.Errorf("%s on the real box = %v; on a made-up id = %v; want both %v", op.name, errReal, errMadeUp, box.ErrNotFound)
					}
				}
				inbox, sent, err := f.Boxes.List(ctx, actor)
				if err != nil || len(inbox)+len(sent) != 0 {
					t.Errorf("List() = %d in the inbox, %d sent, error %v; want none", len(inbox), len(sent), err)
				}
				after, err := f.Boxes.Get(ctx, f.sender.ID, f.box)
				if err != nil {
					t.Fatal(err)
				}
				if len(after.Files) != len(before.Files) || len(after.Comments) != len(before.Comments) || len(after.Participants) != len(before.Participants) {
					t.Errorf("after the attempts: %d files, %d comments, %d participants; want %d, %d, %d",
						len(after.Files), len(after.Comments), len(after.Participants), len(before.Files), len(before.Comments), len(before.Participants))
				}
				if got, err := f.read(t, f.colleague.ID, file.ID); err != nil || len(got) != 1000 {
					t.Errorf("the recipient reads %d bytes (error %v) after the attempts; want 1000", len(got), err)
				}
			})
		}
	})
}

// TestParticipantsSeeEverything (R-S3): the sender, a recipient and a recipient
// added later all see every file and comment of the box, and read the files,
// with nothing uploaded again.
func TestParticipantsSeeEverything(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		viewer   func(t *testing.T, f *fixture) member.ID
		wantRole string
	}{
		{"sender", func(_ *testing.T, f *fixture) member.ID { return f.sender.ID }, "sender"},
		{"recipient", func(_ *testing.T, f *fixture) member.ID { return f.colleague.ID }, "recipient"},
		{"recipient added later", func(t *testing.T, f *fixture) member.ID {
			if err := f.Boxes.AddRecipients(t.Context(), f.sender.ID, f.box, []member.ID{f.outsider().ID}, ""); err != nil {
				t.Fatalf("AddRecipients() error: %v", err)
			}
			return f.outsider().ID
		}, "recipient"},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				scan := jpeg(2, 600_000)
				reply := jpeg(3, 1000)
				f.send(t, f.sender.ID, f.box, "scan.jpg", scan)
				f.send(t, f.colleague.ID, f.box, "reply.jpg", reply) // recipients may answer with files
				if _, err := f.Boxes.AddComment(ctx, f.colleague.ID, f.box, "拝見しました", ""); err != nil {
					t.Fatal(err)
				}
				viewer := tt.viewer(t, f)
				b, err := f.Boxes.Get(ctx, viewer, f.box)
				if err != nil {
					t.Fatalf("Get() error: %v", err)
				}
				if b.Role != tt.wantRole || len(b.Files) != 2 || len(b.Comments) != 1 {
					t.Fatalf("Get() = role %q, %d files, %d comments; want %q, 2, 1", b.Role, len(b.Files), len(b.Comments), tt.wantRole)
				}
				want := map[string][]byte{"scan.jpg": scan, "reply.jpg": reply}
				for _, file := range b.Files {
					got, err := f.read(t, viewer, file.ID)
					if err != nil || !bytes.Equal(got, want[file.Name]) {
						t.Errorf("read %s: %d bytes, error %v; want the %d sent", file.Name, len(got), err, len(want[file.Name]))
					}
				}
				inbox, sent, err := f.Boxes.List(ctx, viewer)
				if err != nil {
					t.Fatal(err)
				}
				list := inbox
				if tt.wantRole == "sender" {
					list = sent
				}
				if !slices.ContainsFunc(list, func(s box.Summary) bool { return s.ID == f.box && s.Files == 2 }) {
					t.Errorf("List() for the %s = inbox %+v, sent %+v; want the box with 2 files", tt.name, inbox, sent)
				}
			})
		}
	})
}

// TestOnlyTheSender (R-S3, R-S5): only the sender of a box adds recipients, and
// only whoever sent a file deletes it; a participant who may not is told so
// (ErrNotSender), and nothing changes.
func TestOnlyTheSender(t *testing.T) {
	t.Parallel()
	type files struct{ scan, reply *box.File }
	tests := []struct {
		name    string
		do      func(ctx context.Context, f *fixture, fs files) error
		wantErr error
		// gone is the file the action removes, if it succeeds.
		gone func(fs files) *box.File
	}{
		{"sender adds a colleague", func(ctx context.Context, f *fixture, _ files) error {
			return f.Boxes.AddRecipients(ctx, f.sender.ID, f.box, []member.ID{f.outsider().ID}, "")
		}, nil, nil},
		{"recipient may not add", func(ctx context.Context, f *fixture, _ files) error {
			return f.Boxes.AddRecipients(ctx, f.colleague.ID, f.box, []member.ID{f.outsider().ID}, "")
		}, box.ErrNotSender, nil},
		{"sender deletes their file", func(ctx context.Context, f *fixture, fs files) error {
			return f.Boxes.DeleteFile(ctx, f.sender.ID, fs.scan.ID, "")
		}, nil, func(fs files) *box.File { return fs.scan }},
		{"recipient may not delete the sender's file", func(ctx context.Context, f *fixture, fs files) error {
			return f.Boxes.DeleteFile(ctx, f.colleague.ID, fs.scan.ID, "")
		}, box.ErrNotSender, nil},
		{"recipient deletes their reply", func(ctx context.Context, f *fixture, fs files) error {
			return f.Boxes.DeleteFile(ctx, f.colleague.ID, fs.reply.ID, "")
		}, nil, func(fs files) *box.File { return fs.reply }},
		{"sender may not delete a recipient's reply", func(ctx context.Context, f *fixture, fs files) error {
			return f.Boxes.DeleteFile(ctx, f.sender.ID, fs.reply.ID, "")
		}, box.ErrNotSender, nil},
		{"outsider learns nothing", func(ctx context.Context, f *fixture, fs files) error {
			return f.Boxes.DeleteFile(ctx, f.outsider().ID, fs.scan.ID, "")
		}, box.ErrNotFound, nil},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				fs := files{
					scan:  f.send(t, f.sender.ID, f.box, "scan.jpg", jpeg(4, 5000)),
					reply: f.send(t, f.colleague.ID, f.box, "reply.jpg", jpeg(5, 3000)),
				}
				before, err := f.Boxes.Get(ctx, f.sender.ID, f.box)
				if err != nil {
					t.Fatal(err)
				}
				if err := tt.do(ctx, f, fs); !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				after, err := f.Boxes.Get(ctx, f.sender.ID, f.box)
				if err != nil {
					t.Fatal(err)
				}
				wantFiles, wantPeople := len(before.Files), len(before.Participants)
				wantUsage := map[member.ID]int64{f.sender.ID: fs.scan.Size, f.colleague.ID: fs.reply.Size}
				switch {
				case tt.wantErr != nil:
				case tt.gone != nil:
					g := tt.gone(fs)
					wantFiles--
					wantUsage[g.Sender] = 0
					f.checkErased(t, g)
				default:
					wantPeople++
				}
				if len(after.Files) != wantFiles || len(after.Participants) != wantPeople {
					t.Errorf("afterwards: %d files, %d participants; want %d, %d", len(after.Files), len(after.Participants), wantFiles, wantPeople)
				}
				for who, want := range wantUsage {
					if got := f.usage(t, who); got != want {
						t.Errorf("usage of %s = %d, want %d", who, got, want)
					}
				}
				f.checkRecount(t)
			})
		}
	})
}
