package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/medbox-jp/medbox/internal/backup"
	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/blob/disk"
	"github.com/medbox-jp/medbox/internal/blob/s3"
	"github.com/medbox-jp/medbox/internal/config"
)

// openDest opens a backup location: a directory, or s3://BUCKET?endpoint=… (a
// bucket of its own).
func openDest(ctx context.Context, where string) (blob.Store, error) {
	if strings.HasPrefix(where, "s3://") {
		return s3.Open(ctx, where)
	}
	if err := os.MkdirAll(where, 0o700); err != nil { // #nosec G703 -- the operator's own command-line argument
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	return disk.Open(where)
}

// backupCmd runs `medbox backup DEST [--keep N]`.
func backupCmd(ctx context.Context, args []string, p process) error {
	keep := 7
	cfg, pos, err := load(config.Command{Name: "backup", Args: "DEST",
		Summary: "encrypted backup (database and sealed objects, never the master key) to a directory or s3://BUCKET?endpoint=…, as a new generation",
		Flags:   flags(func(fs *flag.FlagSet) { fs.IntVar(&keep, "keep", keep, "generations to keep") })}, args, p, 1)
	if err != nil {
		return err
	}
	a, err := openForCommand(ctx, cfg, p)
	if err != nil {
		return err
	}
	defer a.Close()
	dest := pos[0]
	to, err := openDest(ctx, dest)
	if err != nil {
		return err
	}
	m, err := backup.Run(ctx, backup.Options{DB: a.DB, Blobs: a.Blobs, Master: a.Master, Now: a.Now, Keep: keep, Log: a.Log}, to)
	if err != nil {
		return err
	}
	rows := 0
	for _, n := range m.Tables {
		rows += n
	}
	fmt.Fprintf(p.stdout, "backup %s written to %s: %d rows, %d objects (%d bytes), sealed under master key %s; keeping %d generations\n",
		m.Name, dest, rows, m.Objects, m.Bytes, m.Key.MasterID, keep)
	return nil
}

// restoreCmd runs `medbox restore SRC [--generation NAME]` into the (empty)
// instance that the configuration names.
func restoreCmd(ctx context.Context, args []string, p process) error {
	var gen string
	cfg, pos, err := load(config.Command{Name: "restore", Args: "SRC",
		Summary: "restore the newest (or --generation) generation of a backup into an empty instance",
		Flags: flags(func(fs *flag.FlagSet) {
			fs.StringVar(&gen, "generation", "", "generation to restore (default: the newest)")
		})}, args, p, 1)
	if err != nil {
		return err
	}
	a, err := openForCommand(ctx, cfg, p)
	if err != nil {
		return err
	}
	defer a.Close()
	from, err := openDest(ctx, pos[0])
	if err != nil {
		return err
	}
	m, err := backup.Restore(ctx, backup.Options{DB: a.DB, Blobs: a.Blobs, Master: a.Master, Now: a.Now, Log: a.Log}, from, gen)
	if err != nil {
		return err
	}
	// The log says it was restored: events after the backup's snapshot are not
	// in it, and anchors of them in the blob store are set aside
	// (docs/security-checks.md).
	if err := a.Audit.Restored(ctx, m.Name); err != nil {
		return err
	}
	// What expired since the backup goes before anyone can see it.
	if err := a.Boxes.ExpireDue(ctx, a.Now()); err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "restored backup %s (made %s); expired boxes swept\n", m.Name, m.CreatedAt.Format("2006-01-02 15:04 MST"))
	return nil
}
