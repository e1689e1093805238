package preview

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/dicom"
)

// studyZip packs the DICOMDIR study of the test data under "CD/", with a stray
// file the DICOMDIR does not reference.
func studyZip(t testing.TB) []byte {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "dicom", "dicomdir_study")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	b, err := os.ReadFile(filepath.Join(dir, "DICOMDIR"))
	if err != nil {
		t.Fatal(err)
	}
	add("CD/DICOMDIR", b)
	add("CD/STRAY.dcm", testdata(t, "ct_small.dcm"))
	for _, p := range []string{"77654033", "98892001", "98892003"} {
		filepath.WalkDir(filepath.Join(dir, p), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			b, _ := os.ReadFile(path)
			add("CD/"+filepath.ToSlash(rel), b)
			return nil
		})
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPreviewStudyEntriesFollowTheDICOMDIR(t *testing.T) {
	data := studyZip(t)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	s := testService(t, Limits{})
	picked := s.studyEntries(zr)
	recs, err := dicom.ReadDICOMDIR(testdata(t, "dicomdir_study/DICOMDIR"))
	if err != nil {
		t.Fatal(err)
	}
	refs := dicom.ReferencedFiles(recs)
	if len(picked) != len(refs) || len(picked) == 0 {
		t.Fatalf("picked %d entries, the DICOMDIR references %d", len(picked), len(refs))
	}
	for k, i := range picked {
		name := zr.File[i].Name
		if want := "CD/" + strings.Join(refs[k], "/"); !strings.EqualFold(name, want) {
			t.Errorf("entry %d is %s, want %s (DICOMDIR order)", k, name, want)
		}
		if strings.Contains(name, "STRAY") || strings.HasSuffix(name, "DICOMDIR") {
			t.Errorf("picked %s", name)
		}
	}
	s.lim.MaxStudyEntries = 3
	if got := len(s.studyEntries(zr)); got != 3 {
		t.Errorf("with MaxStudyEntries 3: %d entries", got)
	}
}

func TestPreviewMakeStudy(t *testing.T) {
	m := makeFrom(t, testService(t, Limits{}), Study, "application/zip", studyZip(t))
	if m.err != nil {
		t.Fatal(m.err)
	}
	var sums []dicom.Summary
	if err := json.Unmarshal(m.store.Bytes("p/f1/summary.json"), &sums); err != nil {
		t.Fatal(err)
	}
	if len(sums) != len(m.out.layout) || len(sums) < 20 || !m.out.thumb || !m.out.full || m.out.frames < len(sums) {
		t.Fatalf("study: %d summaries, outcome %+v", len(sums), m.out)
	}
	// Instances ordered: each series together, instances ascending within it.
	seen := map[string]bool{}
	for i, s := range sums {
		if i > 0 && sums[i-1].SeriesInstanceUID == s.SeriesInstanceUID {
			if s.InstanceNumber < sums[i-1].InstanceNumber {
				t.Errorf("instance %d after %d in series %s", s.InstanceNumber, sums[i-1].InstanceNumber, s.SeriesInstanceUID)
			}
			continue
		}
		if seen[s.SeriesInstanceUID] {
			t.Errorf("series %s is split", s.SeriesInstanceUID)
		}
		seen[s.SeriesInstanceUID] = true
	}
	for n := range m.out.frames {
		entry, frame, ok := locate(m.out.layout, n)
		if !ok || m.store.Bytes(frameKey("f1", entry, frame)) == nil {
			t.Fatalf("frame %d: entry %d frame %d not stored", n, entry, frame)
		}
	}
	if _, _, ok := locate(m.out.layout, m.out.frames); ok {
		t.Error("locate finds a frame past the end")
	}
}

// zipOf makes a ZIP of the given entries, deflated.
func zipOf(t testing.TB, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}

// lyingZip has one entry that inflates to all of content while its headers
// declare only its first declared bytes.
func lyingZip(t testing.TB, name string, content []byte, declared uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// Compress separately, then write the raw stream under false sizes.
	var comp bytes.Buffer
	cw := zip.NewWriter(&comp)
	w, _ := cw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	w.Write(content)
	cw.Close()
	zr, err := zip.NewReader(bytes.NewReader(comp.Bytes()), int64(comp.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := zr.File[0].OpenRaw()
	stream, _ := readAllFrom(rc)
	hw, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(content[:declared]),
		CompressedSize64: uint64(len(stream)), UncompressedSize64: declared})
	if err != nil {
		t.Fatal(err)
	}
	hw.Write(stream)
	zw.Close()
	return buf.Bytes()
}

func readAllFrom(r interface{ Read([]byte) (int, error) }) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// TestStudyBounds: zip bombs and oversized studies meet the limits — entries
// larger than allowed are left out (whatever their headers claim), the frames
// kept are capped, and a ZIP with nothing to show cannot be previewed.
func TestPreviewStudyBounds(t *testing.T) {
	mr := testdata(t, "mr_10frame_native.dcm")
	ct := testdata(t, "ct_small.dcm")
	bomb := append(append([]byte{}, ct...), make([]byte, 8<<20)...) // a DICOM file with megabytes of zeros after it
	tests := []struct {
		name       string
		lim        Limits
		data       []byte
		wantCode   string
		wantFrames int // -1: one frame or none
	}{
		{"entry over the limit left out", Limits{MaxEntryBytes: 64 << 10}, zipOf(t, map[string][]byte{"mr.dcm": mr, "ct.dcm": ct}), "", 1},
		{"bomb left out", Limits{MaxEntryBytes: 1 << 20}, zipOf(t, map[string][]byte{"bomb.dcm": bomb}), ReasonNoImages, 0},
		{"bomb under false sizes", Limits{MaxEntryBytes: 1 << 20}, lyingZip(t, "bomb.dcm", bomb, uint64(len(ct))), "", -1},
		{"frames capped", Limits{MaxStudyFrames: 4}, zipOf(t, map[string][]byte{"mr.dcm": mr}), "", 4},
		{"total inflated capped", Limits{MaxStudyBytes: 50 << 10}, zipOf(t, map[string][]byte{"a/mr.dcm": mr, "b/mr.dcm": mr}), ReasonNoImages, 0},
		{"no DICOM at all", Limits{}, zipOf(t, map[string][]byte{"notes.txt": []byte("所見なし")}), ReasonNoImages, 0},
		{"not a ZIP", Limits{}, []byte("PK\x03\x04 but nothing else"), ReasonCannotPreview, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := makeFrom(t, testService(t, tt.lim), Study, "application/zip", tt.data)
			var u *unpreviewable
			switch {
			case tt.wantCode != "":
				if !errors.As(m.err, &u) || u.code != tt.wantCode {
					t.Errorf("err = %v, want %s", m.err, tt.wantCode)
				}
			case tt.wantFrames < 0:
				// Read no further than the headers say: the file, cut or whole.
				if m.err != nil && (!errors.As(m.err, &u) || u.code != ReasonNoImages) {
					t.Errorf("err = %v", m.err)
				}
			case m.err != nil:
				t.Errorf("err = %v", m.err)
			case m.out.frames != tt.wantFrames:
				t.Errorf("frames = %d, want %d", m.out.frames, tt.wantFrames)
			}
		})
	}
}

func TestPreviewCleanEntryName(t *testing.T) {
	for in, want := range map[string]string{
		"CD/DICOMDIR": "CD/DICOMDIR", `CD\IMG\1`: "CD/IMG/1", "./a/b": "a/b", "/abs/x": "abs/x", "../up": "up", "a/../../b": "b", ".": "",
	} {
		if got := cleanEntryName(in); got != want {
			t.Errorf("cleanEntryName(%q) = %q, want %q", in, got, want)
		}
	}
}
