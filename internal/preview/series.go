package preview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/dicom"
	"github.com/medbox-jp/medbox/internal/member"
)

// Instance is one DICOM image (file or ZIP entry) of a preview.
type Instance struct {
	Summary dicom.Summary
	Frames  int
	First   int // the preview's frame number of this instance's first frame
}

// Slice is one frame of a stack: which file's preview and which of its frames.
type Slice struct {
	File          box.FileID
	Frame         int
	Width, Height int
}

// Series is a stack the viewer can show: the DICOM files of the box that share a
// study and series, in instance order, or one ZIP study on its own.
type Series struct {
	Files       []box.FileID
	Modality    string
	Number      int
	Description string // untrusted text from the files
	Frames      int
}

// View is what the DICOM viewer needs about a file: its instances with their
// header summaries, the stack it belongs to, and the series of its box.
type View struct {
	Info      *Info
	Instances []Instance
	Stack     []Slice // the frames to scroll through, in order
	Start     int     // where in Stack this file's first frame is
	Series    []Series
	Current   int // the series of Series that Stack shows
}

// maxSummaries bounds a sealed summaries object (a study of MaxStudyEntries).
const maxSummaries = 64 << 20

// summaries reads a preview's sealed header summaries.
func (s *Service) summaries(ctx context.Context, i *Info) ([]dicom.Summary, error) {
	st, err := s.store(ctx, i)
	if err != nil {
		return nil, err
	}
	b, err := readAll(ctx, st, summaryKey(i.File), maxSummaries)
	if err != nil {
		return nil, fmt.Errorf("summaries of %s: %w", i.File, err)
	}
	var sums []dicom.Summary
	if err := json.Unmarshal(b, &sums); err != nil {
		return nil, fmt.Errorf("summaries of %s: %w", i.File, err)
	}
	if len(sums) != len(i.layout) {
		return nil, fmt.Errorf("summaries of %s: %d for %d instances", i.File, len(sums), len(i.layout))
	}
	return sums, nil
}

// DICOM returns the viewer's view of a DICOM file or study for actor. Several
// single DICOM files of one series in a box form one stack, ordered by
// dicom.OrderSeries; a ZIP study is a stack of its own, ordered when it was read.
func (s *Service) DICOM(ctx context.Context, actor member.ID, file box.FileID) (*View, error) {
	i, err := s.Get(ctx, actor, file)
	if err != nil {
		return nil, err
	}
	if !i.IsDICOM() || !i.Ready() {
		return nil, ErrNoPreview
	}
	sums, err := s.summaries(ctx, i)
	if err != nil {
		return nil, err
	}
	v := &View{Info: i}
	first := 0
	for k, sum := range sums {
		v.Instances = append(v.Instances, Instance{Summary: sum, Frames: i.layout[k][1], First: first})
		first += i.layout[k][1]
	}
	all, err := s.ForBox(ctx, actor, i.Box)
	if err != nil {
		return nil, err
	}
	// The single files of the box, with their summaries, in upload order.
	type single struct {
		info Info
		sum  dicom.Summary
	}
	var singles []single
	var studies []Info
	for _, x := range sortedInfos(all) {
		switch {
		case !x.Ready():
		case x.Kind == Study:
			studies = append(studies, x)
		case x.Kind == DICOM && len(x.layout) == 1:
			xs := []dicom.Summary{sums[0]}
			if x.File != file {
				if xs, err = s.summaries(ctx, &x); errors.Is(err, box.ErrNotFound) {
					continue // deleted a moment ago
				} else if err != nil {
					return nil, err
				}
			}
			singles = append(singles, single{x, xs[0]})
		}
	}
	items := make([]dicom.Summary, len(singles))
	for k, x := range singles {
		items[k] = x.sum
	}
	for _, group := range dicom.OrderSeries(items) {
		ser := Series{}
		var stack []Slice
		start := -1
		for _, k := range group {
			x := singles[k]
			if x.info.File == file {
				start = len(stack)
			}
			ser.Files = append(ser.Files, x.info.File)
			ser.Frames += x.info.Frames
			for n := range x.info.Frames {
				stack = append(stack, Slice{File: x.info.File, Frame: n, Width: x.sum.Columns, Height: x.sum.Rows})
			}
		}
		head := singles[group[0]].sum
		ser.Modality, ser.Number, ser.Description = head.Modality, head.SeriesNumber, head.SeriesDescription
		if start >= 0 {
			v.Stack, v.Start, v.Current = stack, start, len(v.Series)
		}
		v.Series = append(v.Series, ser)
	}
	for _, x := range studies {
		if x.File == file {
			v.Current = len(v.Series)
			for _, in := range v.Instances {
				for n := range in.Frames {
					v.Stack = append(v.Stack, Slice{File: file, Frame: in.First + n, Width: in.Summary.Columns, Height: in.Summary.Rows})
				}
			}
		}
		v.Series = append(v.Series, Series{Files: []box.FileID{x.File}, Frames: x.Frames})
	}
	if i.Kind == Study {
		// A study's own series line tells what it holds.
		ser := &v.Series[v.Current]
		ser.Modality, ser.Number, ser.Description = sums[0].Modality, sums[0].SeriesNumber, sums[0].StudyDescription
	}
	return v, nil
}

// sortedInfos returns previews in the order their files were added.
func sortedInfos(m map[box.FileID]Info) []Info {
	out := make([]Info, 0, len(m))
	for _, x := range m {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b Info) int {
		if c := a.createdAt.Compare(b.createdAt); c != 0 {
			return c
		}
		return compareIDs(a.File, b.File)
	})
	return out
}

func compareIDs(a, b box.FileID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
