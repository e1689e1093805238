package server

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
	"github.com/medbox-jp/medbox/internal/erase"
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

// Instance is one wired MedBox: its stores, its services and its background
// queue. `medbox serve` serves one; the other commands open one to work on its
// data. The fields are the parts, for those commands and for tests.
type Instance struct {
	Config   config.Config
	Log      *slog.Logger
	Now      func() time.Time // the one clock every part reads
	DB       *sqldb.DB
	Blobs    blob.Store
	Master   *seal.Master
	Sealed   *seal.Store
	Audit    *audit.Log
	Members  *member.Service
	Auth     *auth.Service
	Boxes    *box.Service
	Uploads  *upload.Service
	Notify   *notify.Service
	Monitor  *monitor.Service
	Previews *preview.Service
	Jobs     *job.Queue

	mail      mail.Sender
	metrics   *metrics
	mtoken    string        // MEDBOX_METRICS_TOKEN: required to read GET /metrics, if set
	chunkIdle time.Duration // 0: api.DefaultChunkIdle
}

// Options are what an instance takes from its process besides the
// configuration — above all the clock — and the seams tests use.
type Options struct {
	// Now is the clock of every part: the wall clock in `medbox serve`, a moved
	// one in tests. Required.
	Now func() time.Time
	// HashParams, if set, replace the production argon2id cost (tests).
	HashParams *member.HashParams
	// MetricsToken, if set, is the bearer token GET /metrics requires.
	MetricsToken string
	// SMTPRoots, if set, are the only authorities trusted for the mail server (tests).
	SMTPRoots *x509.CertPool
	// ChunkIdle ends a chunk request after this long without a byte (0: api.DefaultChunkIdle).
	ChunkIdle time.Duration
	// DICOMWorker, if set, is the command that runs the DICOM worker instead of
	// this executable's dicom-worker (tests: a build without the race detector).
	DICOMWorker []string
	// Command says the instance is opened by a command beside the service, not
	// served: without a base URL of its own it takes the one serve recorded, so
	// its mails link where members really go.
	Command bool
}

// New opens the stores of cfg and wires every service on them.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, o Options) (*Instance, error) {
	if o.Now == nil {
		return nil, errors.New("new instance: no clock") // main passes the process clock, tests their moved one
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", cfg.Data, err)
	}
	a := &Instance{Config: cfg, Log: log, Now: o.Now, metrics: newMetrics(), mtoken: o.MetricsToken, chunkIdle: o.ChunkIdle}
	var err error
	if a.DB, err = sqldb.OpenAs(ctx, cfg.Database, cfg.DatabaseOwner, cfg.Data); err != nil {
		return nil, err
	}
	if o.Command && !cfg.BaseURLGiven {
		served, err := a.DB.Setting(ctx, baseURLSetting)
		if err != nil {
			a.DB.Close()
			return nil, err
		}
		if served != "" {
			cfg.BaseURL, a.Config.BaseURL = served, served
		}
	}
	if a.Blobs, err = blob.Open(ctx, cfg.Blobs, cfg.Data); err != nil {
		a.DB.Close()
		return nil, err
	}
	if a.Master, err = seal.LoadOrCreate(cfg.MasterKeyFile); err != nil {
		a.DB.Close()
		return nil, fmt.Errorf("master key: %w", err)
	}
	a.Sealed = seal.New(a.Blobs)
	if cfg.SMTPURL != "" {
		opts := []mail.SMTPOption{mail.WithFailureCounter(a.metrics.mailFailures.Inc)}
		if o.SMTPRoots != nil {
			opts = append(opts, mail.WithRootCAs(o.SMTPRoots))
		}
		if a.mail, err = mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom, opts...); err != nil {
			a.DB.Close()
			return nil, err
		}
	} else {
		a.mail = mail.NewOutbox(filepath.Join(cfg.Data, "outbox"), cfg.MailFrom, log)
	}
	hp := member.DefaultHashParams
	if o.HashParams != nil {
		hp = *o.HashParams
	}
	if a.Audit, err = audit.New(audit.Options{DB: a.DB, Master: a.Master, Anchors: a.Sealed, Now: o.Now, Log: log}); err != nil {
		a.DB.Close()
		return nil, err
	}
	a.Members = member.New(member.Options{DB: a.DB, Master: a.Master, Blobs: a.Sealed, Hasher: member.NewHasher(hp),
		Now: o.Now, BaseURL: cfg.BaseURL, Log: log, Audit: a.Audit})
	a.Auth = auth.New(auth.Options{DB: a.DB, Members: a.Members, Policy: cfg.Auth, Now: o.Now, Log: log, Audit: a.Audit})
	if err := a.Auth.UseSecondFactors(auth.SecondFactorOptions{Master: a.Master, BaseURL: cfg.BaseURL}); err != nil {
		a.DB.Close()
		return nil, err
	}
	a.Boxes = box.New(box.Options{DB: a.DB, Members: a.Members, Master: a.Master, Blobs: a.Sealed, Limits: cfg.Limits, Now: o.Now, Log: log, Audit: a.Audit})
	a.Uploads = upload.New(upload.Options{DB: a.DB, Boxes: a.Boxes, ChunkSize: cfg.Limits.ChunkSize, Now: o.Now, Log: log, Audit: a.Audit})
	worker := o.DICOMWorker
	if worker == nil {
		if worker, err = dicom.WorkerCommand("dicom-worker"); err != nil {
			a.DB.Close()
			return nil, err
		}
	}
	a.Previews = preview.New(preview.Options{DB: a.DB, Boxes: a.Boxes, Guard: &dicom.Guard{Command: worker}, Tools: preview.FindTools(),
		Now: o.Now, Log: log, Audit: a.Audit})
	a.Monitor = monitor.New(a.DB, a.Members, monitor.Options{BaseURL: cfg.BaseURL, Now: o.Now, Log: log, Audit: a.Audit,
		StuffingAccounts: cfg.Alert.StuffingAccounts, DownloadBytes: cfg.Alert.DownloadBytes, Registry: a.metrics.reg})
	a.Notify = notify.New(a.DB, a.Boxes, a.Members, notify.Options{Window: cfg.Notify.Window, RemindAfter: cfg.Notify.RemindAfter,
		ExpiringLead: cfg.Notify.ExpiringLead, BaseURL: cfg.BaseURL, Now: o.Now, Log: log, Audit: a.Audit})
	a.effects()
	host, _ := os.Hostname()
	a.Jobs = job.New(a.DB, job.Options{Owner: fmt.Sprintf("%s-%d", host, os.Getpid()), Now: o.Now, Logger: log, Registry: a.metrics.reg})
	a.metrics.watchQueue(a.Jobs)
	mail.Register(a.Jobs, a.mail, log)
	erase.Register(a.Jobs, a.DB)
	a.Boxes.RegisterJobs(a.Jobs)
	a.Previews.Register(a.Jobs)
	a.Notify.Register(a.Jobs)
	a.Jobs.Schedule(a.schedule()...)
	return a, nil
}

// effects lists what one feature's change sets off in the others (STYLE.md §10).
// Each runs inside the transaction of the change, so both commit or neither does.
// Nothing else calls the On* registrations.
func (a *Instance) effects() {
	// A member withdraws (R-M7), in this order: their second factors are removed,
	// the boxes and files they sent deleted (returning quota, erasing keys and
	// blobs), their other uploads in progress let go; comments go with the
	// member row.
	a.Members.OnWithdraw(a.Auth.DeleteFactorsTx, a.Boxes.DeleteMemberTx, a.Uploads.ReleaseMemberTx)
	// A box is deleted (expiry, early delete, withdrawal): the uploads into it are
	// let go and their reserved quota returned, before its files and keys go.
	a.Boxes.OnDelete(a.Uploads.ReleaseBoxTx)
	// A completed file arrives in a box: its preview is queued.
	a.Boxes.OnFileAdded(a.Previews.FileAddedTx)
	// The quota recount counts bytes reserved by uploads in progress as used.
	a.Boxes.OnRecount(a.Uploads.Reserved)
}

// schedule is the background work of an instance; each slot runs on exactly one
// instance (STYLE.md §8).
func (a *Instance) schedule() []job.Periodic {
	return []job.Periodic{
		{Name: "purge expired links and registrations", Every: time.Hour, Run: a.Members.PurgeExpired},
		{Name: "purge ended sessions", Every: 10 * time.Minute, Run: a.Auth.PurgeSessions},
		{Name: "purge remembered devices and passkey ceremonies", Every: time.Hour, Run: a.Auth.PurgeDevices},
		{Name: "purge sign-in throttle windows", Every: 10 * time.Minute, Run: a.Auth.PurgeThrottle},
		{Name: "purge ended upload grants", Every: 10 * time.Minute, Run: a.Auth.PurgeGrants},
		{Name: "expire boxes", Every: time.Minute, Run: a.Boxes.ExpireDue},
		{Name: "sweep orphaned previews", Every: time.Hour, Run: a.Previews.SweepOrphans},
		{Name: "watch for misuse", Every: time.Minute, Run: a.Monitor.Run},
		{Name: "checkpoint the audit log", Every: time.Minute, Run: a.Audit.Checkpoint},
		{Name: "sweep abandoned uploads", Every: 10 * time.Minute, Run: a.Uploads.SweepAbandoned},
		{Name: "sweep orphaned objects", Every: time.Hour, Run: a.Uploads.SweepOrphans},
	}
}

func (a *Instance) Close() {
	a.DB.Close()
}

// ready checks what a request needs: the database and the blob store.
func (a *Instance) Ready(ctx context.Context) error {
	err := a.DB.Ping(ctx)
	if p, ok := a.Blobs.(blob.Pinger); ok {
		err = errors.Join(err, p.Ping(ctx))
	}
	return err
}

func (a *Instance) Handler() (*web.Server, error) {
	apiSrv := api.New(api.Options{Config: a.Config, Members: a.Members, Auth: a.Auth, Boxes: a.Boxes, Uploads: a.Uploads, Notify: a.Notify, Log: a.Log, Audit: a.Audit, Now: a.Now,
		Previews: a.Previews, ChunkIdle: a.chunkIdle})
	return web.New(web.Options{Config: a.Config, Members: a.Members, Auth: a.Auth, Boxes: a.Boxes, Notify: a.Notify, Monitor: a.Monitor, Previews: a.Previews, API: apiSrv.Handler(), Ready: a.Ready, Log: a.Log, Audit: a.Audit, Now: a.Now,
		Metrics: a.metrics.http, MetricsToken: a.mtoken})
}

// apiRoutes returns the API's route table, for tests that walk every route.
func (a *Instance) APIRoutes() []api.Route {
	return api.New(api.Options{Config: a.Config, Members: a.Members, Auth: a.Auth, Boxes: a.Boxes, Uploads: a.Uploads, Notify: a.Notify, Log: a.Log, Audit: a.Audit, Now: a.Now,
		Previews: a.Previews, ChunkIdle: a.chunkIdle}).Routes()
}
