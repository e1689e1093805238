package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/medbox-jp/medbox/internal/config"
)

// shutdownGrace is how long in-flight requests (chunk uploads) may finish after
// a stop signal before the server closes.
const shutdownGrace = 30 * time.Second

// baseURLSetting records the base URL the service is reached at (Options.Command).
const baseURLSetting = "base_url"

// NewLogger returns the JSON logger of an instance at level (debug, info, warn, error).
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// Serve listens until ctx ends, then shuts down gracefully: no new connections,
// in-flight requests finish, background jobs stop at a safe point.
func (a *Instance) Serve(ctx context.Context, stdout io.Writer) error {
	srv, err := a.Handler()
	if err != nil {
		return err
	}
	// Commands run beside the service link their mails to where it is served.
	if err := a.DB.SetSetting(ctx, baseURLSetting, a.Config.BaseURL); err != nil {
		return err
	}
	// Boxes that expired while no instance ran (or since a restored backup was
	// made) are deleted before anyone can reach them.
	if err := a.Boxes.ExpireDue(ctx, a.Now()); err != nil {
		return fmt.Errorf("sweep expired boxes: %w", err)
	}
	lis := &listener{cc: a.Config.Transfer.TCPCongestion, log: a.Log}
	ln, err := lis.listen(ctx, a.Config.Listen)
	if err != nil {
		return err
	}
	setup, err := newTLS(a.Config)
	if err != nil {
		ln.Close()
		return err
	}
	if setup != nil {
		for _, w := range setup.warnings {
			a.Log.Warn(w)
		}
	}
	handler := srv.Handler()
	uploadOrigin := srv.UploadOrigin(handler)
	hs := &http.Server{
		Handler:           byHost(a.Config, uploadOrigin, handler),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
		Protocols:         protocols(a.Config),
		// Go's default HTTP/2 receive window holds a single connection well below
		// what a long, fast link carries; uploads need it wide.
		HTTP2: &http.HTTP2Config{MaxReceiveBufferPerConnection: 32 << 20, MaxReceiveBufferPerStream: 16 << 20},
	}
	var redirect *http.Server
	if setup != nil {
		hs.TLSConfig = setup.config
		if a.Config.HTTPListen != "" {
			rln, err := net.Listen("tcp", a.Config.HTTPListen)
			if err != nil {
				ln.Close()
				return fmt.Errorf("listen on %s: %w", a.Config.HTTPListen, err)
			}
			redirect = &http.Server{Handler: setup.redirect, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
			go redirect.Serve(rln)
			defer redirect.Close()
		}
	}
	uploads, err := a.startUploadServers(ctx, lis, uploadOrigin, setup)
	if err != nil {
		ln.Close()
		return err
	}
	defer uploads.close()
	a.Log.Info("medbox listening", "addr", ln.Addr().String(), "url", a.Config.BaseURL)
	if err := a.announceSetup(ctx, stdout); err != nil {
		return err
	}
	jobCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.Jobs.Run(jobCtx); err != nil && !errors.Is(err, context.Canceled) {
			a.Log.Error("job queue stopped", "err", err)
		}
	})
	errc := make(chan error, 1)
	go func() {
		if setup != nil {
			errc <- hs.ServeTLS(ln, "", "")
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.Log.Info("shutting down; letting requests finish", "grace", shutdownGrace.String())
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		err = errors.Join(hs.Shutdown(sctx), uploads.shutdown(sctx))
		cancel()
	}
	stopJobs()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// byHost sends requests for an upload host (its Host header names one of the
// upload origins, as behind a load balancer or on port 443 of this listener) to
// the upload origins' handler, and everything else to the pages and the API.
func byHost(cfg config.Config, uploads, pages http.Handler) http.Handler {
	hosts := map[string]bool{}
	for _, h := range cfg.Transfer.UploadHosts() {
		hosts[h] = true
	}
	if len(hosts) == 0 {
		return pages
	}
	scheme := "http"
	if strings.HasPrefix(cfg.BaseURL, "https:") {
		scheme = "https"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hosts[config.CanonicalHost(scheme, r.Host)] {
			uploads.ServeHTTP(w, r)
			return
		}
		pages.ServeHTTP(w, r)
	})
}

// protocols says which HTTP versions the server speaks. HTTP/2 is off unless
// MEDBOX_HTTP2=true: it multiplexes every request of a browser onto one TCP
// connection, which on a lossy long-distance link carries parallel chunks no
// faster than one stream — slower than a plain single-stream upload (see
// bench/). With HTTP/1.1 a browser uses six connections per origin.
func protocols(cfg config.Config) *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(cfg.HTTP2 && cfg.TLS())
	return p
}

// announceSetup prints a one-time setup URL when no administrator exists yet.
func (a *Instance) announceSetup(ctx context.Context, stdout io.Writer) error {
	ok, err := a.Members.HasAdmin(ctx)
	if err != nil || ok {
		return err
	}
	link, err := a.Members.SetupLink(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s\nNo administrator yet. Open this one-time link (valid 24 h) to create the first one:\n  %s\n"+
		"管理者がまだいません。上のリンク(24時間・1回限り有効)を開いて最初の管理者を作成してください。\n%s\n\n",
		strings.Repeat("=", 72), link, strings.Repeat("=", 72))
	return nil
}
