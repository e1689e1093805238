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
	"github.com/medbox-jp/medbox/internal/server"
)

// openForCommand loads configuration from the environment (and leftover flags)
// and wires an instance without serving it.
func openForCommand(ctx context.Context, args []string, p process) (*server.Instance, error) {
	cfg, err := config.Load(args, p.getenv)
	if err != nil {
		return nil, err
	}
	return server.New(ctx, cfg, server.NewLogger(io.Discard, "error"), server.Options{Now: p.now})
}

func admin(ctx context.Context, args []string, p process) error {
	stdin, stdout := p.stdin, p.stdout
	if len(args) == 0 {
		return errors.New("admin: want create-admin or approve")
	}
	fs := flag.NewFlagSet("medbox admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "e-mail address")
	name := fs.String("name", "管理者", "administrator's name")
	split := len(args)
	for i, a := range args[1:] { // our flags first, then configuration flags after "--"
		if a == "--" {
			split = i + 1
			break
		}
	}
	if err := fs.Parse(args[1:split]); err != nil {
		return fmt.Errorf("admin %s: %w", args[0], err)
	}
	rest := []string{}
	if split < len(args) {
		rest = args[split+1:]
	}
	a, err := openForCommand(ctx, rest, p)
	if err != nil {
		return err
	}
	defer a.Close()
	switch args[0] {
	case "create-admin":
		if *email == "" {
			link, err := a.Members.SetupLink(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "One-time setup link for the first administrator (valid 24 h):\n%s\n", link)
			return nil
		}
		password, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		password = strings.TrimRight(password, "\r\n")
		m, err := a.Members.CreateAdmin(ctx, member.NewAdmin{Email: *email, Password: password, Name: *name})
		var fe member.FieldErrors
		if errors.As(err, &fe) {
			return fmt.Errorf("create administrator: %v", fe)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "administrator %s created (id %s)\n", member.MaskEmail(string(m.Email)), m.ID)
		return nil
	case "approve":
		if *email == "" {
			return errors.New("admin approve: --email is required")
		}
		m, err := a.Members.ApproveByEmail(ctx, *email)
		if err != nil {
			return fmt.Errorf("approve %s: %w", member.MaskEmail(*email), err)
		}
		// Deliver the approval mail now rather than at the next serve.
		if _, err := a.Jobs.RunDue(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "member %s approved (id %s, status %s)\n", member.MaskEmail(string(m.Email)), m.ID, m.Status)
		return nil
	case "sweep": // maintenance: see sweep.go and docs/deploy.md
		return a.Sweep(ctx, stdout)
	default:
		return fmt.Errorf("admin: unknown command %q", args[0])
	}
}

// auditCmd runs `medbox audit verify [--anchor N:MAC]…` and `medbox audit checkpoint`.
func auditCmd(ctx context.Context, args []string, p process) error {
	stdout := p.stdout
	if len(args) == 0 || (args[0] != "verify" && args[0] != "checkpoint") {
		return errors.New("audit: want verify or checkpoint")
	}
	pins, rest, err := anchorFlags(args[1:])
	if err != nil {
		return fmt.Errorf("audit %s: %w", args[0], err)
	}
	a, err := openForCommand(ctx, rest, p)
	if err != nil {
		return err
	}
	defer a.Close()
	if args[0] == "checkpoint" {
		if err := a.Audit.Checkpoint(ctx, a.Now()); err != nil {
			return err
		}
		r, err := a.Audit.Check(ctx)
		fmt.Fprintf(stdout, "audit log checkpoint %d at %s\n", r.Checkpoint, r.CheckpointAt.Format(time.RFC3339))
		return err
	}
	r, err := a.Audit.Check(ctx, pins...)
	var be *audit.BrokenError
	if err != nil && !errors.As(err, &be) {
		return err
	}
	printReport(stdout, r, len(pins))
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

// anchorFlags takes the --anchor N:MAC flags out of args and leaves the rest
// (configuration flags) as they were.
func anchorFlags(args []string) (pins []audit.Pin, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		v, ok := strings.CutPrefix(a, "--anchor=")
		if !ok && (a == "--anchor" || a == "-anchor") {
			if i+1 == len(args) {
				return nil, nil, errors.New("--anchor wants N:MAC")
			}
			v, ok = args[i+1], true
			i++
		}
		if !ok {
			rest = append(rest, a)
			continue
		}
		pin, err := audit.ParsePin(v)
		if err != nil {
			return nil, nil, err
		}
		pins = append(pins, pin)
	}
	return pins, rest, nil
}
