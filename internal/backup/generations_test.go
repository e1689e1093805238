package backup_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/backup"
	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/featuretest"
)

// generation is the name of a generation made at t.
func generation(t time.Time) string {
	return strings.ReplaceAll(t.UTC().Format("20060102T150405.000Z"), ".", "")
}

// TestGenerations (R-X7): each backup is a generation of its own, found only
// once complete; the oldest beyond --keep go, and so does what an interrupted
// backup left behind, but never a backup still being written; and a generation
// is never overwritten, even when the clock is set back.
func TestGenerations(t *testing.T) {
	type run struct {
		at      time.Duration // after the test began
		wantErr string
	}
	tests := []struct {
		name  string
		keep  int
		stray []time.Duration // objects of generations without a manifest, made at these times
		runs  []run
		want  []time.Duration // the generations there in the end, by time
		gone  []time.Duration // stray objects removed
	}{
		{"keep two of three", 2, nil, []run{{0, ""}, {time.Minute, ""}, {2 * time.Minute, ""}},
			[]time.Duration{time.Minute, 2 * time.Minute}, nil},
		{"keep more than there are", 7, nil, []run{{0, ""}, {time.Minute, ""}},
			[]time.Duration{0, time.Minute}, nil},
		{"the clock set back onto a generation", 7, nil, []run{{0, ""}, {time.Minute, ""}, {time.Minute, "already exists"}},
			[]time.Duration{0, time.Minute}, nil},
		{"an interrupted backup is removed by the next", 7, []time.Duration{-time.Hour}, []run{{0, ""}},
			[]time.Duration{0}, []time.Duration{-time.Hour}},
		{"a backup still being written is left alone", 7, []time.Duration{time.Hour}, []run{{0, ""}},
			[]time.Duration{0}, nil},
	}
	featuretest.Each(t, featuretest.Options{}, func(t *testing.T, w *featuretest.World) {
		ctx := context.Background()
		w.Member(featuretest.NewMember{})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				start := w.Clock.Now().Add(time.Hour) // past every earlier case
				dest := blobtest.NewMemory()
				for _, d := range tt.stray {
					if err := dest.Put(ctx, generation(start.Add(d))+"/db/members.jsonl", strings.NewReader("partial"), 7); err != nil {
						t.Fatal(err)
					}
				}
				manifests := map[string][]byte{}
				for _, r := range tt.runs {
					clock := func() time.Time { return start.Add(r.at) }
					o := options(w, tt.keep)
					o.Now = clock
					_, err := backup.Run(ctx, o, dest)
					switch {
					case r.wantErr == "" && err != nil:
						t.Fatalf("Run() at %v = %v", r.at, err)
					case r.wantErr != "" && (err == nil || !strings.Contains(err.Error(), r.wantErr)):
						t.Errorf("Run() at %v = %v, want an error saying %q", r.at, err, r.wantErr)
					case err == nil:
						name := generation(clock())
						manifests[name] = dest.Bytes(name + "/manifest.json")
					}
				}
				w.Clock.Advance(2 * time.Hour)
				gens, err := backup.Generations(ctx, dest)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, d := range tt.want {
					want = append(want, generation(start.Add(d)))
				}
				if !slices.Equal(gens, want) {
					t.Errorf("Generations() = %q, want %q", gens, want)
				}
				for _, g := range gens {
					if m := dest.Bytes(g + "/manifest.json"); !bytes.Equal(m, manifests[g]) {
						t.Errorf("generation %s's manifest changed:\n%s\nwas\n%s", g, m, manifests[g])
					}
				}
				for _, d := range tt.stray {
					key := generation(start.Add(d)) + "/db/members.jsonl"
					if removed := dest.Bytes(key) == nil; removed != slices.Contains(tt.gone, d) {
						t.Errorf("stray object %s removed: %v, want %v", key, removed, !removed)
					}
				}
				// Nothing is left of a removed generation.
				keys := slices.Sorted(maps.Keys(objects(t, dest)))
				for _, k := range keys {
					if g, _, _ := strings.Cut(k, "/"); !slices.Contains(gens, g) && !strayAt(tt.stray, start, g) {
						t.Errorf("object %s of no generation left behind", k)
					}
				}
			})
		}
	})
}

func strayAt(stray []time.Duration, start time.Time, g string) bool {
	for _, d := range stray {
		if generation(start.Add(d)) == g {
			return true
		}
	}
	return false
}
