package main

import (
	"archive/zip"
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// mr700 are the seven slices of one MR series, in the order of their file
// names — which is not their instance order (4, 2, 1, 3, 5, 7, 6).
var mr700 = []string{"4467", "4528", "4558", "4588", "4618", "4648", "4678"}

// TestPreviewSeriesOrder: DICOM slices of one series uploaded out of order come
// back as one stack in instance order, whichever slice is opened; a slice of
// another study is a series of its own.
func TestPreviewSeriesOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		ids := map[string]string{}
		for _, name := range mr700 {
			ids[name] = x.sender.upload(x.box, name+".dcm", dicomFile(t, filepath.Join("dicomdir_study", "98892003", "MR700", name)))
		}
		other := x.sender.upload(x.box, "ct.dcm", dicomFile(t, filepath.Join("dicomdir_study", "77654033", "CT2", "17106")))
		in.previewsMade()
		instance := map[string]int{}
		for name, id := range ids {
			status, d := x.rcpt.dicomInfo(id)
			if status != http.StatusOK || d.Status != "ready" || d.Summary == nil {
				t.Fatalf("slice %s: %d %+v", name, status, d)
			}
			instance[id] = d.Summary.InstanceNumber
		}
		for _, open := range []string{"4467", "4678"} {
			_, d := x.rcpt.dicomInfo(ids[open])
			var got []int
			for _, s := range d.Stack {
				got = append(got, instance[s.File])
			}
			if !slices.Equal(got, []int{1, 2, 3, 4, 5, 6, 7}) {
				t.Errorf("opening %s: stack in instance order %v, want 1…7", open, got)
			}
			if d.Stack[d.Start].File != ids[open] {
				t.Errorf("opening %s: start %d is %s", open, d.Start, d.Stack[d.Start].File)
			}
			if len(d.Series) != 2 || len(d.Series[0].Files)+len(d.Series[1].Files) != 8 {
				t.Errorf("opening %s: series %+v, want the MR series and the CT slice", open, d.Series)
			}
		}
		if _, d := x.rcpt.dicomInfo(other); len(d.Stack) != 1 || d.Stack[0].File != other {
			t.Errorf("the CT slice's stack = %+v, want itself alone", d.Stack)
		}
	})
}

// zipDir packs the files under dir into a ZIP, deflated, in walk order.
func zipDir(t testing.TB, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, err := zw.Create("study/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPreviewStudyZip: a ZIP of a study with a DICOMDIR is one stack, ordered
// series by series and by instance within each; a ZIP without DICOM cannot be
// previewed; a deleted file's previews are erased with it.
func TestPreviewStudyZip(t *testing.T) {
	eachDB(t, func(t *testing.T, in *instance) {
		x := newExchange(t, in)
		studyDir := filepath.Join("..", "..", "testdata", "dicom", "dicomdir_study")
		study := x.sender.upload(x.box, "study.zip", zipDir(t, filepath.Join(studyDir, "98892003")))
		withDir := x.sender.upload(x.box, "dicomdir.zip", zipDICOMDIRStudy(t, studyDir))
		var plain bytes.Buffer
		zw := zip.NewWriter(&plain)
		w, _ := zw.Create("notes.txt")
		w.Write(bytes.Repeat([]byte("所見なし\n"), 1000))
		zw.Close()
		notes := x.sender.upload(x.box, "notes.zip", plain.Bytes())
		in.previewsMade()

		for name, id := range map[string]string{"study.zip": study, "dicomdir.zip": withDir} {
			status, d := x.rcpt.dicomInfo(id)
			if status != http.StatusOK || d.Kind != "study" || d.Status != "ready" || len(d.Instances) < 7 || len(d.Stack) != d.Frames {
				t.Fatalf("%s: %d %+v", name, status, d)
			}
			// Series come one after another, and instances in order within each.
			seen := map[string]bool{}
			prevSeries, prevInstance := "", -1
			for i, in := range d.Instances {
				s := in.Summary
				if s.SeriesUID != prevSeries {
					if seen[s.SeriesUID] {
						t.Errorf("%s: series %s comes back after another series (instance %d)", name, s.SeriesUID, i)
					}
					seen[s.SeriesUID], prevSeries, prevInstance = true, s.SeriesUID, -1
				}
				if s.InstanceNumber < prevInstance {
					t.Errorf("%s: series %s: instance %d after %d", name, s.SeriesUID, s.InstanceNumber, prevInstance)
				}
				prevInstance = s.InstanceNumber
			}
			if len(seen) < 3 {
				t.Errorf("%s: %d series, want several", name, len(seen))
			}
			for i, s := range d.Stack {
				if s.File != id || s.Frame != i {
					t.Errorf("%s: stack[%d] = %+v", name, i, s)
				}
			}
			x.rcpt.jpegOf("/api/v1/files/" + id + "/preview")
			x.rcpt.jpegOf("/api/v1/files/" + id + "/preview?frame=" + strconv.Itoa(d.Frames-1))
		}
		if status, d := x.rcpt.dicomInfo(notes); status != http.StatusOK || d.Status != "failed" || d.Reason != "no_images" {
			t.Errorf("ZIP without DICOM: %d %+v", status, d)
		}

		// Deleting the file destroys its key and erases its previews.
		if n := previewObjects(t, in, study); n == 0 {
			t.Fatal("no preview objects stored for the study")
		}
		must(t, x.sender.json("DELETE", "/api/v1/files/"+study, nil, nil), http.StatusNoContent, "delete the study")
		for _, p := range previewRoutes(study) {
			if status, body, _ := x.rcpt.do("GET", p, nil, nil); status != http.StatusNotFound || errorCode(body) != "not_found" {
				t.Errorf("after delete GET %s: %d %s", p, status, body)
			}
		}
		in.deliver()
		if n := previewObjects(t, in, study); n != 0 {
			t.Errorf("%d preview objects left after the file was deleted", n)
		}
		// An object left under p/ by a file that is gone is swept away.
		if err := in.app.Blobs.Put(context.Background(), "p/nosuchfile/thumb.jpg", bytes.NewReader([]byte("left over")), 9); err != nil {
			t.Fatal(err)
		}
		if err := in.app.Previews.SweepOrphans(context.Background(), in.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if n := previewObjects(t, in, "nosuchfile"); n != 0 || previewObjects(t, in, withDir) == 0 {
			t.Errorf("after the sweep: %d orphaned objects, %d of a live file", n, previewObjects(t, in, withDir))
		}
		// Expiry takes the rest with it.
		in.clock.Advance(73 * time.Hour)
		in.deliver()
		if n := previewObjects(t, in, withDir); n != 0 {
			t.Errorf("%d preview objects left after the box expired", n)
		}
	})
}

// zipDICOMDIRStudy packs the DICOMDIR and the three patients' folders, at the
// paths the DICOMDIR names, plus a stray file the DICOMDIR does not reference.
func zipDICOMDIRStudy(t testing.TB, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	dicomdir, err := os.ReadFile(filepath.Join(dir, "DICOMDIR"))
	if err != nil {
		t.Fatal(err)
	}
	add("CD/DICOMDIR", dicomdir)
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
	add("CD/README.txt", []byte("not part of the study"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// previewObjects counts the stored objects of a file's previews.
func previewObjects(t testing.TB, in *instance, file string) int {
	t.Helper()
	n := 0
	if err := in.app.Sealed.List(context.Background(), "p/"+file+"/", func(string, int64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
