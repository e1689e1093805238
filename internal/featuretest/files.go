package featuretest

import (
	"bytes"
	"context"
	"math/rand/v2"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/member"
)

// Send uploads data as a file called name into box id, as who, through the
// upload protocol (create, every chunk, complete), and returns the file.
func (w *World) Send(who member.ID, id box.ID, name string, data []byte) *box.File {
	w.T.Helper()
	ctx := context.Background()
	u, err := w.Uploads.Create(ctx, who, id, name, int64(len(data)), "", "192.0.2.1")
	if err != nil {
		w.T.Fatalf("create upload of %s: %v", name, err)
	}
	for n := range u.ChunkCount {
		lo := int64(n) * u.ChunkSize
		part := data[lo:min(lo+u.ChunkSize, int64(len(data)))]
		if err := w.Uploads.PutChunk(ctx, who, u.ID, n, bytes.NewReader(part), int64(len(part)), nil); err != nil {
			w.T.Fatalf("chunk %d of %s: %v", n, name, err)
		}
	}
	f, err := w.Uploads.Complete(ctx, who, u.ID, "192.0.2.1")
	if err != nil {
		w.T.Fatalf("complete %s: %v", name, err)
	}
	return f
}

// JPEG returns n deterministic pseudo-random bytes (the same for the same seed)
// that the content check takes for a JPEG.
func JPEG(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	copy(b, []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00})
	return b
}
