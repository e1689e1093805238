package upload_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/filetype"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/upload"
)

// exe returns n bytes that every content check calls a Windows program.
func exe(n int) []byte {
	b := featuretest.JPEG(3, n)
	copy(b, []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"))
	const peOff = 0x80
	b[0x3c] = peOff
	copy(b[peOff:], []byte("PE\x00\x00\x4c\x01"))
	return b
}

// TestComplete (R-T1, R-S7): complete turns an upload whose every chunk has
// arrived into a file of its box, typed by its content. With chunks missing it
// says which; a refused type leaves nothing behind — no upload, no stored
// chunk, no key, no reservation.
func TestComplete(t *testing.T) {
	t.Parallel()
	script := append([]byte("#!/bin/sh\nrm -rf /\n"), bytes.Repeat([]byte("# padding\n"), 100)...)
	tests := []struct {
		name        string
		fileName    string
		data        []byte
		send        []int // chunks sent before complete; nil for all
		wantMissing []int
		wantRefusal string
	}{
		{name: "every chunk", fileName: "scan.jpg", data: featuretest.JPEG(1, size)},
		{name: "chunks missing", fileName: "scan.jpg", data: featuretest.JPEG(1, size), send: []int{1}, wantMissing: []int{0, 2}},
		{name: "no chunk", fileName: "scan.jpg", data: featuretest.JPEG(1, size), send: []int{}, wantMissing: []int{0, 1, 2}},
		{name: "a program named .jpg", fileName: "photo.jpg", data: exe(300_000), wantRefusal: filetype.CodeExecutable},
		{name: "a script named .jpg", fileName: "photo.jpg", data: script, wantRefusal: filetype.CodeScript},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				u := f.begin(t, f.sender.ID, f.otherBox(t), tt.fileName, tt.data)
				send := tt.send
				if send == nil {
					for n := range u.ChunkCount {
						send = append(send, n)
					}
				}
				for _, n := range send {
					f.putOf(t, u, tt.data, n)
				}
				usage := f.usage(t, f.sender.ID)
				file, err := f.Uploads.Complete(ctx, f.sender.ID, u.ID, "192.0.2.3")
				switch {
				case tt.wantMissing != nil:
					var me *upload.MissingError
					if !errors.As(err, &me) || !errors.Is(err, upload.ErrIncomplete) || !slices.Equal(me.Missing, tt.wantMissing) {
						t.Fatalf("Complete() error = %v, want chunks %v missing", err, tt.wantMissing)
					}
					if st, err := f.Uploads.Status(ctx, f.sender.ID, u.ID); err != nil || !slices.Equal(st.Received, send) {
						t.Errorf("Status() after an early complete = %v, %v; want %v received", st, err, send)
					}
					for _, n := range tt.wantMissing {
						f.putOf(t, u, tt.data, n)
					}
					if file, err = f.Uploads.Complete(ctx, f.sender.ID, u.ID, ""); err != nil {
						t.Fatalf("Complete() once every chunk is there: %v", err)
					}
				case tt.wantRefusal != "":
					var r *filetype.Refusal
					if !errors.As(err, &r) || r.Code != tt.wantRefusal {
						t.Fatalf("Complete() error = %v, want a refusal: %s", err, tt.wantRefusal)
					}
					f.checkLetGo(t, u, usage-u.Size)
					if n := f.count(t, `SELECT count(*) FROM files WHERE box_id = $1`, u.Box); n != 0 {
						t.Errorf("%d files in the box after a refusal", n)
					}
					b, err := f.Boxes.Get(ctx, f.sender.ID, u.Box)
					if err != nil || b.FileCount != 0 || b.Bytes != 0 {
						t.Errorf("box after a refusal holds %d files of %d bytes (error %v), want nothing", b.FileCount, b.Bytes, err)
					}
					events, err := f.Audit.List(ctx, audit.Filter{Box: string(u.Box), Action: "upload.refuse"})
					if err != nil || len(events) != 1 || events[0].Result != audit.Denied || events[0].Detail["reason"] != tt.wantRefusal {
						t.Errorf("upload.refuse entries = %+v (error %v), want one denied for %s", events, err, tt.wantRefusal)
					}
					return
				case err != nil:
					t.Fatalf("Complete() error: %v", err)
				}
				if file.Name != tt.fileName || file.Size != int64(len(tt.data)) || file.ContentType != "image/jpeg" || file.Box != u.Box || file.Sender != f.sender.ID {
					t.Errorf("Complete() = %+v; want %s of %d bytes, image/jpeg, from the sender in box %s", file, tt.fileName, len(tt.data), u.Box)
				}
				if got := f.read(t, f.colleague.ID, file.ID); !bytes.Equal(got, tt.data) {
					t.Errorf("the recipient reads %d bytes, want the %d sent", len(got), len(tt.data))
				}
				if _, err := f.Uploads.Status(ctx, f.sender.ID, u.ID); !errors.Is(err, upload.ErrNotFound) {
					t.Errorf("Status() after complete: error %v, want %v", err, upload.ErrNotFound)
				}
				if _, err := f.Uploads.Complete(ctx, f.sender.ID, u.ID, ""); !errors.Is(err, upload.ErrNotFound) {
					t.Errorf("Complete() twice: error %v, want %v", err, upload.ErrNotFound)
				}
				if err := f.Uploads.PutChunk(ctx, f.sender.ID, u.ID, 0, bytes.NewReader(part(tt.data, 0)), -1, nil); !errors.Is(err, upload.ErrNotFound) {
					t.Errorf("PutChunk() after complete: error %v, want %v", err, upload.ErrNotFound)
				}
				if got := f.usage(t, f.sender.ID); got != usage {
					t.Errorf("usage = %d after complete, want %d as reserved", got, usage)
				}
				f.checkRecount(t)
			})
		}
	})
}

// TestAbort: aborting gives back everything an upload holds, at once — its
// reservation and key — and its stored chunks once the queued jobs run.
func TestAbort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		send []int
	}{
		{"nothing sent", nil},
		{"some chunks", []int{0, 2}},
		{"every chunk", []int{0, 1, 2}},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				for _, n := range tt.send {
					f.put(t, n)
				}
				if err := f.Uploads.Abort(ctx, f.sender.ID, f.up.ID, ""); err != nil {
					t.Fatalf("Abort() error: %v", err)
				}
				f.checkLetGo(t, f.up, 0)
				if files, bytes := f.held(t); files != 0 || bytes != 0 {
					t.Errorf("box holds %d files of %d bytes after abort, want nothing", files, bytes)
				}
				if err := f.Uploads.Abort(ctx, f.sender.ID, f.up.ID, ""); !errors.Is(err, upload.ErrNotFound) {
					t.Errorf("Abort() twice: error %v, want %v", err, upload.ErrNotFound)
				}
				if _, err := f.Uploads.Complete(ctx, f.sender.ID, f.up.ID, ""); !errors.Is(err, upload.ErrNotFound) {
					t.Errorf("Complete() after abort: error %v, want %v", err, upload.ErrNotFound)
				}
			})
		}
	})
}

// TestOnlyTheCreator: an upload is its creator's alone. To anyone else — the
// recipient of its box too — it answers exactly as an id that does not exist,
// and nothing changes.
func TestOnlyTheCreator(t *testing.T) {
	t.Parallel()
	ops := []struct {
		name string
		call func(ctx context.Context, f *fixture, who member.ID, id upload.ID) error
	}{
		{"Status", func(ctx context.Context, f *fixture, who member.ID, id upload.ID) error {
			_, err := f.Uploads.Status(ctx, who, id)
			return err
		}},
		{"PutChunk", func(ctx context.Context, f *fixture, who member.ID, id upload.ID) error {
			return f.Uploads.PutChunk(ctx, who, id, 1, bytes.NewReader(part(f.data, 1)), chunk, nil)
		}},
		{"PutChunk past the end", func(ctx context.Context, f *fixture, who member.ID, id upload.ID) error {
			return f.Uploads.PutChunk(ctx, who, id, 99, bytes.NewReader(nil), 0, nil)
		}},
		{"Complete", func(ctx context.Context, f *fixture, who member.ID, id upload.ID) error {
			_, err := f.Uploads.Complete(ctx, who, id, "")
			return err
		}},
		{"Abort", func(ctx context.Context, f *fixture, who member.ID, id upload.ID) error {
			return f.Uploads.Abort(ctx, who, id, "")
		}},
	}
	tests := []struct {
		name string
		who  func(*fixture) member.ID
	}{
		{"recipient of the box", func(f *fixture) member.ID { return f.colleague.ID }},
		{"another member", func(f *fixture) member.ID { return f.outsider().ID }},
		{"administrator", func(f *fixture) member.ID { return f.Admin().ID }},
		{"no one", func(*fixture) member.ID { return "" }},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				f.put(t, 0)
				for _, op := range ops {
					errReal := op.call(ctx, f, tt.who(f), f.up.ID)
					errMadeUp := op.call(ctx, f, tt.who(f), "zzzzzzzzzzzzzzzzzzzzzzzzzz")
					if !errors.Is(errReal, upload.ErrNotFound) || errReal.Error() != errMadeUp.Error() {
						t.Errorf("%s by the %s = %v; for a made-up id %v; want both %v", op.name, tt.name, errReal, errMadeUp, upload.ErrNotFound)
					}
				}
				if got := f.received(t); !slices.Equal(got, []int{0}) {
					t.Errorf("received = %v after the attempts, want [0]", got)
				}
				if got := f.usage(t, f.sender.ID); got != size {
					t.Errorf("usage = %d after the attempts, want %d", got, size)
				}
				file := f.finish(t)
				if !bytes.Equal(f.read(t, f.colleague.ID, file.ID), f.data) {
					t.Error("the completed file differs from the upload's bytes")
				}
			})
		}
	})
}

// TestSweepAbandoned: the periodic sweep removes an upload nobody has touched
// for 24 hours with everything it holds; one touched since — a chunk sent —
// stays.
func TestSweepAbandoned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		steps     []time.Duration // the clock moves by each in turn, a chunk sent after each but the last
		wantSwept bool
	}{
		{"23 hours untouched", []time.Duration{23 * time.Hour}, false},
		{"24 hours untouched", []time.Duration{24 * time.Hour}, true},
		{"two days untouched", []time.Duration{48 * time.Hour}, true}, // within its box's 72 hours
		{"a chunk 20 hours in, 20 hours before", []time.Duration{20 * time.Hour, 20 * time.Hour}, false},
		{"a chunk 20 hours in, 24 hours before", []time.Duration{20 * time.Hour, 24 * time.Hour}, true},
	}
	featuretest.Each(t, opts, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests { // in order: each moves the World's clock
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				f := newFixture(t, w)
				f.put(t, 0)
				for i, d := range tt.steps {
					f.Clock.Advance(d)
					if i < len(tt.steps)-1 {
						f.put(t, i+1)
					}
				}
				f.RunJobs() // the periodic sweep
				if !tt.wantSwept {
					if got := f.received(t); len(got) != len(tt.steps) {
						t.Errorf("received = %v after the sweep, want %d chunks", got, len(tt.steps))
					}
					if got := f.usage(t, f.sender.ID); got != size {
						t.Errorf("usage = %d, want %d", got, size)
					}
					return
				}
				f.checkLetGo(t, f.up, 0)
				events, err := f.Audit.List(ctx, audit.Filter{Box: string(f.box), Action: "upload.abandon"})
				if err != nil || len(events) != 1 || events[0].Actor != "system" {
					t.Errorf("upload.abandon entries = %+v (error %v), want one by the system", events, err)
				}
			})
		}
	})
}

// TestSweepOrphans: stored chunks that belong to no file and no upload — left
// by a crash, or written by a client after its upload ended — are deleted;
// those of files and uploads stay.
func TestSweepOrphans(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, opts, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		f := newFixture(t, w)
		f.put(t, 0) // an upload in progress
		kept := f.begin(t, f.sender.ID, f.box, "kept.jpg", featuretest.JPEG(5, 1000))
		f.putOf(t, kept, featuretest.JPEG(5, 1000), 0)
		file, err := f.Uploads.Complete(ctx, f.sender.ID, kept.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		// Left by a crash between storing and recording.
		crashed := box.ChunkKey("crashedcrashedcrashedcrash", 0)
		if err := f.Blobs.Put(ctx, crashed, bytes.NewReader([]byte("sealed bytes")), 12); err != nil {
			t.Fatal(err)
		}
		// Written by a client whose upload was aborted while the chunk was on its way.
		late := f.begin(t, f.sender.ID, f.box, "late.jpg", f.data)
		body := newBlockedBody(part(f.data, 0))
		done := make(chan error, 1)
		go func() { done <- f.Uploads.PutChunk(ctx, f.sender.ID, late.ID, 0, body, chunk, nil) }()
		<-body.reading
		if err := f.Uploads.Abort(ctx, f.sender.ID, late.ID, ""); err != nil {
			t.Fatal(err)
		}
		f.RunJobs() // the erasure queued by abort runs before the chunk lands
		close(body.release)
		if err := <-done; err == nil {
			t.Error("a chunk of an aborted upload was acknowledged")
		}
		if err := f.Uploads.SweepOrphans(ctx, f.Clock.Now()); err != nil {
			t.Fatalf("SweepOrphans() error: %v", err)
		}
		for _, prefix := range []string{box.FilePrefix("crashedcrashedcrashedcrash"), box.FilePrefix(late.File)} {
			if keys := f.objects(t, prefix); len(keys) != 0 {
				t.Errorf("orphaned objects left: %v", keys)
			}
		}
		for _, prefix := range []string{box.FilePrefix(f.up.File), box.FilePrefix(file.ID)} {
			if keys := f.objects(t, prefix); len(keys) != 1 {
				t.Errorf("objects under %s = %v, want the one chunk", prefix, keys)
			}
		}
		if got := f.read(t, f.colleague.ID, file.ID); !bytes.Equal(got, featuretest.JPEG(5, 1000)) {
			t.Error("a file's content changed in the sweep")
		}
	})
}

// TestBoxDeletionLetsGoOfUploads: when a box is deleted — it expires, or its
// sender withdraws — the uploads into it go with their reservations; so do a
// withdrawing member's uploads into other boxes.
func TestBoxDeletionLetsGoOfUploads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(t *testing.T, f *fixture)
		// the colleague's upload into the sender's box goes; the box stays when
		// only the colleague left.
		boxStays bool
	}{
		{"the box expires", func(t *testing.T, f *fixture) {
			f.Clock.Advance(72 * time.Hour)
			if err := f.Boxes.ExpireDue(t.Context(), f.Clock.Now()); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"its sender withdraws", func(t *testing.T, f *fixture) {
			if err := f.Members.Withdraw(t.Context(), f.sender.ID, featuretest.Password, ""); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"the uploader withdraws", func(t *testing.T, f *fixture) {
			if err := f.Members.Withdraw(t.Context(), f.colleague.ID, featuretest.Password, ""); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	featuretest.Each(t, opts, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests { // in order: the first moves the World's clock
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, w)
				f.put(t, 0)
				reply := featuretest.JPEG(6, 300_000)
				theirs := f.begin(t, f.colleague.ID, f.box, "reply.jpg", reply)
				f.putOf(t, theirs, reply, 1)
				tt.do(t, f)
				f.checkLetGo(t, theirs, 0)
				if !tt.boxStays {
					f.checkLetGo(t, f.up, 0)
					return
				}
				if files, bytes := f.held(t); files != 1 || bytes != size {
					t.Errorf("box holds %d files of %d bytes, want the sender's upload alone: 1 of %d", files, bytes, size)
				}
				if got := f.received(t); !slices.Equal(got, []int{0}) {
					t.Errorf("the sender's upload has %v, want [0]", got)
				}
			})
		}
	})
}

// TestReserved: the bytes uploads in progress reserve, per member, are what a
// recount adds to the files.
func TestReserved(t *testing.T) {
	t.Parallel()
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		f := newFixture(t, w)
		f.begin(t, f.sender.ID, f.box, "a.jpg", make([]byte, 2500))
		f.begin(t, f.colleague.ID, f.box, "b.jpg", make([]byte, 400))
		f.finish(t) // a file now, no longer reserved
		got, err := f.Uploads.Reserved(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got[f.sender.ID] != 2500 || got[f.colleague.ID] != 400 {
			t.Errorf("Reserved() = sender %d, colleague %d; want 2500, 400", got[f.sender.ID], got[f.colleague.ID])
		}
		if used := f.usage(t, f.sender.ID); used != 2500+size {
			t.Errorf("usage of the sender = %d, want %d", used, 2500+size)
		}
		f.checkRecount(t)
	})
}
