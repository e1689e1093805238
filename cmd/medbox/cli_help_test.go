package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/clocktest"
)

// TestEveryCommandExplainsItself: every command and subcommand answers -h and
// --help with its usage — every flag, with its MEDBOX_* variable and default —
// and success; the instance's flags are the same for every command.
func TestEveryCommandExplainsItself(t *testing.T) {
	commands := [][]string{{}, {"serve"}, {"admin"}, {"admin", "create-admin"}, {"admin", "approve"}, {"admin", "sweep"},
		{"audit"}, {"audit", "verify"}, {"keys"}, {"keys", "rotate"}, {"backup"}, {"restore"}}
	for _, cmd := range commands {
		for _, h := range []string{"-h", "--help"} {
			var out bytes.Buffer
			args := append(append([]string{}, cmd...), h)
			if err := run(t.Context(), args, process{getenv: envOf(nil), stdout: &out, now: clocktest.New().Now}); err != nil {
				t.Errorf("medbox %s: %v, want the usage and success", strings.Join(args, " "), err)
			}
			text := out.String()
			if !strings.HasPrefix(text, "usage: medbox") {
				t.Errorf("medbox %s printed %q, want a usage", strings.Join(args, " "), text)
			}
			if len(cmd) == 2 || (len(cmd) == 1 && (cmd[0] == "serve" || cmd[0] == "backup" || cmd[0] == "restore")) {
				for _, want := range []string{"--data", "MEDBOX_DATA", "default data", "--base-url", "MEDBOX_BASE_URL", "--upload-origins",
					"MEDBOX_CHUNK_SIZE", "default 2097152", "--session-idle", "default 30m0s"} {
					if !strings.Contains(text, want) {
						t.Errorf("medbox %s: the usage lacks %q", strings.Join(args, " "), want)
					}
				}
			}
		}
	}
	var out bytes.Buffer
	run(t.Context(), []string{"backup", "--help"}, process{getenv: envOf(nil), stdout: &out, now: clocktest.New().Now})
	if !strings.Contains(out.String(), "usage: medbox backup DEST") || !strings.Contains(out.String(), "--keep") || !strings.Contains(out.String(), "default 7") {
		t.Errorf("backup --help: %q", out.String())
	}
}

// TestCommandsTakeTheInstanceFlags: a command takes every flag of serve, before or
// after its own and its arguments, and an unknown flag or a missing argument is an
// error that says where to look.
func TestCommandsTakeTheInstanceFlags(t *testing.T) {
	data := t.TempDir()
	clk := clocktest.New()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"admin", "create-admin", "--data", data, "--base-url", "https://medbox.example.jp"},
		process{getenv: envOf(nil), stdout: &out, now: clk.Now}); err != nil {
		t.Fatalf("admin create-admin --data: %v", err)
	}
	if !strings.Contains(out.String(), "https://medbox.example.jp/setup?token=") {
		t.Errorf("the setup link does not use --base-url: %q", out.String())
	}
	dest := t.TempDir()
	for _, args := range [][]string{{"backup", "--data", data, dest, "--keep", "3"}, {"backup", dest, "--data", data}} {
		out.Reset()
		if err := run(t.Context(), args, process{getenv: envOf(nil), stdout: &out, now: clk.Now}); err != nil {
			t.Errorf("medbox %s: %v", strings.Join(args, " "), err)
		}
		clk.Advance(60_000_000_000) // a minute: each generation has its own name
	}
	for _, bad := range [][]string{{"backup", "--data", data}, {"admin", "approve", "--no-such-flag"}, {"keys", "rotate", "extra"}} {
		err := run(t.Context(), bad, process{getenv: envOf(nil), stdout: &out, now: clk.Now})
		if err == nil || !strings.Contains(err.Error(), "--help") {
			t.Errorf("medbox %s: %v, want an error that points to --help", strings.Join(bad, " "), err)
		}
	}
}

// TestCommandMailsLinkWhereTheServiceIs: a command run without a base URL of its
// own (an administrator approving from the shell while the service listens on
// another port) links its mails to the base URL the service recorded.
func TestCommandMailsLinkWhereTheServiceIs(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	in.admin() // the service has an administrator, as when members register
	c := in.client()
	c.registerAPI(newMember{Email: "shell@example.jp"})
	in.confirmFromMail("shell@example.jp")
	var out bytes.Buffer
	if err := run(t.Context(), []string{"admin", "approve", "--email", "shell@example.jp"},
		process{getenv: envOf(map[string]string{"MEDBOX_DATA": in.data}), stdout: &out, now: in.clock.Now}); err != nil {
		t.Fatalf("admin approve: %v\n%s", err, out.String())
	}
	m := in.lastMailTo("shell@example.jp", "/login")
	if link := m.link(t, "/login"); !strings.HasPrefix(link, in.url+"/") {
		t.Errorf("the approval mail links to %s, want the service's %s", link, in.url)
	}
}

// TestHelpExitsZero runs the real binary: asking for help is a success.
func TestHelpExitsZero(t *testing.T) {
	bin := medboxBinary(t)
	for _, args := range [][]string{{"serve", "--help"}, {"admin", "--help"}, {"backup", "-h"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || !bytes.HasPrefix(out, []byte("usage: medbox")) {
			t.Errorf("medbox %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
