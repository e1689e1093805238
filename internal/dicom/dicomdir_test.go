package dicom

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadDICOMDIR(t *testing.T) {
	dir := filepath.Join(testdata, "dicomdir_study")
	want, err := ReadDICOMDIR(readFile(t, filepath.Join(dir, "DICOMDIR")))
	if err != nil {
		t.Fatalf("ReadDICOMDIR(DICOMDIR) = %v", err)
	}
	files := ReferencedFiles(want)
	if len(want) != 52 || len(files) != 31 {
		t.Fatalf("DICOMDIR: %d records, %d files; want 52 and 31", len(want), len(files))
	}
	if r := want[0]; r.Type != "PATIENT" || r.Depth != 0 || r.PatientName != "Doe^Archibald" {
		t.Errorf("first record = %+v", r)
	}
	if f := files[0]; !cmp.Equal(f, []string{"77654033", "CR1", "6154"}) {
		t.Errorf("first file = %q", f)
	}
	for _, f := range files {
		p := filepath.Join(append([]string{dir}, f...)...)
		if !parseFile(t, p, Limits{}).HasImage() {
			t.Errorf("%s has no image", p)
		}
	}
	// Every variant yields the same records; only the record type that the
	// "nopatient" variant corrupted differs.
	for _, v := range []string{"DICOMDIR-bigEnd", "DICOMDIR-implicit", "DICOMDIR-nooffset", "DICOMDIR-reordered", "DICOMDIR-nopatient"} {
		got, err := ReadDICOMDIR(readFile(t, filepath.Join(dir, v)))
		if err != nil {
			t.Errorf("ReadDICOMDIR(%s) = %v", v, err)
			continue
		}
		for i := range got {
			if v == "DICOMDIR-nopatient" && got[i].Type != "PATIENT" && want[i].Type == "PATIENT" {
				got[i].Type = "PATIENT"
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s differs from DICOMDIR (-want +got):\n%s", v, diff)
		}
	}
	empty, err := ReadDICOMDIR(readFile(t, filepath.Join(dir, "DICOMDIR-empty.dcm")))
	if err != nil || len(empty) != 0 {
		t.Errorf("ReadDICOMDIR(empty) = %d records, %v", len(empty), err)
	}
	tiny, err := ReadDICOMDIR(readFile(t, filepath.Join(dir, "TINY_ALPHA", "DICOMDIR")))
	if err != nil || len(ReferencedFiles(tiny)) != 50 {
		t.Errorf("ReadDICOMDIR(TINY_ALPHA) = %d files, %v", len(ReferencedFiles(tiny)), err)
	}
	if _, err := ReadDICOMDIR(readFile(t, findFile(t, "ct_small"))); !errors.Is(err, ErrNotDICOM) {
		t.Errorf("ReadDICOMDIR(an image) = %v, want ErrNotDICOM", err)
	}
}

func TestFileIDRefusesEscapes(t *testing.T) {
	for _, parts := range [][]string{{"..", "etc"}, {"A", "."}, {"A/B"}, {"A\x00"}, {""}, {"ＡＢ"}} {
		if got := fileID(parts); got != nil {
			t.Errorf("fileID(%q) = %q, want nil", parts, got)
		}
	}
	if got := fileID([]string{"PT000000", "IM_1.DCM"}); len(got) != 2 {
		t.Errorf("fileID refused a valid ID")
	}
}

func TestOrderSeries(t *testing.T) {
	dir := filepath.Join(testdata, "dicomdir_study")
	recs, err := ReadDICOMDIR(readFile(t, filepath.Join(dir, "DICOMDIR")))
	if err != nil {
		t.Fatal(err)
	}
	var items []Summary
	for _, f := range ReferencedFiles(recs) {
		items = append(items, parseFile(t, filepath.Join(append([]string{dir}, f...)...), Limits{}).Summary())
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	series := OrderSeries(items)
	seen := 0
	uids := map[string]bool{}
	for _, s := range series {
		seen += len(s)
		uid := items[s[0]].SeriesInstanceUID
		if uids[uid] {
			t.Errorf("series %s appears twice", uid)
		}
		uids[uid] = true
		for k := 1; k < len(s); k++ {
			a, b := items[s[k-1]], items[s[k]]
			if a.SeriesInstanceUID != uid || b.SeriesInstanceUID != uid {
				t.Errorf("series %s mixes in %s", uid, b.SeriesInstanceUID)
			}
			if a.InstanceNumber > b.InstanceNumber {
				t.Errorf("series %s: instance %d before %d", uid, a.InstanceNumber, b.InstanceNumber)
			}
		}
	}
	if seen != len(items) {
		t.Errorf("OrderSeries lost items: %d of %d", seen, len(items))
	}
}

func TestOrderSeriesByPosition(t *testing.T) {
	axial := []float64{1, 0, 0, 0, 1, 0} // normal along +z
	at := func(z float64, uid string) Summary {
		return Summary{SeriesInstanceUID: "s", ImageOrientation: axial, ImagePosition: []float64{0, 0, z}, SOPInstanceUID: uid}
	}
	items := []Summary{at(30, "c"), at(-10, "a"), at(10, "b"), {SeriesInstanceUID: "t", SeriesNumber: -1}}
	got := OrderSeries(items)
	want := [][]int{{3}, {1, 2, 0}}
	if !cmp.Equal(got, want) {
		t.Errorf("OrderSeries() = %v, want %v", got, want)
	}
}
