package box_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
)

// fixture is a wired instance with a box from sender to colleague, and an
// outsider who is an approved member too.
type fixture struct {
	*featuretest.World
	sender, colleague *member.Member
	out               *member.Member // made on first use: few cases need one
	box               box.ID
}

// newFixture returns a fresh fixture in w: members and a box of its own, so
// that cases sharing a World (and running in parallel) do not meet.
func newFixture(t *testing.T, w *featuretest.World) *fixture {
	t.Helper()
	w = w.For(t)
	f := &fixture{
		World:     w,
		sender:    w.Member(featuretest.NewMember{Name: "送 信子", NameKana: "そう のぶこ"}),
		colleague: w.Member(featuretest.NewMember{Name: "受 信男", NameKana: "じゅ のぶお"}),
	}
	f.box = f.newBox(t, f.colleague.ID)
	return f
}

// outsider returns an approved member who takes part in nothing of the
// fixture's, made on first use.
func (f *fixture) outsider() *member.Member {
	if f.out == nil {
		f.out = f.Member(featuretest.NewMember{Name: "部外 者", NameKana: "ぶがい しゃ"})
	}
	return f.out
}

// Actors of the table tests.
func (f *fixture) senderID() member.ID    { return f.sender.ID }
func (f *fixture) colleagueID() member.ID { return f.colleague.ID }
func (f *fixture) outsiderID() member.ID  { return f.outsider().ID }

// newBox opens a box from the sender to recipients with the default expiry.
func (f *fixture) newBox(t *testing.T, to ...member.ID) box.ID {
	t.Helper()
	b, err := f.Boxes.Create(t.Context(), f.sender.ID, box.Draft{Recipients: to, Message: "CT を見てください"}, "192.0.2.1")
	if err != nil {
		t.Fatalf("create box: %v", err)
	}
	return b.ID
}

// send uploads data as a file called name into box id, as who.
func (f *fixture) send(t *testing.T, who member.ID, id box.ID, name string, data []byte) *box.File {
	t.Helper()
	return f.AddFile(who, id, name, data)
}

// read returns the content of file id as who reads it.
func (f *fixture) read(t *testing.T, who member.ID, id box.FileID) ([]byte, error) {
	t.Helper()
	c, err := f.Boxes.OpenContent(t.Context(), who, id)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return io.ReadAll(c)
}

// usage returns who's stored usage.
func (f *fixture) usage(t *testing.T, who member.ID) int64 {
	t.Helper()
	n, err := f.Boxes.Usage(t.Context(), who)
	if err != nil {
		t.Fatalf("usage of %s: %v", who, err)
	}
	return n
}

// count runs a count(*) query.
func (f *fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.DB.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// checkRecount fails t unless the stored usage of each of the fixture's members
// equals a recount from the files and uploads that exist. (Other cases in the
// World may be between two steps of their own while Recount reads.)
func (f *fixture) checkRecount(t *testing.T) {
	t.Helper()
	stored, counted, err := f.Boxes.Recount(t.Context())
	if err != nil {
		t.Fatalf("Recount() error: %v", err)
	}
	for _, m := range []*member.Member{f.sender, f.colleague, f.out} {
		if m == nil {
			continue
		}
		if stored[m.ID] != counted[m.ID] {
			t.Errorf("member %s: stored usage %d, recount %d", m.Name, stored[m.ID], counted[m.ID])
		}
	}
}

// checkErased fails t unless file is gone for good: its key destroyed at once,
// and, once the queued jobs have run, its sealed chunks and previews.
func (f *fixture) checkErased(t *testing.T, file *box.File) {
	t.Helper()
	if _, err := f.Master.Key(t.Context(), f.DB, file.KeyID); !errors.Is(err, seal.ErrKeyNotFound) {
		t.Errorf("key of file %s: error %v, want %v", file.Name, err, seal.ErrKeyNotFound)
	}
	f.RunJobs()
	for _, prefix := range []string{box.FilePrefix(file.ID), box.PreviewPrefix(file.ID)} {
		if keys := f.objects(t, prefix); len(keys) > 0 {
			t.Errorf("objects of file %s left after erasure: %v", file.Name, keys)
		}
	}
}

// objects lists the stored objects under prefix.
func (f *fixture) objects(t *testing.T, prefix string) []string {
	t.Helper()
	var keys []string
	err := f.Blobs.List(context.Background(), prefix, func(key string, _ int64) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("list %s: %v", prefix, err)
	}
	return keys
}

// jpeg returns n bytes the content check takes for a JPEG.
func jpeg(seed uint64, n int) []byte { return featuretest.JPEG(seed, n) }

// smallChunks cuts files into many chunks without big test files.
var smallChunks = map[string]string{"MEDBOX_CHUNK_SIZE": "256KiB"}
