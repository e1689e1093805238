package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"maps"
	"slices"
	"testing"

	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/backup"
	"github.com/medbox-jp/medbox/internal/blob/blobtest"
	"github.com/medbox-jp/medbox/internal/featuretest"
)

// TestRoundTrip (R-X7): a backup restored into an empty instance, on the same
// engine or the other, gives back every row of every table, every stored object
// byte for byte, files that read as they were sent, members who sign in, and an
// audit chain that holds.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, from := range engines {
		for _, to := range engines {
			t.Run(from+" to "+to, func(t *testing.T) {
				src := featuretest.New(t, newDatabase(t, from), featuretest.Options{Env: chunks})
				s := seed(t, src)
				dest := blobtest.NewMemory()
				m, err := backup.Run(ctx, options(src, 7), dest)
				if err != nil {
					t.Fatalf("Run() = %v", err)
				}
				before, stored := rows(t, src.DB), objects(t, src.Blobs)
				for table, got := range m.Tables {
					if want := len(before[table]); got != want {
						t.Errorf("manifest: %d rows in %s, the database has %d", got, table, want)
					}
				}
				if m.Objects != len(stored) {
					t.Errorf("manifest: %d objects, the store has %d", m.Objects, len(stored))
				}

				dst := emptyWith(t, to, src.Config.MasterKeyFile, featuretest.Options{Env: chunks})
				if _, err := backup.Restore(ctx, options(dst, 0), dest, ""); err != nil {
					t.Fatalf("Restore() = %v", err)
				}
				after := rows(t, dst.DB)
				for _, table := range backup.Tables {
					if !slices.Equal(after[table], before[table]) {
						t.Errorf("table %s after the restore:\n got %q\nwant %q", table, after[table], before[table])
					}
				}
				if got := objects(t, dst.Blobs); !maps.EqualFunc(got, stored, bytes.Equal) {
					t.Errorf("restored objects: %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(stored)))
				}
				if _, err := dst.Audit.Verify(ctx); err != nil {
					t.Errorf("audit chain after the restore: %v", err)
				}
				for id, sum := range s.files {
					c, err := dst.Boxes.OpenContent(ctx, s.rcpt.ID, id)
					if err != nil {
						t.Fatalf("open file %s after the restore: %v", id, err)
					}
					b, err := io.ReadAll(c)
					c.Close()
					if err != nil || sha256.Sum256(b) != sum {
						t.Errorf("file %s after the restore: %v, content as sent %v", id, err, sha256.Sum256(b) == sum)
					}
				}
				if _, need := dst.SignIn(string(s.sender.Email), auth.Web, ""); need != auth.NeedNothing {
					t.Errorf("the sender signs in owing %q", need)
				}
				if _, need := dst.SignIn(string(s.rcpt.Email), auth.Web, ""); need != auth.NeedSecondFactor {
					t.Errorf("the recipient, who has an authenticator, signs in owing %q; want %q", need, auth.NeedSecondFactor)
				}
			})
		}
	}
}

// TestBackupHidesEverything (R-X7): no byte of a backup is readable — no file
// content, message or comment, no name or address, and no byte of the master
// key, raw or as written in its file.
func TestBackupHidesEverything(t *testing.T) {
	featuretest.Each(t, featuretest.Options{Env: chunks}, func(t *testing.T, w *featuretest.World) {
		s := seed(t, w)
		dest := blobtest.NewMemory()
		if _, err := backup.Run(context.Background(), options(w, 7), dest); err != nil {
			t.Fatal(err)
		}
		needles := append([][]byte{canary, []byte(s.sender.Name), []byte(s.rcpt.Name), []byte(s.sender.Email), []byte(s.rcpt.Email)},
			masterKeys(t, w.Config.MasterKeyFile)...)
		objs := objects(t, dest)
		if len(objs) < len(backup.Tables)+len(s.files) {
			t.Fatalf("the backup holds only %d objects", len(objs))
		}
		for k, b := range objs {
			for _, n := range needles {
				if bytes.Contains(b, n) {
					t.Errorf("backup object %s contains %q", k, n[:min(len(n), 12)])
				}
			}
		}
	})
}
