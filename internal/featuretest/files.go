package featuretest

import (
	"bytes"
	"context"
	"math/rand/v2"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/member"
)

// Addr is the client address every helper of this package acts from.
const Addr = "192.0.2.1"

// Box opens a box from sender to recipients with the default storage period.
func (w *World) Box(sender member.ID, recipients ...member.ID) *box.Box {
	w.T.Helper()
	b, err := w.Boxes.Create(context.Background(), sender, box.Draft{Recipients: recipients}, Addr)
	if err != nil {
		w.T.Fatalf("create box from %s: %v", sender, err)
	}
	return b
}

// AddFile puts data into box b as by through the whole upload protocol —
// create, every chunk, complete — and returns the file it became.
func (w *World) AddFile(by member.ID, b box.ID, name string, data []byte) *box.File {
	w.T.Helper()
	ctx := context.Background()
	u, err := w.Uploads.Create(ctx, by, b, name, int64(len(data)), "", Addr)
	if err != nil {
		w.T.Fatalf("start upload of %s: %v", name, err)
	}
	for n := range u.ChunkCount {
		chunk := data[int64(n)*u.ChunkSize : min(int64(len(data)), int64(n+1)*u.ChunkSize)]
		if err := w.Uploads.PutChunk(ctx, by, u.ID, n, bytes.NewReader(chunk), int64(len(chunk)), nil); err != nil {
			w.T.Fatalf("chunk %d of %s: %v", n, name, err)
		}
	}
	f, err := w.Uploads.Complete(ctx, by, u.ID, Addr)
	if err != nil {
		w.T.Fatalf("complete upload of %s: %v", name, err)
	}
	return f
}

// JPEG returns n deterministic pseudo-random bytes (the same for the same seed)
// that the content check takes for a JPEG.
func JPEG(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) // #nosec G404 -- test bytes that must repeat for a seed, not a secret
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	copy(b, []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00})
	return b
}
