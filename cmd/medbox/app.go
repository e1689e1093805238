package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/medbox-jp/medbox/internal/api"
	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/auth"
	"github.com/medbox-jp/medbox/internal/blob"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/dicom"
	"github.com/medbox-jp/medbox/internal/job"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/monitor"
	"github.com/medbox-jp/medbox/internal/notify"
	"github.com/medbox-jp/medbox/internal/preview"
	"github.com/medbox-jp/medbox/internal/seal"
	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/upload"
	"github.com/medbox-jp/medbox/internal/web"
)

// app is one wired instance: its stores, services and background queue.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	now     func() time.Time
	db      *sqldb.DB
	blobs   blob.Store
	master  *seal.Master
	sealed  *seal.Store
	members *member.Service
	auth    *auth.Service
	boxes   *box.Service
	uploads *upload.Service
	notify  *notify.Service
	monitor *monitor.Service
	jobs    *job.Queue
	mail    mail.Sender
	audit   *audit.Log
	metrics *metrics
	mtoken  string // MEDBOX_METRICS_TOKEN: required to read GET /metrics, if set

	previews  *preview.Service
	chunkIdle time.Duration // 0: api.DefaultChunkIdle
}

// appOptions are the process's clock and the seams tests use: a moved clock and
// cheap password hashing.
type appOptions struct {
	now        func() time.Time
	hashParams *member.HashParams
	// adminsWithoutSecondFactor lets administrators work without a second factor,
	// for the tests of other features; mfa_test.go runs with it off, as production.
	adminsWithoutSecondFactor bool
	// metricsToken, if set, is the bearer token GET /metrics requires.
	metricsToken string
	smtpRoots    *x509.CertPool // trust these for the mail server (tests)
	// chunkIdle ends a chunk request after this long without a byte (0: api.DefaultChunkIdle).
	chunkIdle time.Duration
}

func newApp(ctx context.Context, cfg config.Config, log *slog.Logger, o appOptions) (*app, error) {
	if o.now == nil {
		return nil, errors.New("new app: no clock") // main passes the process clock, tests their moved one
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", cfg.Data, err)
	}
	a := &app{cfg: cfg, log: log, now: o.now, metrics: newMetrics(), mtoken: o.metricsToken, chunkIdle: o.chunkIdle}
	var err error
	if a.db, err = sqldb.OpenAs(ctx, cfg.Database, cfg.DatabaseOwner, cfg.Data); err != nil {
		return nil, err
	}
	if a.blobs, err = blob.Open(ctx, cfg.Blobs, cfg.Data); err != nil {
		a.db.Close()
		return nil, err
	}
	if a.master, err = seal.LoadOrCreate(cfg.MasterKeyFile); err != nil {
		a.db.Close()
		return nil, fmt.Errorf("master key: %w", err)
	}
	a.sealed = seal.New(a.blobs)
	if cfg.SMTPURL != "" {
		opts := []mail.SMTPOption{mail.WithFailureCounter(a.metrics.mailFailures.Inc)}
		if o.smtpRoots != nil {
			opts = append(opts, mail.WithRootCAs(o.smtpRoots))
		}
		if a.mail, err = mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom, opts...); err != nil {
			a.db.Close()
			return nil, err
		}
	} else {
		a.mail = mail.NewOutbox(filepath.Join(cfg.Data, "outbox"), cfg.MailFrom, log)
	}
	hp := member.DefaultHashParams
	if o.hashParams != nil {
		hp = *o.hashParams
	}
	if a.audit, err = audit.New(a.db, o.now); err != nil {
		a.db.Close()
		return nil, err
	}
	a.members = member.New(member.Options{DB: a.db, Master: a.master, Blobs: a.sealed, Hasher: member.NewHasher(hp),
		Now: o.now, BaseURL: cfg.BaseURL, Log: log, Audit: a.audit})
	a.auth = auth.New(auth.Options{DB: a.db, Members: a.members, Policy: cfg.Auth, Now: o.now, Log: log, Audit: a.audit})
	if err := a.auth.UseSecondFactors(auth.SecondFactorOptions{Master: a.master, BaseURL: cfg.BaseURL,
		AdminsOptional: o.adminsWithoutSecondFactor}); err != nil {
		a.db.Close()
		return nil, err
	}
	a.boxes = box.New(box.Options{DB: a.db, Members: a.members, Master: a.master, Blobs: a.sealed, Limits: cfg.Limits, Now: o.now, Log: log, Audit: a.audit})
	a.uploads = upload.New(upload.Options{DB: a.db, Boxes: a.boxes, ChunkSize: cfg.Limits.ChunkSize, Now: o.now, Log: log, Audit: a.audit})
	worker, err := dicom.WorkerCommand("dicom-worker")
	if err != nil {
		a.db.Close()
		return nil, err
	}
	a.previews = preview.New(preview.Options{DB: a.db, Boxes: a.boxes, Guard: &dicom.Guard{Command: worker}, Tools: preview.FindTools(),
		Now: o.now, Log: log, Audit: a.audit})
	a.monitor = monitor.New(a.db, a.members, monitor.Options{BaseURL: cfg.BaseURL, Now: o.now, Log: log, Audit: a.audit,
		StuffingAccounts: cfg.Alert.StuffingAccounts, DownloadBytes: cfg.Alert.DownloadBytes, Registry: a.metrics.reg})
	a.notify = notify.New(a.db, a.boxes, a.members, notify.Options{Window: cfg.Notify.Window, RemindAfter: cfg.Notify.RemindAfter,
		ExpiringLead: cfg.Notify.ExpiringLead, BaseURL: cfg.BaseURL, Now: o.now, Log: log, Audit: a.audit})
	a.effects()
	host, _ := os.Hostname()
	a.jobs = job.New(a.db, job.Options{Owner: fmt.Sprintf("%s-%d", host, os.Getpid()), Now: o.now, Logger: log, Registry: a.metrics.reg})
	a.metrics.watchQueue(a.jobs)
	mail.Register(a.jobs, a.mail, log)
	a.boxes.RegisterJobs(a.jobs)
	a.previews.Register(a.jobs)
	a.notify.Register(a.jobs)
	a.jobs.Schedule(a.schedule()...)
	return a, nil
}

// effects lists what one feature's change sets off in the others (STYLE.md §10).
// Each runs inside the transaction of the change, so both commit or neither does.
// Nothing else calls the On* registrations.
func (a *app) effects() {
	// A member withdraws (R-M7), in this order: their second factors are removed,
	// the boxes and files they sent deleted (returning quota, erasing keys and
	// blobs), their other uploads in progress let go; comments go with the
	// member row.
	a.members.OnWithdraw(a.auth.DeleteFactorsTx, a.boxes.DeleteMemberTx, a.uploads.ReleaseMemberTx)
	// A box is deleted (expiry, early delete, withdrawal): the uploads into it are
	// let go and their reserved quota returned, before its files and keys go.
	a.boxes.OnDelete(a.uploads.ReleaseBoxTx)
	// A completed file arrives in a box: its preview is queued.
	a.boxes.OnFileAdded(a.previews.FileAddedTx)
	// The quota recount counts bytes reserved by uploads in progress as used.
	a.boxes.OnRecount(a.uploads.Reserved)
}

// schedule is the background work of an instance; each slot runs on exactly one
// instance (STYLE.md §8).
func (a *app) schedule() []job.Periodic {
	return []job.Periodic{
		{Name: "purge expired links and registrations", Every: time.Hour, Run: a.members.PurgeExpired},
		{Name: "purge ended sessions", Every: 10 * time.Minute, Run: a.auth.PurgeSessions},
		{Name: "purge remembered devices and passkey ceremonies", Every: time.Hour, Run: a.auth.PurgeDevices},
		{Name: "purge sign-in throttle windows", Every: 10 * time.Minute, Run: a.auth.PurgeThrottle},
		{Name: "expire boxes", Every: time.Minute, Run: a.boxes.ExpireDue},
		{Name: "sweep orphaned previews", Every: time.Hour, Run: a.previews.SweepOrphans},
		{Name: "watch for misuse", Every: time.Minute, Run: a.monitor.Run},
		{Name: "sweep abandoned uploads", Every: 10 * time.Minute, Run: a.uploads.SweepAbandoned},
		{Name: "sweep orphaned objects", Every: time.Hour, Run: a.uploads.SweepOrphans},
	}
}

func (a *app) close() {
	a.db.Close()
}

// ready checks what a request needs: the database and the blob store.
func (a *app) ready(ctx context.Context) error {
	err := a.db.Ping(ctx)
	if p, ok := a.blobs.(blob.Pinger); ok {
		err = errors.Join(err, p.Ping(ctx))
	}
	return err
}

func (a *app) handler() (*web.Server, error) {
	apiSrv := api.New(api.Options{Config: a.cfg, Members: a.members, Auth: a.auth, Boxes: a.boxes, Uploads: a.uploads, Notify: a.notify, Log: a.log, Audit: a.audit, Now: a.now,
		Previews: a.previews, ChunkIdle: a.chunkIdle})
	return web.New(web.Options{Config: a.cfg, Members: a.members, Auth: a.auth, Boxes: a.boxes, Notify: a.notify, Monitor: a.monitor, Previews: a.previews, API: apiSrv.Handler(), Ready: a.ready, Log: a.log, Audit: a.audit, Now: a.now,
		Metrics: a.metrics.http, MetricsToken: a.mtoken})
}

// apiRoutes returns the API's route table, for tests that walk every route.
func (a *app) apiRoutes() []api.Route {
	return api.New(api.Options{Config: a.cfg, Members: a.members, Auth: a.auth, Boxes: a.boxes, Uploads: a.uploads, Notify: a.notify, Log: a.log, Audit: a.audit, Now: a.now,
		Previews: a.previews, ChunkIdle: a.chunkIdle}).Routes()
}
