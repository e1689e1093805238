package main

import (
	"context"
	"errors"
	"fmt"
)

// keysCmd runs `medbox keys rotate`: a new master key becomes current, every data
// key is rewrapped under it in small transactions while the service keeps running,
// and the old master key leaves the key file (R-X3). Running instances notice the
// new key file by themselves.
func keysCmd(ctx context.Context, args []string, p process) error {
	stdout := p.stdout
	if len(args) == 0 || args[0] != "rotate" {
		return errors.New("keys: want rotate")
	}
	a, err := openForCommand(ctx, args[1:], p)
	if err != nil {
		return err
	}
	defer a.close()
	before := a.master.CurrentID()
	n, err := a.master.Rotate(ctx, a.db)
	if err != nil {
		return fmt.Errorf("rotate master key: %w", err)
	}
	fmt.Fprintf(stdout, "master key rotated: %s → %s; %d data keys rewrapped; the old key is no longer in %s\n",
		before, a.master.CurrentID(), n, a.cfg.MasterKeyFile)
	return nil
}
