package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/server"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// openTestCommand opens the instance p's environment names, as a command does.
func openTestCommand(t testing.TB, p process) (*server.Instance, error) {
	t.Helper()
	cfg, err := config.Load(nil, p.getenv)
	if err != nil {
		return nil, err
	}
	return openForCommand(t.Context(), cfg, p)
}

func TestCommandLineAdministration(t *testing.T) {
	data := t.TempDir()
	clk := clocktest.New()
	env := envOf(map[string]string{"MEDBOX_DATA": data})
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"admin", "create-admin"}, process{getenv: env, stdin: strings.NewReader(""), stdout: &out, now: clk.Now}); err != nil {
		t.Fatalf("create-admin without e-mail: %v", err)
	}
	if !strings.Contains(out.String(), "/setup?token=") {
		t.Errorf("create-admin without e-mail printed no setup link: %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"admin", "create-admin", "--email", "root@example.jp"}, process{getenv: env, stdin: strings.NewReader("short\n"), stdout: &out, now: clk.Now}); err == nil {
		t.Error("create-admin accepted a short password")
	}
	if err := run(ctx, []string{"admin", "create-admin", "--email", "root@example.jp"}, process{getenv: env, stdin: strings.NewReader("a long admin secret\n"), stdout: &out, now: clk.Now}); err != nil {
		t.Fatalf("create-admin: %v", err)
	}
	if strings.Contains(out.String(), "a long admin secret") || strings.Contains(out.String(), "root@example.jp") {
		t.Errorf("create-admin echoed secrets or the full address: %q", out.String())
	}

	// A member registers (through the library, as the web would) and the shell approves.
	cfgEnv := map[string]string{"MEDBOX_DATA": data}
	a, err := openTestCommand(t, process{getenv: envOf(cfgEnv), stdout: &out, now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Members.Register(ctx, member.Registration{Email: "cli@example.jp", Password: "correct horse battery",
		Name: "端末 太郎", NameKana: "たんまつ たろう", Profession: member.Nurse, LicenseNumber: "5555", Workplace: "南病院",
		Proof: bytes.NewReader(pngProof(t, "cli")), ProofName: "p.png"})
	if err != nil {
		t.Fatal(err)
	}
	// Until the address is confirmed, the shell may not approve either.
	if err := run(ctx, []string{"admin", "approve", "--email", "cli@example.jp"}, process{getenv: env, stdout: &out, now: clk.Now}); err == nil {
		t.Error("approve of an unconfirmed member succeeded")
	}
	if _, err := a.Jobs.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	m := readEML(t, newestFile(t, filepath.Join(data, "outbox")))
	link, _ := url.Parse(m.link(t, "/confirm?token="))
	if _, err := a.Members.Confirm(ctx, link.Query().Get("token"), ""); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if err := run(ctx, []string{"admin", "approve", "--email", "cli@example.jp"}, process{getenv: env, stdout: &out, now: clk.Now}); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if !strings.Contains(out.String(), "status active") {
		t.Errorf("approve output: %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "verify"}, process{getenv: env, stdout: &out, now: clk.Now}); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
	if !strings.Contains(out.String(), "intact") {
		t.Errorf("audit verify output: %q", out.String())
	}
	// Tampering is reported with the broken link.
	a, _ = openTestCommand(t, process{getenv: envOf(cfgEnv), stdout: &out, now: clk.Now})
	a.DB.ExecContext(ctx, `DROP TRIGGER audit_events_no_update`)
	a.DB.ExecContext(ctx, `UPDATE audit_events SET actor = 'forged' WHERE seq = 2`)
	a.Close()
	err = run(ctx, []string{"audit", "verify"}, process{getenv: env, stdout: &out, now: clk.Now})
	if err == nil || !strings.Contains(err.Error(), "event 2") {
		t.Errorf("audit verify after tampering: %v, want a broken link at event 2", err)
	}
}

// newestFile returns the most recently written file in dir.
func newestFile(t testing.TB, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no files in %s: %v", dir, err)
	}
	var best string
	var bestTime int64
	for _, e := range entries {
		info, _ := e.Info()
		if info.ModTime().UnixNano() >= bestTime {
			best, bestTime = filepath.Join(dir, e.Name()), info.ModTime().UnixNano()
		}
	}
	return best
}
