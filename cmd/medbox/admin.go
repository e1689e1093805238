package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/member"
)

const (
	createAdminSummary = "with --email: create an administrator (password on stdin); without: print a one-time setup link"
	approveSummary     = "approve a member waiting for review (--email)"
	sweepSummary       = "remove orphaned objects now and check every quota against a recount"
	verifySummary      = "check the audit log against its keyed chains, checkpoints and anchors; lists every problem, earliest first"
	checkpointSummary  = "record an audit checkpoint now and anchor it in the blob store and the log (the service does so every minute)"
)

var adminCommands = map[string]subcommand{
	"create-admin": {createAdminSummary, createAdmin},
	"approve":      {approveSummary, approveMember},
	"sweep":        {sweepSummary, sweep},
}

func admin(ctx context.Context, args []string, p process) error {
	return dispatch(ctx, "admin", adminCommands, args, p)
}

func createAdmin(ctx context.Context, args []string, p process) error {
	var email, name string
	cfg, _, err := load(config.Command{Name: "admin create-admin", Summary: createAdminSummary,
		Flags: flags(func(fs *flag.FlagSet) {
			fs.StringVar(&email, "email", "", "the new administrator's e-mail address")
			fs.StringVar(&name, "name", "管理者", "the new administrator's name")
		})}, args, p, 0)
	if err != nil {
		return err
	}
	a, err := openForCommand(ctx, cfg, p)
	if err != nil {
		return err
	}
	defer a.Close()
	if email == "" {
		link, err := a.Members.SetupLink(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(p.stdout, "One-time setup link for the first administrator (valid 24 h):\n%s\n", link)
		return nil
	}
	password, err := bufio.NewReader(p.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password from stdin: %w", err)
	}
	password = strings.TrimRight(password, "\r\n")
	m, err := a.Members.CreateAdmin(ctx, member.NewAdmin{Email: email, Password: password, Name: name})
	var fe member.FieldErrors
	if errors.As(err, &fe) {
		return fmt.Errorf("create administrator: %v", fe)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "administrator %s created (id %s)\n", member.MaskEmail(string(m.Email)), m.ID)
	return nil
}

func approveMember(ctx context.Context, args []string, p process) error {
	var email string
	cfg, _, err := load(config.Command{Name: "admin approve", Summary: approveSummary,
		Flags: flags(func(fs *flag.FlagSet) { fs.StringVar(&email, "email", "", "the member's e-mail address (required)") })}, args, p, 0)
	if err != nil {
		return err
	}
	if email == "" {
		return errors.New("admin approve: --email is required")
	}
	a, err := openForCommand(ctx, cfg, p)
	if err != nil {
		return err
	}
	defer a.Close()
	m, err := a.Members.ApproveByEmail(ctx, email)
	if err != nil {
		return fmt.Errorf("approve %s: %w", member.MaskEmail(email), err)
	}
	// Deliver the approval mail now rather than at the next serve.
	if _, err := a.Jobs.RunDue(ctx); err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "member %s approved (id %s, status %s)\n", member.MaskEmail(string(m.Email)), m.ID, m.Status)
	return nil
}

// sweep is a maintenance command (docs/deploy.md): see server.Instance.Sweep.
func sweep(ctx context.Context, args []string, p process) error {
	cfg, _, err := load(config.Command{Name: "admin sweep", Summary: sweepSummary}, args, p, 0)
	if err != nil {
		return err
	}
	a, err := openForCommand(ctx, cfg, p)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Sweep(ctx, p.stdout)
}

var auditCommands = map[string]subcommand{
	"verify":     {verifySummary, auditVerify},
	"checkpoint": {checkpointSummary, auditCheckpoint},
}

// auditCmd runs `medbox audit verify [--anchor N:MAC]…` and `medbox audit checkpoint`.
func auditCmd(ctx context.Context, args []string, p process) error {
	return dispatch(ctx, "audit", auditCommands, args, p)
}

func auditVerify(ctx context.Context, args []string, p process) error {
	var pins []audit.Pin
	cfg, _, err := load(config.Command{Name: "audit verify", Summary: verifySummary,
		Flags: flags(func(fs *flag.FlagSet) {
			fs.Func("anchor", "N:MAC of a checkpoint as the instance log recorded it (repeatable)", func(v string) error {
				pin, err := audit.ParsePin(v)
				if err == nil {
					pins = append(pins, pin)
				}
				return err
			})
		})}, args, p, 0)
	if err != nil {
		return err
	}
	a, err := openForCommand(ctx, cfg, p)
	if err != nil {
		return err
	}
	defer a.Close()
	r, err := a.Audit.Check(ctx, pins...)
	var be *audit.BrokenError
	if err != nil && !errors.As(err, &be) {
		return err
	}
	printReport(p.stdout, r, len(pins))
	return err
}

func auditCheckpoint(ctx context.Context, args []string, p process) error {
	cfg, _, err := load(config.Command{Name: "audit checkpoint", Summary: checkpointSummary}, args, p, 0)
	if err != nil {
		return err
	}
	a, err := openForCommand(ctx, cfg, p)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Audit.Checkpoint(ctx, a.Now()); err != nil {
		return err
	}
	r, err := a.Audit.Check(ctx)
	fmt.Fprintf(p.stdout, "audit log checkpoint %d at %s\n", r.Checkpoint, r.CheckpointAt.Format(time.RFC3339))
	return err
}

// printReport writes what Check found, as an auditor reads it.
func printReport(w io.Writer, r audit.Report, pins int) {
	if len(r.Problems) == 0 {
		fmt.Fprintf(w, "audit log intact: %d events, every link verified\n", r.Events)
	} else {
		fmt.Fprintf(w, "audit log BROKEN: %d events checked, %s, earliest first:\n", r.Events, count(len(r.Problems), "problem"))
		for i, p := range r.Problems {
			if i == 20 {
				fmt.Fprintf(w, "  … and %d more\n", len(r.Problems)-i)
				break
			}
			fmt.Fprintf(w, "  %v\n", p)
		}
	}
	switch {
	case r.Checkpoint == 0:
		fmt.Fprintln(w, "no checkpoint yet: a truncation could not be seen")
	default:
		fmt.Fprintf(w, "newest checkpoint: %d at %s\n", r.Checkpoint, r.CheckpointAt.Format(time.RFC3339))
	}
	if r.Anchor > 0 {
		fmt.Fprintf(w, "newest anchor in the blob store: checkpoint %d at %s; %s since\n", r.Anchor, r.AnchorAt.Format(time.RFC3339), count(int(r.Unanchored), "event"))
	} else {
		fmt.Fprintln(w, "no anchor in the blob store")
	}
	if pins > 0 {
		fmt.Fprintf(w, "%s compared with the MACs given by --anchor\n", count(pins, "checkpoint"))
	}
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
