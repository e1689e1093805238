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
	defer a.Close()
	before := a.Master.CurrentID()
	n, err := a.Master.Rotate(ctx, a.DB)
	if err != nil {
		return fmt.Errorf("rotate master key: %w", err)
	}
	fmt.Fprintf(stdout, "master key rotated: %s → %s; %d data keys rewrapped; the old key is no longer in %s\n",
		before, a.Master.CurrentID(), n, a.Config.MasterKeyFile)
	return nil
}
