package box_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/upload"
)

// expiring is a box with what a box holds: a file from each side, a comment and
// an upload in progress.
type expiring struct {
	id          box.ID
	scan, reply *box.File
}

func (f *fixture) fill(t *testing.T, id box.ID) expiring {
	t.Helper()
	e := expiring{
		id:    id,
		scan:  f.send(t, f.sender.ID, id, "scan.jpg", jpeg(20, 300_000)),
		reply: f.send(t, f.colleague.ID, id, "reply.jpg", jpeg(21, 2000)),
	}
	if _, err := f.Boxes.AddComment(t.Context(), f.colleague.ID, id, "拝見しました", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Uploads.Create(t.Context(), f.sender.ID, id, "half.jpg", 5000, "", ""); err != nil {
		t.Fatal(err)
	}
	return e
}

// checkGone fails t unless box e and everything in it are gone: rows, keys,
// stored objects, and its one audit entry of how it went.
func (f *fixture) checkGone(t *testing.T, e expiring, action string) {
	t.Helper()
	for _, who := range []member.ID{f.sender.ID, f.colleague.ID} {
		if _, err := f.Boxes.Get(t.Context(), who, e.id); !errors.Is(err, box.ErrNotFound) {
			t.Errorf("Get() by a participant after the box went: error %v, want %v", err, box.ErrNotFound)
		}
	}
	for _, table := range []string{"boxes WHERE id", "participants WHERE box_id", "files WHERE box_id", "comments WHERE box_id", "uploads WHERE box_id",
		"upload_chunks c JOIN uploads u ON u.id = c.upload_id WHERE u.box_id"} {
		if n := f.count(t, "SELECT count(*) FROM "+table+" = $1", e.id); n != 0 {
			t.Errorf("%d rows left in %s", n, table)
		}
	}
	f.checkErased(t, e.scan)
	f.checkErased(t, e.reply)
	events, err := f.Audit.List(t.Context(), audit.Filter{Box: string(e.id), Action: action})
	if err != nil || len(events) != 1 {
		t.Errorf("%d %s audit entries (error %v), want 1", len(events), action, err)
	}
}

// TestExpireDue (R-S4): a box whose time has come is deleted with everything in
// it — rows, keys, stored objects — once, and its bytes return to the quota of
// whoever sent them; a box whose time has not come stays as it was.
func TestExpireDue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		expiresIn time.Duration
		advance   time.Duration
		wantGone  bool
	}{
		{"an hour before", 72 * time.Hour, 71 * time.Hour, false},
		{"a millisecond before", 72 * time.Hour, 72*time.Hour - time.Millisecond, false},
		{"on the dot", 72 * time.Hour, 72 * time.Hour, true},
		{"long after", 72 * time.Hour, 30 * 24 * time.Hour, true},
		{"a one-hour box", time.Hour, time.Hour + time.Minute, true},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests { // in order: each moves the World's clock
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				f := newFixture(t, w)
				later := f.fill(t, f.newBox(t, f.colleague.ID)) // 72 hours, the default
				b, err := f.Boxes.Create(ctx, f.sender.ID, box.Draft{Recipients: []member.ID{f.colleague.ID}, ExpiresIn: tt.expiresIn}, "")
				if err != nil {
					t.Fatal(err)
				}
				due := f.fill(t, b.ID)
				f.Clock.Advance(tt.advance)
				// The periodic job expires what is due; a second run finds nothing to do.
				f.RunJobs()
				if err := f.Boxes.ExpireDue(ctx, f.Clock.Now()); err != nil {
					t.Fatalf("ExpireDue() error: %v", err)
				}
				laterGone := tt.advance >= 72*time.Hour
				wantUsage := map[member.ID]int64{f.sender.ID: 0, f.colleague.ID: 0}
				for _, c := range []struct {
					e    expiring
					gone bool
				}{{due, tt.wantGone}, {later, laterGone}} {
					if c.gone {
						f.checkGone(t, c.e, "box.expire")
						continue
					}
					wantUsage[f.sender.ID] += c.e.scan.Size
					wantUsage[f.colleague.ID] += c.e.reply.Size
					wantCount := 3
					if tt.advance >= upload.AbandonAfter {
						// The upload in progress, untouched since, was swept by the
						// jobs that ran with expiry.
						wantCount = 2
					} else {
						wantUsage[f.sender.ID] += 5000
					}
					got, err := f.Boxes.Get(ctx, f.colleague.ID, c.e.id)
					if err != nil {
						t.Fatalf("Get() before expiry: %v", err)
					}
					if len(got.Files) != 2 || len(got.Comments) != 1 || got.FileCount != wantCount {
						t.Errorf("Get() before expiry = %d files, %d comments, %d counted; want 2, 1, %d", len(got.Files), len(got.Comments), got.FileCount, wantCount)
					}
					if data, err := f.read(t, f.colleague.ID, c.e.scan.ID); err != nil || len(data) != int(c.e.scan.Size) {
						t.Errorf("read before expiry: %d bytes, error %v", len(data), err)
					}
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

// TestDeleteRacingExpiry: senders deleting files while expiry runs on three
// instances at once give each file's bytes back once, every box is deleted and
// recorded once, and nothing of any box is left: no row, no key, no object.
func TestDeleteRacingExpiry(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		f := newFixture(t, w)
		var files []*box.File
		var boxes []box.ID
		for i := range 12 {
			id := f.newBox(t, f.colleague.ID)
			boxes = append(boxes, id)
			files = append(files, f.send(t, f.sender.ID, id, fmt.Sprintf("f%d.jpg", i), jpeg(uint64(120+i), 3000)))
		}
		f.fill(t, f.box) // files from both sides, a comment, an upload in progress
		f.Clock.Advance(73 * time.Hour)
		var wg sync.WaitGroup
		for _, file := range files {
			wg.Go(func() {
				if err := f.Boxes.DeleteFile(ctx, f.sender.ID, file.ID, ""); err != nil && !errors.Is(err, box.ErrNotFound) {
					t.Errorf("DeleteFile() error: %v", err)
				}
			})
		}
		for range 3 {
			wg.Go(func() {
				if err := f.Boxes.ExpireDue(ctx, f.Clock.Now()); err != nil {
					t.Errorf("ExpireDue() error: %v", err)
				}
			})
		}
		wg.Wait()
		if err := f.Boxes.ExpireDue(ctx, f.Clock.Now()); err != nil {
			t.Fatalf("ExpireDue() after the race: %v", err)
		}
		if n := f.count(t, `SELECT count(*) FROM boxes WHERE sender_id = $1`, f.sender.ID); n != 0 {
			t.Errorf("%d boxes left after expiry", n)
		}
		for _, id := range append(boxes, f.box) {
			if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'box.expire' AND box_id = $1`, id); n != 1 {
				t.Errorf("box %s recorded as expired %d times, want once", id, n)
			}
		}
		for _, who := range []member.ID{f.sender.ID, f.colleague.ID} {
			if got := f.usage(t, who); got != 0 {
				t.Errorf("usage of %s = %d after every box expired, want 0", who, got)
			}
		}
		f.checkRecount(t)
		// Every box of the World has expired: nothing of any is left.
		f.RunJobs()
		for _, table := range []string{"boxes", "participants", "files", "comments", "uploads", "upload_chunks"} {
			if n := f.count(t, "SELECT count(*) FROM "+table); n != 0 {
				t.Errorf("%d rows left in %s after expiry", n, table)
			}
		}
		if n := f.count(t, `SELECT count(*) FROM seal_keys WHERE id NOT IN (SELECT proof_key FROM members WHERE proof_key IS NOT NULL)
			AND id NOT IN (SELECT key_id FROM audit_key)`); n != 0 {
			t.Errorf("%d keys left after expiry besides the members' licence proofs and the audit key", n)
		}
		for _, key := range f.objects(t, "") {
			if !strings.HasPrefix(key, "proofs/") && !strings.HasPrefix(key, "audit/checkpoints/") {
				t.Errorf("object %s left after expiry", key)
			}
		}
	})
}

// TestWithdrawal (R-M7): a member who withdraws takes the boxes they sent with
// everything in them, and the files they sent into other boxes; what they
// reserved or sent comes back to everyone's quota.
func TestWithdrawal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		leaver  func(*fixture) *member.Member
		boxGone bool
	}{
		{"sender", func(f *fixture) *member.Member { return f.sender }, true},
		{"recipient", func(f *fixture) *member.Member { return f.colleague }, false},
		{"outsider", (*fixture).outsider, false},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				e := f.fill(t, f.box)
				if _, err := f.Uploads.Create(ctx, f.colleague.ID, f.box, "later.jpg", 7000, "", ""); err != nil {
					t.Fatal(err)
				}
				leaver := tt.leaver(f)
				if err := f.Members.Withdraw(ctx, leaver.ID, featuretest.Password, ""); err != nil {
					t.Fatalf("Withdraw() error: %v", err)
				}
				if tt.boxGone {
					f.checkGone(t, e, "box.delete_on_withdrawal")
					if got := f.usage(t, f.colleague.ID); got != 0 {
						t.Errorf("usage of the recipient = %d, want 0", got)
					}
					f.checkRecount(t)
					return
				}
				b, err := f.Boxes.Get(ctx, f.sender.ID, f.box)
				if err != nil {
					t.Fatalf("Get() after the %s withdrew: %v", tt.name, err)
				}
				wantFiles, wantComments, wantPeople := 2, 1, 2
				wantCount, wantBytes := 4, e.scan.Size+e.reply.Size+5000+7000
				if leaver == f.colleague {
					wantFiles, wantComments, wantPeople = 1, 0, 1
					wantCount, wantBytes = 2, e.scan.Size+5000
					f.checkErased(t, e.reply)
				}
				if len(b.Files) != wantFiles || len(b.Comments) != wantComments || len(b.Participants) != wantPeople ||
					b.FileCount != wantCount || b.Bytes != wantBytes {
					t.Errorf("box after the %s withdrew: %d files, %d comments, %d participants, counted %d files of %d bytes; want %d, %d, %d, %d, %d",
						tt.name, len(b.Files), len(b.Comments), len(b.Participants), b.FileCount, b.Bytes, wantFiles, wantComments, wantPeople, wantCount, wantBytes)
				}
				if got := f.usage(t, f.sender.ID); got != e.scan.Size+5000 {
					t.Errorf("usage of the sender = %d, want %d", got, e.scan.Size+5000)
				}
				if data, err := f.read(t, f.sender.ID, e.scan.ID); err != nil || len(data) != int(e.scan.Size) {
					t.Errorf("the sender reads %d bytes of their file (error %v), want %d", len(data), err, e.scan.Size)
				}
				f.checkRecount(t)
			})
		}
	})
}
