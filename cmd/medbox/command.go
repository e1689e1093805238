package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/server"
)

// load reads a command's own flags and the instance's (every flag of serve and
// its MEDBOX_* variable), in any order among the positional arguments, and
// checks how many of those there are. -h or --help prints the command's usage
// and ends it with flag.ErrHelp, which run turns into success.
func load(cmd config.Command, args []string, p process, positional int) (config.Config, []string, error) {
	cfg, rest, err := config.LoadCommand(cmd, args, p.getenv, p.stdout)
	if err != nil {
		return cfg, nil, err
	}
	if len(rest) != positional {
		want := "no arguments"
		if cmd.Args != "" {
			want = cmd.Args
		}
		return cfg, nil, fmt.Errorf("medbox %s: want %s, got %q (medbox %s --help)", cmd.Name, want, rest, cmd.Name)
	}
	return cfg, rest, nil
}

// openForCommand wires an instance of cfg without serving it. Its mails link to
// the base URL the service recorded, unless this command was given one.
func openForCommand(ctx context.Context, cfg config.Config, p process) (*server.Instance, error) {
	return server.New(ctx, cfg, server.NewLogger(io.Discard, "error"), server.Options{Now: p.now, Command: true})
}

// subcommand is one of a command's subcommands.
type subcommand struct {
	summary string
	run     func(ctx context.Context, args []string, p process) error
}

// dispatch runs the subcommand args[0] of name, or prints the list of them for
// -h, --help or help (and, as an error, for nothing or an unknown one).
func dispatch(ctx context.Context, name string, subs map[string]subcommand, args []string, p process) error {
	list := func() {
		fmt.Fprintf(p.stdout, "usage: medbox %s <subcommand> [flags]   (medbox %s <subcommand> --help for its flags)\n\nsubcommands:\n", name, name)
		var names []string
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(p.stdout, "  %-14s %s\n", n, subs[n].summary)
		}
	}
	if len(args) == 0 {
		list()
		return fmt.Errorf("%s: no subcommand given", name)
	}
	switch args[0] {
	case "-h", "--help", "help":
		list()
		return nil
	}
	sub, ok := subs[args[0]]
	if !ok {
		list()
		return fmt.Errorf("%s: unknown subcommand %q", name, args[0])
	}
	return sub.run(ctx, args[1:], p)
}

// helped reports whether err only says that usage was printed.
func helped(err error) bool { return errors.Is(err, flag.ErrHelp) }

// flags is a shorthand for a command's own flags.
func flags(fn func(fs *flag.FlagSet)) func(fs *flag.FlagSet) { return fn }
