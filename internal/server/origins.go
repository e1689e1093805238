package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// listener opens TCP listeners whose connections use the configured congestion
// control (MEDBOX_TCP_CONGESTION, BBR by default). For downloads the server is
// the sender, and on a lossy long-distance path BBR keeps one connection near
// the link rate where CUBIC falls to a few Mbit/s (bench/README.md). Where the
// algorithm cannot be had, the system's stays and a warning is logged once.
type listener struct {
	cc   string
	log  *slog.Logger
	warn sync.Once
}

func (l *listener) listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{}
	if l.cc != "" {
		lc.Control = func(network, address string, c syscall.RawConn) error {
			if err := setCongestion(c, l.cc); err != nil {
				l.warn.Do(func() {
					l.log.Warn("TCP congestion control not available; keeping the system's", "want", l.cc, "err", err)
				})
			}
			return nil
		}
	}
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// uploadServers are the extra listeners of MEDBOX_UPLOAD_LISTEN. Each serves
// only chunk PUTs (and their CORS preflights) for the page's origin, over
// HTTP/1.1 alone: a browser opens up to six connections per origin, so with N
// upload origins a page's chunks travel on up to 6×N TCP connections, where
// HTTP/2 would fold them all into one — which, on a lossy long-distance link,
// carries no more than a single-stream upload.
type uploadServers struct {
	servers []*http.Server
	wg      sync.WaitGroup
}

func (a *Instance) startUploadServers(ctx context.Context, l *listener, handler http.Handler, setup *tlsSetup) (*uploadServers, error) {
	us := &uploadServers{}
	if len(a.Config.Transfer.UploadListen) == 0 {
		return us, nil
	}
	var lns []net.Listener
	for _, addr := range a.Config.Transfer.UploadListen {
		ln, err := l.listen(ctx, addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
	}
	h1 := new(http.Protocols)
	h1.SetHTTP1(true)
	for _, ln := range lns {
		hs := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
			Protocols:         h1,
		}
		if setup != nil {
			hs.TLSConfig = setup.config.Clone()
		}
		us.servers = append(us.servers, hs)
		us.wg.Go(func() {
			var err error
			if setup != nil {
				err = hs.ServeTLS(ln, "", "")
			} else {
				err = hs.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.Log.Error("upload listener stopped", "addr", ln.Addr().String(), "err", err)
			}
		})
	}
	a.Log.Info("upload origins listening", "addrs", a.Config.Transfer.UploadListen, "origins", a.Config.Transfer.UploadOrigins)
	return us, nil
}

// shutdown stops the upload listeners, letting chunks in flight finish.
func (us *uploadServers) shutdown(ctx context.Context) error {
	var errs []error
	for _, hs := range us.servers {
		errs = append(errs, hs.Shutdown(ctx))
	}
	us.wg.Wait()
	return errors.Join(errs...)
}

// close stops them at once.
func (us *uploadServers) close() {
	for _, hs := range us.servers {
		hs.Close()
	}
	us.wg.Wait()
}
