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

func auditCmd(ctx context.Context, args []string, p process) error {
	stdout := p.stdout
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("audit: want verify")
	}
	a, err := openForCommand(ctx, args[1:], p)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.Audit.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit log intact: %d events, every link verified\n", n)
	return nil
}
