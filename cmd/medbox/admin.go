package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/member"
)

const (
	createAdminSummary = "with --email: create an administrator (password on stdin); without: print a one-time setup link"
	approveSummary     = "approve a member waiting for review (--email)"
	sweepSummary       = "remove orphaned objects now and check every quota against a recount"
	verifySummary      = "check the audit log; reports the first event that does not hold"
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
	"verify": {verifySummary, auditVerify},
}

func auditCmd(ctx context.Context, args []string, p process) error {
	return dispatch(ctx, "audit", auditCommands, args, p)
}

func auditVerify(ctx context.Context, args []string, p process) error {
	cfg, _, err := load(config.Command{Name: "audit verify", Summary: verifySummary}, args, p, 0)
	if err != nil {
		return err
	}
	a, err := openForCommand(ctx, cfg, p)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.Audit.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(p.stdout, "audit log intact: %d events, every link verified\n", n)
	return nil
}
