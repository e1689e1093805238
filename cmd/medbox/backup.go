package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/medbox-jp/medbox/internal/backup"
	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/blob/disk"
	"github.com/medbox-jp/medbox/internal/blob/s3"
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
	stdout := p.stdout
	fs := flag.NewFlagSet("medbox backup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	keep := fs.Int("keep", 7, "generations to keep")
	dest, rest, err := positional(fs, args, "backup DEST")
	if err != nil {
		return err
	}
	a, err := openForCommand(ctx, rest, p)
	if err != nil {
		return err
	}
	defer a.Close()
	to, err := openDest(ctx, dest)
	if err != nil {
		return err
	}
	m, err := backup.Run(ctx, backup.Options{DB: a.DB, Blobs: a.Blobs, Master: a.Master, Now: a.Now, Keep: *keep, Log: a.Log}, to)
	if err != nil {
		return err
	}
	rows := 0
	for _, n := range m.Tables {
		rows += n
	}
	fmt.Fprintf(stdout, "backup %s written to %s: %d rows, %d objects (%d bytes), sealed under master key %s; keeping %d generations\n",
		m.Name, dest, rows, m.Objects, m.Bytes, m.Key.MasterID, *keep)
	return nil
}

// restoreCmd runs `medbox restore SRC [--generation NAME]` into the (empty)
// instance that the configuration names.
func restoreCmd(ctx context.Context, args []string, p process) error {
	stdout := p.stdout
	fs := flag.NewFlagSet("medbox restore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	gen := fs.String("generation", "", "generation to restore (default: the newest)")
	src, rest, err := positional(fs, args, "restore SRC")
	if err != nil {
		return err
	}
	a, err := openForCommand(ctx, rest, p)
	if err != nil {
		return err
	}
	defer a.Close()
	from, err := openDest(ctx, src)
	if err != nil {
		return err
	}
	m, err := backup.Restore(ctx, backup.Options{DB: a.DB, Blobs: a.Blobs, Master: a.Master, Now: a.Now, Log: a.Log}, from, *gen)
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
	fmt.Fprintf(stdout, "restored backup %s (made %s); expired boxes swept\n", m.Name, m.CreatedAt.Format("2006-01-02 15:04 MST"))
	return nil
}

// positional takes "WHERE [flags] [-- config flags]": the first argument, the
// command's flags, and what follows "--".
func positional(fs *flag.FlagSet, args []string, usage string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, errors.New("usage: medbox " + usage)
	}
	where, args := args[0], args[1:]
	var rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	if err := fs.Parse(args); err != nil {
		return "", nil, fmt.Errorf("%s: %w", usage, err)
	}
	return where, rest, nil
}
