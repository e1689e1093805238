package upload_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/upload"
)

// TestCreate (R-T1, R-S2): an upload is created with a declared size, which is
// checked against the box's limits and the member's quota and reserved at
// once, and a name kept as typed minus anything that could act as a path or a
// control character. A refused upload reserves nothing.
func TestCreate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("画", 996) + ".jpg"
	tests := []struct {
		name       string
		who        func(*fixture) member.ID // default: the sender
		into       func(*fixture, *testing.T) box.ID
		fileName   string
		size       int64
		declared   string
		wantErr    error
		wantName   string
		wantChunks int
		wantType   string
	}{
		{name: "a file", fileName: "scan.jpg", size: 600_000, declared: "image/jpeg", wantName: "scan.jpg", wantChunks: 3, wantType: "image/jpeg"},
		{name: "exactly one chunk", fileName: "a.jpg", size: chunk, wantName: "a.jpg", wantChunks: 1},
		{name: "a byte over one chunk", fileName: "a.jpg", size: chunk + 1, wantName: "a.jpg", wantChunks: 2},
		{name: "one byte", fileName: "a.txt", size: 1, wantName: "a.txt", wantChunks: 1},
		{name: "1 GB", into: (*fixture).otherBox, fileName: "a.mp4", size: 1_000_000_000, wantName: "a.mp4", wantChunks: 3815},
		{name: "by a recipient", who: func(f *fixture) member.ID { return f.colleague.ID }, fileName: "reply.jpg", size: 10, wantName: "reply.jpg", wantChunks: 1},
		{name: "a path", fileName: "ct/../../scan.jpg", size: 10, wantName: "scan.jpg", wantChunks: 1},
		{name: "a Windows path", fileName: `C:\Users\ct\scan.jpg`, size: 10, wantName: "scan.jpg", wantChunks: 1},
		{name: "control characters", fileName: "a\x00b\nc\x7f.jpg", size: 10, wantName: "a_b_c_.jpg", wantChunks: 1},
		{name: "a leading dot", fileName: ".htaccess", size: 10, wantName: "htaccess", wantChunks: 1},
		{name: "1000 characters", fileName: long, size: 10, wantName: string([]rune(long)[:196]) + ".jpg", wantChunks: 1},
		{name: "1001 characters", fileName: long + "g", size: 10, wantErr: upload.ErrBadName},
		{name: "no name", fileName: "", size: 10, wantErr: upload.ErrBadName},
		{name: "only spaces", fileName: " \t ", size: 10, wantErr: upload.ErrBadName},
		{name: "a declared type too long to keep", fileName: "a.jpg", size: 10, declared: strings.Repeat("x", 201), wantName: "a.jpg", wantChunks: 1},
		{name: "empty", fileName: "a.jpg", size: 0, wantErr: upload.ErrEmpty},
		{name: "negative", fileName: "a.jpg", size: -1, wantErr: upload.ErrEmpty},
		{name: "1 GB + 1 byte", fileName: "a.mp4", size: 1_000_000_001, wantErr: box.ErrTooLarge},
		{name: "the 21st file", into: func(f *fixture, t *testing.T) box.ID {
			for i := range 19 { // and the fixture's upload
				f.begin(t, f.sender.ID, f.box, fmt.Sprint(i, ".jpg"), []byte{1})
			}
			return f.box
		}, fileName: "a.jpg", size: 10, wantErr: box.ErrTooManyFiles},
		{name: "over the quota", into: func(f *fixture, t *testing.T) box.ID {
			for range 2 {
				if _, err := f.Uploads.Create(t.Context(), f.sender.ID, f.otherBox(t), "big.mp4", 999_000_000, "", ""); err != nil {
					t.Fatal(err)
				}
			}
			return f.otherBox(t)
		}, fileName: "a.jpg", size: 2_000_000_000 - 2*999_000_000 - size + 1, wantErr: box.ErrQuota},
		{name: "by an outsider", who: func(f *fixture) member.ID { return f.outsider().ID }, fileName: "a.jpg", size: 10, wantErr: box.ErrNotFound},
		{name: "by an administrator", who: func(f *fixture) member.ID { return f.Admin().ID }, fileName: "a.jpg", size: 10, wantErr: box.ErrNotFound},
		{name: "into no box", into: func(*fixture, *testing.T) box.ID { return "zzzzzzzzzzzzzzzzzzzzzzzzzz" }, fileName: "a.jpg", size: 10, wantErr: box.ErrNotFound},
	}
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				f := newFixture(t, w)
				who := f.sender.ID
				if tt.who != nil {
					who = tt.who(f)
				}
				into := f.box
				if tt.into != nil {
					into = tt.into(f, t)
				}
				usage := f.usage(t, who)
				files, bytes := f.held(t)
				uploads := f.count(t, `SELECT count(*) FROM uploads WHERE member_id = $1`, who)
				u, err := f.Uploads.Create(ctx, who, into, tt.fileName, tt.size, tt.declared, "")
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Create(%q, %d) error = %v, want %v", tt.fileName, tt.size, err, tt.wantErr)
				}
				if tt.wantErr != nil {
					gotFiles, gotBytes := f.held(t)
					if got := f.usage(t, who); got != usage || gotFiles != files || gotBytes != bytes {
						t.Errorf("after a refusal: usage %d, box %d files of %d bytes; want %d, %d, %d as before", got, gotFiles, gotBytes, usage, files, bytes)
					}
					if n := f.count(t, `SELECT count(*) FROM uploads WHERE member_id = $1`, who); n != uploads {
						t.Errorf("%d uploads after a refusal, want %d as before", n, uploads)
					}
					return
				}
				if u.Name != tt.wantName || u.ChunkCount != tt.wantChunks || u.ChunkSize != chunk || u.Size != tt.size || u.DeclaredType != tt.wantType {
					t.Errorf("Create() = %q, %d chunks of %d, %d bytes, type %q; want %q, %d chunks of %d, %d bytes, type %q",
						u.Name, u.ChunkCount, u.ChunkSize, u.Size, u.DeclaredType, tt.wantName, tt.wantChunks, chunk, tt.size, tt.wantType)
				}
				if got := f.usage(t, who); got != usage+tt.size {
					t.Errorf("usage = %d, want %d", got, usage+tt.size)
				}
				st, err := f.Uploads.Status(ctx, who, u.ID)
				if err != nil || len(st.Received) != 0 {
					t.Errorf("Status() = %v received, error %v; want none received", st.Received, err)
				}
				f.checkRecount(t)
			})
		}
	})
}
