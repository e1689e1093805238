package dicom

import (
	"cmp"
	"slices"
)

// OrderSeries groups summaries into series and orders them, so that files of a
// study spread over several uploads (or listed by a DICOMDIR) scroll like a
// stack. It returns indices into items: one slice per series, series ordered by
// study, series number and series UID; instances ordered by instance number, then
// position along the slice normal, then slice location, then SOP instance UID,
// then input order. Studies come in date order. Items without a series UID form
// one series per study.
func OrderSeries(items []Summary) [][]int {
	type key struct{ study, series string }
	groups := map[key][]int{}
	var keys []key
	for i, s := range items {
		k := key{s.StudyInstanceUID, s.SeriesInstanceUID}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	first := func(k key) Summary { return items[groups[k][0]] }
	slices.SortStableFunc(keys, func(a, b key) int {
		sa, sb := first(a), first(b)
		return cmp.Or(
			cmp.Compare(sa.StudyDate, sb.StudyDate),
			cmp.Compare(sa.StudyTime, sb.StudyTime),
			cmp.Compare(a.study, b.study),
			cmp.Compare(sa.SeriesNumber, sb.SeriesNumber),
			cmp.Compare(a.series, b.series),
		)
	})
	out := make([][]int, 0, len(keys))
	for _, k := range keys {
		idx := groups[k]
		normal := sliceNormal(items[idx[0]].ImageOrientation)
		slices.SortStableFunc(idx, func(a, b int) int {
			sa, sb := items[a], items[b]
			c := cmp.Compare(sa.InstanceNumber, sb.InstanceNumber)
			if c == 0 && normal != nil && len(sa.ImagePosition) == 3 && len(sb.ImagePosition) == 3 {
				c = cmp.Compare(dot(normal, sa.ImagePosition), dot(normal, sb.ImagePosition))
			}
			if c == 0 && sa.SliceLocation != nil && sb.SliceLocation != nil {
				c = cmp.Compare(*sa.SliceLocation, *sb.SliceLocation)
			}
			return cmp.Or(c, cmp.Compare(sa.SOPInstanceUID, sb.SOPInstanceUID))
		})
		out = append(out, idx)
	}
	return out
}

// sliceNormal returns the cross product of the row and column directions.
func sliceNormal(o []float64) []float64 {
	if len(o) != 6 {
		return nil
	}
	return []float64{
		o[1]*o[5] - o[2]*o[4],
		o[2]*o[3] - o[0]*o[5],
		o[0]*o[4] - o[1]*o[3],
	}
}

func dot(a, b []float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
