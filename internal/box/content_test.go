package box_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/featuretest"
)

// TestWriteZip (R-T2): the whole box streams as one archive of the exact bytes
// of every file, under names that are safe and unique, and the download is
// recorded with what it held.
func TestWriteZip(t *testing.T) {
	t.Parallel()
	featuretest.Each(t, featuretest.Options{Env: smallChunks}, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		f := newFixture(t, w)
		want := map[string][]byte{
			"video.jpg":     jpeg(40, 600_000), // three chunks
			"video (2).jpg": jpeg(41, 70_000),  // the same name
			"scan.jpg":      jpeg(42, 1000),    // sent as a path
		}
		// In the order sent (the clock moves on): the first of two names that differ
		// only in case keeps it.
		f.send(t, f.sender.ID, f.box, "video.jpg", want["video.jpg"])
		f.Clock.Advance(time.Second)
		f.send(t, f.colleague.ID, f.box, "VIDEO.jpg", want["video (2).jpg"])
		f.Clock.Advance(time.Second)
		f.send(t, f.sender.ID, f.box, `..\ct\scan.jpg`, want["scan.jpg"])
		want["VIDEO (2).jpg"] = want["video (2).jpg"]
		delete(want, "video (2).jpg")
		var buf bytes.Buffer
		if err := f.Boxes.WriteZip(ctx, f.colleague.ID, f.box, &buf, "192.0.2.5"); err != nil {
			t.Fatalf("WriteZip() error: %v", err)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		for _, zf := range zr.File {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			got[zf.Name], err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("read %s from the archive: %v", zf.Name, err)
			}
		}
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Errorf("archive entry %q: %d bytes, want the %d sent", name, len(got[name]), len(b))
			}
		}
		if len(got) != len(want) {
			t.Errorf("archive holds %d entries %v, want %d", len(got), slices.Sorted(maps.Keys(got)), len(want))
		}
		events, err := f.Audit.List(ctx, audit.Filter{Box: string(f.box), Action: "box.download_zip"})
		if err != nil || len(events) != 1 {
			t.Fatalf("%d box.download_zip entries (error %v), want 1", len(events), err)
		}
		e := events[0]
		total := fmt.Sprint(600_000 + 70_000 + 1000)
		if e.Actor != string(f.colleague.ID) || e.Addr != "192.0.2.5" || e.Detail["files"] != "3" || e.Detail["size"] != total {
			t.Errorf("recorded %s by %s from %s with %v; want by %s from 192.0.2.5 with 3 files of %s bytes",
				e.Action, e.Actor, e.Addr, e.Detail, f.colleague.ID, total)
		}
	})
}

// TestContent (R-T2): an open file reads, seeks and reads at any offset across
// its chunks, giving exactly the bytes sent; a deleted file cannot be opened.
func TestContent(t *testing.T) {
	t.Parallel()
	featuretest.EachShared(t, shared, func(t *testing.T, w *featuretest.World) {
		ctx := t.Context()
		f := newFixture(t, w)
		data := jpeg(50, 600_000) // 256 KiB, 256 KiB, the rest
		file := f.send(t, f.sender.ID, f.box, "a.jpg", data)
		c, err := f.Boxes.OpenContent(ctx, f.colleague.ID, file.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		border := int64(256 << 10)
		for _, r := range []struct{ off, n int64 }{{0, 100}, {border - 50, 100}, {2*border - 1, 2}, {599_990, 10}, {10, 599_990}} {
			if _, err := c.Seek(r.off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, r.n)
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, data[r.off:r.off+r.n]) {
				t.Errorf("Seek(%d) and read %d: error %v, equal %v", r.off, r.n, err, bytes.Equal(got, data[r.off:r.off+r.n]))
			}
			at := make([]byte, r.n)
			if _, err := c.ReadAt(at, r.off); err != nil || !bytes.Equal(at, data[r.off:r.off+r.n]) {
				t.Errorf("ReadAt(%d, %d): error %v, equal %v", r.off, r.n, err, bytes.Equal(at, data[r.off:r.off+r.n]))
			}
		}
		if end, err := c.Seek(-10, io.SeekEnd); err != nil || end != 599_990 {
			t.Errorf("Seek(-10, end) = %d, %v; want 599990", end, err)
		}
		if n, err := c.Read(make([]byte, 20)); n != 10 || (err != nil && !errors.Is(err, io.EOF)) {
			t.Errorf("read at the end = %d, %v; want the last 10 bytes", n, err)
		}
		if n, err := c.Read(make([]byte, 20)); n != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("read past the end = %d, %v; want 0, EOF", n, err)
		}
		if err := f.Boxes.DeleteFile(ctx, f.sender.ID, file.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Boxes.OpenContent(ctx, f.colleague.ID, file.ID); !errors.Is(err, box.ErrNotFound) {
			t.Errorf("OpenContent() of a deleted file: error %v, want %v", err, box.ErrNotFound)
		}
	})
}

// TestSafeName: a name from a sender can neither climb out of a directory nor
// carry control or reserved characters when shown or unpacked.
func TestSafeName(t *testing.T) {
	t.Parallel()
	long := string(bytes.Repeat([]byte("あ"), 300))
	tests := []struct{ in, want string }{
		{"scan.jpg", "scan.jpg"},
		{"ct/../../scan.jpg", "scan.jpg"},
		{`..\..\windows\scan.jpg`, "scan.jpg"},
		{"/etc/passwd", "passwd"},
		{"a\x00b\x1fc\x7f.jpg", "a_b_c_.jpg"},
		{`a<b>c:d"e|f?g*.jpg`, "a_b_c_d_e_f_g_.jpg"},
		{"..hidden", "hidden"},
		{"  spaced.jpg  ", "spaced.jpg"},
		{"", "file"},
		{"..", "file"},
		{"/", "file"},
		{long + ".dcm", string([]rune(long)[:196]) + ".dcm"},
	}
	for _, tt := range tests {
		if got := box.SafeName(tt.in); got != tt.want {
			t.Errorf("SafeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
