// Command medbox runs MedBox: `medbox serve` starts an instance, and the other
// subcommands administer one from the shell.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/medbox-jp/medbox/internal/dicom"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], process{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, now: processClock(os.Getenv)}); err != nil && !helped(err) {
		fmt.Fprintln(os.Stderr, "medbox:", err)
		os.Exit(1)
	}
}

const usage = `usage: medbox <command> [flags]   (medbox <command> --help: its flags, each with its MEDBOX_* variable)

Every command takes the same flags and MEDBOX_* variables as serve.

commands:
  serve                          run the service (flags and MEDBOX_* variables: see README)
  admin create-admin [--email E --name N]
                                 with --email: create an administrator, password read from stdin;
                                 without: print a one-time setup URL for the first administrator
  admin approve --email E        approve a member waiting for review
  admin sweep                    remove orphaned objects now and check every quota against a recount
  audit verify [--anchor N:MAC]… check every chain of the audit log, its checkpoints and the newest
                                 anchor in the blob store (and checkpoints logged as N:MAC); lists
                                 every broken link, earliest first
  audit checkpoint               checkpoint and anchor the audit log now (the service does it each minute)
  backup DEST [--keep N]         consistent, encrypted backup to a directory or s3://BUCKET?endpoint=…,
                                 as a new generation; older generations beyond N (7) are removed
  restore SRC [--generation G]   restore the newest (or G) generation into an empty instance
  deidentify [flags] IN... OUTDIR
                                 de-identified copies of DICOM files (PS3.15 basic profile); -h for flags
  keys rotate                    make a new master key current and rewrap every data key under it
                                 (the service may keep running; the old key is then no longer needed)
`

// process is what a command may take from the process it runs in: the
// environment, the standard streams and the clock. Only main fills it from the
// operating system; tests hand in their own, with their moved clock.
type process struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	now    func() time.Time
}

// run is the whole program; only it reads the environment, so tests call it.
func run(ctx context.Context, args []string, p process) error {
	if p.now == nil {
		p.now = time.Now
	}
	if len(args) == 0 {
		fmt.Fprint(p.stdout, usage)
		return fmt.Errorf("no command given")
	}
	err := dispatchTop(ctx, args, p)
	if helped(err) {
		return nil // the usage was asked for, and printed
	}
	return err
}

func dispatchTop(ctx context.Context, args []string, p process) error {
	stdin, stdout := p.stdin, p.stdout
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, p)
	case "admin":
		return admin(ctx, rest, p)
	case "audit":
		return auditCmd(ctx, rest, p)
	case "keys":
		return keysCmd(ctx, rest, p)
	case "backup":
		return backupCmd(ctx, rest, p)
	case "restore":
		return restoreCmd(ctx, rest, p)
	case "deidentify":
		return deidentifyCmd(rest, stdout)
	case "dicom-worker":
		// Hidden: the guarded child process that parses untrusted DICOM (see
		// dicom.Guard); it reads its request on stdin and answers on stdout.
		return dicom.WorkerMain(ctx, stdin, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stdout, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
