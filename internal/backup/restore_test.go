package backup_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/backup"
	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/featuretest"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// TestRestoreRefuses: a restore that cannot be whole does not begin — into an
// instance that holds data (which is left as it was), without the master key
// that sealed the backup, from a generation missing an object, or from nothing.
func TestRestoreRefuses(t *testing.T) {
	tests := []struct {
		name    string
		target  func(t *testing.T, src *featuretest.World, engine string) *featuretest.World
		spoil   func(t *testing.T, dest *blobtest.Memory, gen string)
		gen     string // "" for the newest
		wantErr func(error) bool
	}{
		{"into an instance that holds data", func(t *testing.T, src *featuretest.World, _ string) *featuretest.World { return src },
			nil, "", func(err error) bool { return errors.Is(err, backup.ErrNotEmpty) }},
		{"without the master key", func(t *testing.T, _ *featuretest.World, engine string) *featuretest.World {
			return emptyWith(t, engine, "", featuretest.Options{})
		}, nil, "", says("master key")},
		{"an object missing", nil, func(t *testing.T, dest *blobtest.Memory, gen string) {
			var first string
			dest.List(context.Background(), gen+"/blobs/", func(k string, _ int64) error {
				first = k
				return errors.New("enough")
			})
			if err := dest.Delete(context.Background(), first); err != nil {
				t.Fatal(err)
			}
		}, "", says("objects")},
		{"a table's rows changed", nil, func(t *testing.T, dest *blobtest.Memory, gen string) {
			if err := dest.Put(context.Background(), gen+"/db/members.jsonl", strings.NewReader("{}"), 2); err != nil {
				t.Fatal(err)
			}
		}, "", says("restore members")},
		{"no backup there", nil, func(t *testing.T, dest *blobtest.Memory, gen string) {
			dest.Delete(context.Background(), gen+"/manifest.json")
		}, "", says("no complete backup")},
		{"a generation that is not there", nil, nil, "20000101T000000000Z", says("manifest")},
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			src := featuretest.New(t, newDatabase(t, engine), featuretest.Options{Env: chunks})
			seed(t, src)
			// One empty instance with the master key serves every case: a refused
			// restore leaves it empty, as each case checks.
			empty := emptyWith(t, engine, src.Config.MasterKeyFile, featuretest.Options{})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					dest := blobtest.NewMemory()
					m, err := backup.Run(ctx, options(src.For(t), 7), dest)
					if err != nil {
						t.Fatal(err)
					}
					src.Clock.Advance(time.Second)
					if tt.spoil != nil {
						tt.spoil(t, dest, m.Name)
					}
					var dst *featuretest.World
					if tt.target != nil {
						dst = tt.target(t, src, engine)
					} else {
						dst = empty
					}
					before, stored := rows(t, dst.DB), objects(t, dst.Blobs)
					_, err = backup.Restore(ctx, options(dst, 0), dest, tt.gen)
					if err == nil || !tt.wantErr(err) {
						t.Fatalf("Restore() = %v", err)
					}
					after := rows(t, dst.DB)
					for _, table := range backup.Tables {
						if !slices.Equal(after[table], before[table]) {
							t.Errorf("table %s changed by a refused restore", table)
						}
					}
					if got := objects(t, dst.Blobs); tt.target != nil && len(got) != len(stored) {
						t.Errorf("a refused restore changed the store: %d objects, before %d", len(got), len(stored))
					}
				})
			}
		})
	}
}

func says(s string) func(error) bool {
	return func(err error) bool { return strings.Contains(err.Error(), s) }
}

// TestRestoredLaterExpiresWhatExpiredSince: restored on a clock past the box's
// 72 hours, the box, its files and comments are what the expiry sweep removes —
// as `medbox restore` does before anyone can reach them — and then their objects
// go too; the members stay.
func TestRestoredLaterExpiresWhatExpiredSince(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			src := featuretest.New(t, newDatabase(t, engine), featuretest.Options{Env: chunks})
			s := seed(t, src)
			dest := blobtest.NewMemory()
			if _, err := backup.Run(ctx, options(src, 7), dest); err != nil {
				t.Fatal(err)
			}
			dst := emptyWith(t, engine, src.Config.MasterKeyFile, featuretest.Options{Env: chunks})
			dst.Clock.Advance(src.Clock.Now().Add(73 * time.Hour).Sub(dst.Clock.Now()))
			if _, err := backup.Restore(ctx, options(dst, 0), dest, ""); err != nil {
				t.Fatal(err)
			}
			if err := dst.Boxes.ExpireDue(ctx, dst.Clock.Now()); err != nil {
				t.Fatal(err)
			}
			dst.RunJobs()
			for table, want := range map[string]int{"boxes": 0, "files": 0, "comments": 0, "participants": 0, "members": 3} { // the sender, the recipient and the administrator who approved them
				var n int
				if err := dst.DB.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != want {
					t.Errorf("%d rows in %s (%v), want %d", n, table, err, want)
				}
			}
			for id := range s.files {
				for k := range objects(t, dst.Blobs) {
					if strings.Contains(k, string(id)) {
						t.Errorf("object %s of an expired file is still stored", k)
					}
				}
			}
			if used, err := dst.Boxes.Usage(ctx, s.sender.ID); err != nil || used != 0 {
				t.Errorf("the sender's usage after expiry: %d (%v), want 0", used, err)
			}
		})
	}
}

// TestRestoreAgainAfterAFailure: a restore that failed part-way, here on a dump
// damaged in the destination, can simply be run again from a sound generation.
func TestRestoreAgainAfterAFailure(t *testing.T) {
	featuretest.Each(t, featuretest.Options{Env: chunks}, func(t *testing.T, src *featuretest.World) {
		ctx := context.Background()
		seed(t, src)
		dest := blobtest.NewMemory()
		sound, err := backup.Run(ctx, options(src, 7), dest)
		if err != nil {
			t.Fatal(err)
		}
		src.Clock.Advance(time.Minute)
		damaged, err := backup.Run(ctx, options(src, 7), dest)
		if err != nil {
			t.Fatal(err)
		}
		key := damaged.Name + "/db/files.jsonl" // late in the order: most tables are in by then
		b := dest.Bytes(key)
		b[len(b)/2] ^= 1
		if err := dest.Put(ctx, key, bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
		engine := map[bool]string{true: "postgres", false: "sqlite"}[src.DB.Dialect() == sqldb.Postgres]
		dst := emptyWith(t, engine, src.Config.MasterKeyFile, featuretest.Options{Env: chunks})
		if _, err := backup.Restore(ctx, options(dst, 0), dest, ""); err == nil {
			t.Fatal("Restore() of a damaged dump succeeded")
		}
		if _, err := backup.Restore(ctx, options(dst, 0), dest, sound.Name); err != nil {
			t.Fatalf("Restore() again, from the sound generation: %v", err)
		}
		if _, err := dst.Audit.Verify(ctx); err != nil {
			t.Errorf("audit chain: %v", err)
		}
	})
}
