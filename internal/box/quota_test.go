package box_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// reservation is size bytes for one file in the fixture's box number box (0 is
// its own box, higher numbers other boxes of the same sender; -1 a box that
// does not exist).
type reservation struct {
	box  int
	size int64
}

func times(n int, r reservation) []reservation {
	out := make([]reservation, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// TestReserve (R-S2): with the default limits, a send holds at most 20 files and
// 1 GB, and a member's live and reserved bytes stay within 2 GB. A refused
// reservation moves neither the box's counters nor the member's usage.
func TestReserve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		earlier []reservation
		next    reservation
		wantErr error
	}{
		{"a file within every limit", nil, reservation{0, 1000}, nil},
		{"the 20th file", times(19, reservation{0, 1000}), reservation{0, 1000}, nil},
		{"the 21st file", times(20, reservation{0, 1000}), reservation{0, 1000}, box.ErrTooManyFiles},
		{"a 21st file in another box", times(20, reservation{0, 1000}), reservation{1, 1000}, nil},
		{"exactly 1 GB", nil, reservation{0, 1_000_000_000}, nil},
		{"1 GB + 1 byte", nil, reservation{0, 1_000_000_001}, box.ErrTooLarge},
		{"over 1 GB in two files", []reservation{{0, 600_000_000}}, reservation{0, 400_000_001}, box.ErrTooLarge},
		{"exactly the quota", []reservation{{0, 1_000_000_000}}, reservation{1, 1_000_000_000}, nil},
		{"over the quota across boxes", []reservation{{0, 1_000_000_000}, {1, 1_000_000_000}}, reservation{2, 1}, box.ErrQuota},
		{"a box that does not exist", nil, reservation{-1, 1}, box.ErrNotFound},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				boxes := []box.ID{f.box, f.newBox(t, f.colleague.ID), f.newBox(t, f.colleague.ID)}
				reserve := func(r reservation) error {
					id := box.ID("zzzzzzzzzzzzzzzzzzzzzzzzzz")
					if r.box >= 0 {
						id = boxes[r.box]
					}
					return f.DB.Tx(ctx, func(tx *sqldb.Tx) error { return f.Boxes.ReserveTx(ctx, tx, f.sender.ID, id, r.size) })
				}
				var used int64
				inBox := map[int]struct {
					files int
					bytes int64
				}{}
				for _, r := range tt.earlier {
					if err := reserve(r); err != nil {
						t.Fatalf("earlier reservation of %d bytes in box %d: %v", r.size, r.box, err)
					}
					used += r.size
					c := inBox[r.box]
					c.files++
					c.bytes += r.size
					inBox[r.box] = c
				}
				if err := reserve(tt.next); !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReserveTx(%d bytes) error = %v, want %v", tt.next.size, err, tt.wantErr)
				}
				if tt.wantErr == nil {
					used += tt.next.size
					c := inBox[tt.next.box]
					c.files++
					c.bytes += tt.next.size
					inBox[tt.next.box] = c
				}
				if got := f.usage(t, f.sender.ID); got != used {
					t.Errorf("usage = %d, want %d", got, used)
				}
				for i, id := range boxes {
					b, err := f.Boxes.Get(ctx, f.sender.ID, id)
					if err != nil {
						t.Fatal(err)
					}
					if want := inBox[i]; b.FileCount != want.files || b.Bytes != want.bytes {
						t.Errorf("box %d holds %d files, %d bytes; want %d, %d", i, b.FileCount, b.Bytes, want.files, want.bytes)
					}
				}
			})
		}
	})
}

// TestRelease: what an aborted, refused or deleted file reserved comes back to
// the box and to the quota — the quota even when the box is gone already.
func TestRelease(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		releaseIn func(f *fixture) box.ID
	}{
		{"into its box", func(f *fixture) box.ID { return f.box }},
		{"after its box is gone", func(*fixture) box.ID { return "zzzzzzzzzzzzzzzzzzzzzzzzzz" }},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				for _, size := range []int64{700, 300} {
					if err := f.DB.Tx(ctx, func(tx *sqldb.Tx) error { return f.Boxes.ReserveTx(ctx, tx, f.sender.ID, f.box, size) }); err != nil {
						t.Fatal(err)
					}
				}
				if err := f.DB.Tx(ctx, func(tx *sqldb.Tx) error { return f.Boxes.ReleaseTx(ctx, tx, f.sender.ID, tt.releaseIn(f), 700) }); err != nil {
					t.Fatalf("ReleaseTx() error: %v", err)
				}
				if got := f.usage(t, f.sender.ID); got != 300 {
					t.Errorf("usage = %d, want 300", got)
				}
				b, err := f.Boxes.Get(ctx, f.sender.ID, f.box)
				if err != nil {
					t.Fatal(err)
				}
				wantFiles, wantBytes := 1, int64(300)
				if tt.releaseIn(f) != f.box {
					wantFiles, wantBytes = 2, 1000
				}
				if b.FileCount != wantFiles || b.Bytes != wantBytes {
					t.Errorf("box holds %d files, %d bytes; want %d, %d", b.FileCount, b.Bytes, wantFiles, wantBytes)
				}
			})
		}
	})
}

// TestReserveGoesWithItsTransaction: a reservation is made in the caller's
// transaction, so when that transaction fails — the upload row could not be
// written, say — nothing was reserved.
func TestReserveGoesWithItsTransaction(t *testing.T) {
	t.Parallel()
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		f := newFixture(t, w)
		failed := errors.New("the caller's next step failed")
		err := f.DB.Tx(ctx, func(tx *sqldb.Tx) error {
			if err := f.Boxes.ReserveTx(ctx, tx, f.sender.ID, f.box, 5000); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("Tx() error = %v, want %v", err, failed)
		}
		b, err := f.Boxes.Get(ctx, f.sender.ID, f.box)
		if err != nil {
			t.Fatal(err)
		}
		if used := f.usage(t, f.sender.ID); used != 0 || b.FileCount != 0 || b.Bytes != 0 {
			t.Errorf("after the failed transaction: usage %d, box %d files of %d bytes; want nothing", used, b.FileCount, b.Bytes)
		}
	})
}

// TestConcurrentUploadsNeverPassTheQuota (R-S2): 50 uploads started at once by one
// member near the limit, into several boxes; those that fit are accepted and
// the rest refused, and the stored usage is never above the quota and equals a
// recount.
func TestConcurrentUploadsNeverPassTheQuota(t *testing.T) {
	t.Parallel()
	env := map[string]string{"MEDBOX_QUOTA_BYTES": "1000000"}
	featuretest.Each(t, featuretest.Options{Env: env}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		f := newFixture(t, w)
		boxes := []box.ID{f.box, f.newBox(t, f.colleague.ID), f.newBox(t, f.colleague.ID), f.newBox(t, f.colleague.ID), f.newBox(t, f.colleague.ID)}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ok, refused int
		for i := range 50 {
			wg.Go(func() {
				_, err := f.Uploads.Create(ctx, f.sender.ID, boxes[i%len(boxes)], fmt.Sprintf("p%d.jpg", i), 30_000, "", "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, box.ErrQuota):
					refused++
				default:
					t.Errorf("upload %d: error %v", i, err)
				}
			})
		}
		wg.Wait()
		if ok != 33 || refused != 17 {
			t.Errorf("accepted %d, refused %d; want 33 and 17 (1,000,000 / 30,000)", ok, refused)
		}
		if used := f.usage(t, f.sender.ID); used != int64(ok)*30_000 {
			t.Errorf("usage = %d after %d accepted, want %d", used, ok, ok*30_000)
		}
		f.checkRecount(t)
	})
}

// TestRecount: the stored usage of a member equals what their files and uploads
// in progress add up to, whatever happened to them; and a recount notices when
// it does not.
func TestRecount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(t *testing.T, f *fixture) int64 // returns the sender's expected usage
	}{
		{"nothing sent", func(*testing.T, *fixture) int64 { return 0 }},
		{"an upload in progress", func(t *testing.T, f *fixture) int64 {
			if _, err := f.Uploads.Create(t.Context(), f.sender.ID, f.box, "a.jpg", 5000, "", ""); err != nil {
				t.Fatal(err)
			}
			return 5000
		}},
		{"a completed file", func(t *testing.T, f *fixture) int64 {
			return f.send(t, f.sender.ID, f.box, "a.jpg", jpeg(10, 4000)).Size
		}},
		{"a deleted file", func(t *testing.T, f *fixture) int64 {
			file := f.send(t, f.sender.ID, f.box, "a.jpg", jpeg(11, 4000))
			if err := f.Boxes.DeleteFile(t.Context(), f.sender.ID, file.ID, ""); err != nil {
				t.Fatal(err)
			}
			return 0
		}},
		{"an aborted upload", func(t *testing.T, f *fixture) int64 {
			u, err := f.Uploads.Create(t.Context(), f.sender.ID, f.box, "a.jpg", 5000, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Uploads.Abort(t.Context(), f.sender.ID, u.ID, ""); err != nil {
				t.Fatal(err)
			}
			return 0
		}},
		{"files and uploads in several boxes", func(t *testing.T, f *fixture) int64 {
			other := f.newBox(t, f.colleague.ID)
			a := f.send(t, f.sender.ID, f.box, "a.jpg", jpeg(12, 4000))
			b := f.send(t, f.sender.ID, other, "b.jpg", jpeg(13, 6000))
			f.send(t, f.colleague.ID, other, "reply.jpg", jpeg(14, 1000)) // the recipient's own usage
			if _, err := f.Uploads.Create(t.Context(), f.sender.ID, other, "c.jpg", 7000, "", ""); err != nil {
				t.Fatal(err)
			}
			return a.Size + b.Size + 7000
		}},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, w)
				want := tt.do(t, f)
				if got := f.usage(t, f.sender.ID); got != want {
					t.Errorf("usage = %d, want %d", got, want)
				}
				f.checkRecount(t)
			})
		}
		t.Run("a stored usage that is off", func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			f := newFixture(t, w)
			f.send(t, f.sender.ID, f.box, "a.jpg", jpeg(15, 4000))
			if _, err := f.DB.ExecContext(ctx, `UPDATE usage SET bytes = bytes + 1 WHERE member_id = $1`, f.sender.ID); err != nil {
				t.Fatal(err)
			}
			stored, counted, err := f.Boxes.Recount(ctx)
			if err != nil || stored[f.sender.ID] != 4001 || counted[f.sender.ID] != 4000 {
				t.Errorf("Recount() = stored %d, counted %d, error %v; want 4001, 4000", stored[f.sender.ID], counted[f.sender.ID], err)
			}
		})
	})
}
