package dicom

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"image/jpeg"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testGuard returns a Guard whose worker is this test binary.
func testGuard(t *testing.T, hook string) *Guard {
	t.Helper()
	env := []string{"MEDBOX_DICOM_TEST_WORKER=1"}
	if hook != "" {
		env = append(env, "MEDBOX_DICOM_TEST_HOOK="+hook)
	}
	return &Guard{Command: []string{os.Args[0]}, Env: env, Timeout: 30 * time.Second, Limits: Limits{MaxDepth: DefaultMaxDepth}}
}

func TestGuardExtract(t *testing.T) {
	path := findFile(t, "mr_10frame_native")
	f := parseFile(t, path, Limits{})
	var got []Output
	sum, err := testGuard(t, "").Extract(t.Context(), bytes.NewReader(readFile(t, path)), ExtractOptions{ThumbnailSize: 32}, func(o Output) error {
		got = append(got, o)
		return nil
	})
	if err != nil {
		t.Fatalf("Extract() = %v", err)
	}
	if diff := cmp.Diff(f.Summary(), sum); diff != "" {
		t.Errorf("summary differs from in-process (-want +got):\n%s", diff)
	}
	if len(got) != 2+10 {
		t.Fatalf("got %d outputs, want thumbnail, rendered and 10 viewer frames", len(got))
	}
	thumb, err := jpeg.Decode(bytes.NewReader(got[0].Data))
	if got[0].Kind != Thumbnail || err != nil || thumb.Bounds().Dx() > 32 || thumb.Bounds().Dy() > 32 {
		t.Errorf("first output: kind %v, JPEG error %v, want a thumbnail of at most 32 px", got[0].Kind, err)
	}
	full, err := jpeg.Decode(bytes.NewReader(got[1].Data))
	if got[1].Kind != Rendered || err != nil || full.Bounds().Dx() != 64 {
		t.Errorf("second output: kind %v, JPEG error %v, want a 64 px render", got[1].Kind, err)
	}
	for i, o := range got[2:] {
		fr, err := f.Frame(i)
		if err != nil {
			t.Fatal(err)
		}
		var v ViewerFrame
		if err := v.UnmarshalBinary(o.Data); err != nil || o.Kind != Viewer || o.Frame != i {
			t.Fatalf("output %d: kind %v frame %d, UnmarshalBinary() = %v", i+2, o.Kind, o.Frame, err)
		}
		if diff := cmp.Diff(fr.Viewer(), v); diff != "" {
			t.Errorf("viewer frame %d differs from in-process (-want +got):\n%s", i, diff)
		}
	}
}

func TestGuardFailures(t *testing.T) {
	tests := []struct {
		name   string
		hook   string
		input  func(t *testing.T) []byte
		adjust func(g *Guard)
		detail string
	}{
		{"garbage", "", func(*testing.T) []byte { return []byte("this is not a DICOM file at all") }, nil, "not a DICOM file"},
		{"no image", "", func(t *testing.T) []byte { return readFile(t, testdata+"/dicomdir_study/DICOMDIR") }, nil, "no image"},
		{"panic in parser", "panic", mrNative, nil, "panic: test hook"},
		{"crash", "crash", mrNative, nil, "worker died"},
		{"time limit", "hang", mrNative, func(g *Guard) { g.Timeout = 2 * time.Second }, "timed out"},
		// The runtime reports "fatal error: runtime: out of memory"; under the
		// race detector ThreadSanitizer fails to map its shadow memory first.
		{"memory limit", "", deflateBomb, func(g *Guard) {
			g.MemoryLimit = 64 << 20
			g.Limits = Limits{MaxInflatedBytes: 4 << 30, MaxFramePixels: 4 << 30, MaxTotalPixels: 4 << 30}
		}, "worker died"},
		{"too large", "", deflateBomb, func(g *Guard) { g.Limits = Limits{MaxInflatedBytes: 8 << 20} }, "exceeds limits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := testGuard(t, tt.hook)
			if tt.adjust != nil {
				tt.adjust(g)
			}
			start := time.Now()
			_, err := g.Extract(t.Context(), bytes.NewReader(tt.input(t)), ExtractOptions{}, func(Output) error { return nil })
			if !errors.Is(err, ErrCannotPreview) || !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("Extract() = %v, want ErrCannotPreview mentioning %q", err, tt.detail)
			}
			t.Logf("Extract() = %v", err)
			if time.Since(start) > 20*time.Second {
				t.Errorf("Extract() took %v", time.Since(start))
			}
		})
	}
}

func TestGuardEmitError(t *testing.T) {
	stop := errors.New("client went away")
	_, err := testGuard(t, "").Extract(t.Context(), bytes.NewReader(mrNative(t)), ExtractOptions{}, func(Output) error { return stop })
	if err != stop {
		t.Errorf("Extract() = %v, want the emit error", err)
	}
}

func TestGuardCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err := testGuard(t, "hang").Extract(ctx, bytes.NewReader(mrNative(t)), ExtractOptions{}, func(Output) error { return nil })
	if err == nil {
		t.Error("Extract() with a cancelled context succeeded")
	}
}

func mrNative(t *testing.T) []byte { return readFile(t, findFile(t, "mr_10frame_native")) }

// deflateBomb builds a deflated DICOM file whose dataset inflates to a
// 16384×16384 frame of 8-bit zeros (256 MiB), from a 260 KB input. Deflate blocks
// that end with a flush are byte-aligned and a fresh compressor refers to nothing
// before its start, so one compressed MiB of zeros can simply be repeated.
func deflateBomb(t *testing.T) []byte {
	t.Helper()
	var ds bytes.Buffer
	us := func(tag Tag, v uint16) {
		binary.Write(&ds, binary.LittleEndian, []uint16{tag.Group(), tag.Element()})
		ds.WriteString("US")
		binary.Write(&ds, binary.LittleEndian, []uint16{2, v})
	}
	us(tagSamplesPerPixel, 1)
	cs := []byte("MONOCHROME2 ")
	binary.Write(&ds, binary.LittleEndian, []uint16{0x0028, 0x0004})
	ds.WriteString("CS")
	binary.Write(&ds, binary.LittleEndian, uint16(len(cs)))
	ds.Write(cs)
	us(tagRows, 16384)
	us(tagColumns, 16384)
	us(tagBitsAllocated, 8)
	us(tagBitsStored, 8)
	us(tagHighBit, 7)
	us(tagPixelRepresentation, 0)
	binary.Write(&ds, binary.LittleEndian, []uint16{0x7FE0, 0x0010})
	ds.WriteString("OB\x00\x00")
	binary.Write(&ds, binary.LittleEndian, uint32(16384*16384))
	flushed := func(b []byte) []byte {
		var z bytes.Buffer
		zw, _ := flate.NewWriter(&z, flate.BestCompression)
		zw.Write(b)
		zw.Flush()
		return z.Bytes()
	}
	out := append(metaHeader(uidDeflatedLE), flushed(ds.Bytes())...)
	zeros := flushed(make([]byte, 1<<20))
	for range 256 {
		out = append(out, zeros...)
	}
	return append(out, 0x03, 0x00) // an empty final block
}

// metaHeader returns a preamble and file meta group for transfer syntax ts.
func metaHeader(ts string) []byte {
	var b bytes.Buffer
	b.Write(make([]byte, 128))
	b.WriteString("DICM")
	if len(ts)%2 == 1 {
		ts += "\x00"
	}
	binary.Write(&b, binary.LittleEndian, []uint16{0x0002, 0x0010})
	b.WriteString("UI")
	binary.Write(&b, binary.LittleEndian, uint16(len(ts)))
	b.WriteString(ts)
	return b.Bytes()
}
