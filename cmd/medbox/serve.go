package main

import (
	"context"

	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/server"
)

// serve is `medbox serve`: configuration from flags and MEDBOX_* variables, an
// instance on the process's clock, served until ctx ends.
func serve(ctx context.Context, args []string, p process) error {
	cfg, _, err := load(config.Command{Name: "serve", Summary: "run the service: pages, API and background work, until SIGTERM"}, args, p, 0)
	if err != nil {
		return err
	}
	log := server.NewLogger(p.stdout, cfg.LogLevel)
	in, err := server.New(ctx, cfg, log, server.Options{Now: p.now, MetricsToken: p.getenv("MEDBOX_METRICS_TOKEN")}) // a secret: no flag, so not in ps
	if err != nil {
		return err
	}
	defer in.Close()
	return in.Serve(ctx, p.stdout)
}
