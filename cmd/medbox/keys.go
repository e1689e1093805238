package main

import (
	"context"
	"fmt"

	"github.com/medbox-jp/medbox/internal/config"
)

// keysCmd runs `medbox keys rotate`: a new master key becomes current, every data
// key is rewrapped under it in small transactions while the service keeps running,
// and the old master key leaves the key file (R-X3). Running instances notice the
// new key file by themselves.
const rotateSummary = "make a new master key current and rewrap every data key under it, while the service runs"

var keysCommands = map[string]subcommand{
	"rotate": {rotateSummary, rotateKeys},
}

func keysCmd(ctx context.Context, args []string, p process) error {
	return dispatch(ctx, "keys", keysCommands, args, p)
}

func rotateKeys(ctx context.Context, args []string, p process) error {
	cfg, _, err := load(config.Command{Name: "keys rotate", Summary: rotateSummary}, args, p, 0)
	if err != nil {
		return err
	}
	a, err := openForCommand(ctx, cfg, p)
	if err != nil {
		return err
	}
	defer a.Close()
	before := a.Master.CurrentID()
	n, err := a.Master.Rotate(ctx, a.DB)
	if err != nil {
		return fmt.Errorf("rotate master key: %w", err)
	}
	fmt.Fprintf(p.stdout, "master key rotated: %s → %s; %d data keys rewrapped; the old key is no longer in %s\n",
		before, a.Master.CurrentID(), n, a.Config.MasterKeyFile)
	return nil
}
