package upload_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/upload"
)

// chunk is the chunk size of every World here, and size the size of the file
// most tests upload: two full chunks and a short last one.
const (
	chunk = 256 << 10
	size  = 2*chunk + 75_000
)

var opts = featuretest.Options{Env: map[string]string{"MEDBOX_CHUNK_SIZE": "256KiB"}}

// fixture is a box from sender to colleague with an upload of data begun by
// the sender, and an outsider who is an approved member too.
type fixture struct {
	*featuretest.World
	sender, colleague *member.Member
	out               *member.Member // made on first use: few cases need one
	box               box.ID
	data              []byte
	up                *upload.Upload
}

// newFixture returns a fresh fixture in w: members, a box and an upload of
// its own, so that cases sharing a World (and running in parallel) do not meet.
func newFixture(t *testing.T, w *featuretest.World) *fixture {
	t.Helper()
	w = w.For(t)
	f := &fixture{
		World:     w,
		sender:    w.Member(featuretest.NewMember{Name: "送 信子", NameKana: "そう のぶこ"}),
		colleague: w.Member(featuretest.NewMember{Name: "受 信男", NameKana: "じゅ のぶお"}),
		data:      featuretest.JPEG(1, size),
	}
	b, err := f.Boxes.Create(t.Context(), f.sender.ID, box.Draft{Recipients: []member.ID{f.colleague.ID}}, "")
	if err != nil {
		t.Fatal(err)
	}
	f.box = b.ID
	f.up = f.begin(t, f.sender.ID, f.box, "scan.jpg", f.data)
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

// otherBox opens another box from the sender to the colleague.
func (f *fixture) otherBox(t *testing.T) box.ID {
	t.Helper()
	b, err := f.Boxes.Create(t.Context(), f.sender.ID, box.Draft{Recipients: []member.ID{f.colleague.ID}}, "")
	if err != nil {
		t.Fatal(err)
	}
	return b.ID
}

// begin creates an upload of data.
func (f *fixture) begin(t *testing.T, who member.ID, id box.ID, name string, data []byte) *upload.Upload {
	t.Helper()
	u, err := f.Uploads.Create(t.Context(), who, id, name, int64(len(data)), "image/jpeg", "192.0.2.1")
	if err != nil {
		t.Fatalf("create upload of %s: %v", name, err)
	}
	return u
}

// part returns chunk n of data.
func part(data []byte, n int) []byte {
	lo := n * chunk
	return data[lo:min(lo+chunk, len(data))]
}

// digest returns the Content-Digest value of b.
func digest(b []byte) upload.Digest {
	sum := sha256.Sum256(b)
	return sum[:]
}

// put sends chunk n of the fixture's data, as a client does: with its length
// and digest.
func (f *fixture) put(t *testing.T, n int) {
	t.Helper()
	f.putOf(t, f.up, f.data, n)
}

func (f *fixture) putOf(t *testing.T, u *upload.Upload, data []byte, n int) {
	t.Helper()
	p := part(data, n)
	if err := f.Uploads.PutChunk(t.Context(), u.Member, u.ID, n, bytes.NewReader(p), int64(len(p)), digest(p)); err != nil {
		t.Fatalf("chunk %d: %v", n, err)
	}
}

// finish sends every chunk not received yet and completes the upload.
func (f *fixture) finish(t *testing.T) *box.File {
	t.Helper()
	st, err := f.Uploads.Status(t.Context(), f.sender.ID, f.up.ID)
	if err != nil {
		t.Fatalf("Status() error: %v", err)
	}
	have := map[int]bool{}
	for _, n := range st.Received {
		have[n] = true
	}
	for n := range f.up.ChunkCount {
		if !have[n] {
			f.put(t, n)
		}
	}
	file, err := f.Uploads.Complete(t.Context(), f.sender.ID, f.up.ID, "")
	if err != nil {
		t.Fatalf("Complete() error: %v", err)
	}
	return file
}

// received returns the chunks the upload has, as its creator sees them.
func (f *fixture) received(t *testing.T) []int {
	t.Helper()
	st, err := f.Uploads.Status(t.Context(), f.sender.ID, f.up.ID)
	if err != nil {
		t.Fatalf("Status() error: %v", err)
	}
	return st.Received
}

// read returns the content of file id as who reads it.
func (f *fixture) read(t *testing.T, who member.ID, id box.FileID) []byte {
	t.Helper()
	c, err := f.Boxes.OpenContent(t.Context(), who, id)
	if err != nil {
		t.Fatalf("OpenContent() error: %v", err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return b
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

// held returns how many files and bytes the box holds or has reserved.
func (f *fixture) held(t *testing.T) (int, int64) {
	t.Helper()
	b, err := f.Boxes.Get(t.Context(), f.sender.ID, f.box)
	if err != nil {
		t.Fatal(err)
	}
	return b.FileCount, b.Bytes
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

// objects lists the stored objects under prefix.
func (f *fixture) objects(t *testing.T, prefix string) []string {
	t.Helper()
	var keys []string
	err := f.Blobs.List(context.Background(), prefix, func(key string, _ int64) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", prefix, err)
	}
	return keys
}

// checkLetGo fails t unless upload u has left nothing: no row, no key, no
// reservation in its box or its creator's quota (their usage is wantUsage),
// and once the queued jobs have run, no stored chunk.
func (f *fixture) checkLetGo(t *testing.T, u *upload.Upload, wantUsage int64) {
	t.Helper()
	if _, err := f.Uploads.Status(t.Context(), u.Member, u.ID); !errors.Is(err, upload.ErrNotFound) {
		t.Errorf("Status() of the upload: error %v, want %v", err, upload.ErrNotFound)
	}
	if n := f.count(t, `SELECT count(*) FROM upload_chunks WHERE upload_id = $1`, u.ID); n != 0 {
		t.Errorf("%d chunk rows left", n)
	}
	if _, err := f.Master.Key(t.Context(), f.DB, u.KeyID); !errors.Is(err, seal.ErrKeyNotFound) {
		t.Errorf("key of the upload: error %v, want %v", err, seal.ErrKeyNotFound)
	}
	if got := f.usage(t, u.Member); got != wantUsage {
		t.Errorf("usage of the uploader = %d, want %d", got, wantUsage)
	}
	f.RunJobs()
	if keys := f.objects(t, box.FilePrefix(u.File)); len(keys) > 0 {
		t.Errorf("chunks left: %v", keys)
	}
	f.checkRecount(t)
}

// checkRecount fails t unless the stored usage of each of the fixture's members
// equals a recount.
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
			t.Errorf("member %s: stored usage %d, recount %d", m.ID, stored[m.ID], counted[m.ID])
		}
	}
}
