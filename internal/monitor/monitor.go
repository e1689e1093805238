// Package monitor watches the audit log for misuse and tells people about it
// (R-X6): brute force on one account, credential stuffing across accounts, and
// unusual download volume raise an alert — a log line, a Prometheus counter and a
// mail to administrators — and members are told of sign-ins from a new device and
// of changes to their credentials. It reads each audit event once, through a
// cursor moved in the same transaction that queues its mails.
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/medbox-jp/medbox/internal/audit"
	"github.com/medbox-jp/medbox/internal/i18n"
	"github.com/medbox-jp/medbox/internal/mail"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/sqldb"
)

// Options set the thresholds.
type Options struct {
	StuffingAccounts int           // failed sign-ins on this many accounts from one address…
	StuffingGlobal   int           // …or on this many accounts from anywhere…
	StuffingWindow   time.Duration // …within this window is credential stuffing
	DownloadBytes    int64         // one member downloading more than this…
	DownloadWindow   time.Duration // …within this window is unusual
	BaseURL          string
	Now              func() time.Time
	Log              *slog.Logger
	Registry         prometheus.Registerer
	Audit            *audit.Log
}

// Service runs the checks.
type Service struct {
	db      *sqldb.DB
	members *member.Service
	o       Options
	alerts  *prometheus.CounterVec
}

// New returns a Service.
func New(db *sqldb.DB, members *member.Service, o Options) *Service {
	if o.StuffingAccounts <= 0 {
		o.StuffingAccounts = 10
	}
	if o.StuffingGlobal <= 0 {
		o.StuffingGlobal = 50
	}
	if o.StuffingWindow <= 0 {
		o.StuffingWindow = 10 * time.Minute
	}
	if o.DownloadBytes <= 0 {
		o.DownloadBytes = 5_000_000_000
	}
	if o.DownloadWindow <= 0 {
		o.DownloadWindow = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Service{db: db, members: members, o: o,
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "medbox_security_alerts_total",
			Help: "Security alerts raised, by kind."}, []string{"kind"})}
	if o.Registry != nil {
		o.Registry.MustRegister(s.alerts)
	}
	return s
}

// Alert kinds.
const (
	BruteForce        = "brute_force"
	Stuffing          = "credential_stuffing"
	DownloadVolume    = "download_volume"
	memberNewDevice   = "new_device"
	memberCredentials = "credentials_changed"
)

// errCursorMoved means another run read the same events first; this run's
// alerts and mails are rolled back.
var errCursorMoved = errors.New("monitor: another run moved the cursor")

// alert is one raised alert, before it is stored.
type alert struct {
	key, kind string
	detail    map[string]string
}

// Run reads the audit events since the last run and the recent windows, raises
// what it finds, and mails members about their own account. A periodic job.
func (s *Service) Run(ctx context.Context, now time.Time) error {
	var pos string
	if err := s.db.QueryRowContext(ctx, `SELECT chains FROM monitor_cursor WHERE id = 1`).Scan(&pos); err != nil {
		return fmt.Errorf("read monitor cursor: %w", err)
	}
	cursor, err := audit.ParseCursor(pos)
	if err != nil {
		return err
	}
	events, next, err := s.o.Audit.Since(ctx, cursor, 5000)
	if err != nil {
		return err
	}
	var alerts []alert
	var notes []memberNote
	for _, e := range events {
		switch {
		case e.Action == "auth.lock":
			alerts = append(alerts, alert{key: fmt.Sprintf("brute:%d", e.Seq), kind: BruteForce,
				detail: map[string]string{"member": e.Target, "addr": e.Addr, "lock": e.Detail["lock"]}})
		case e.Action == "auth.signin" && e.Result == audit.OK && e.Detail["device"] != "":
			n, err := s.newDevice(ctx, e)
			if err != nil {
				return err
			}
			if n != nil {
				notes = append(notes, *n)
			}
		case e.Action == "member.change_password" || e.Action == "member.reset_password" || e.Action == "auth.signout_everywhere":
			notes = append(notes, memberNote{member: member.ID(e.Target), kind: memberCredentials, at: e.At})
		}
	}
	windowed, err := s.windows(ctx, now)
	if err != nil {
		return err
	}
	alerts = append(alerts, windowed...)
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		for _, a := range alerts {
			if err := s.raise(ctx, tx, a, now); err != nil {
				return err
			}
		}
		for _, n := range notes {
			if err := s.tell(ctx, tx, n); err != nil {
				return err
			}
		}
		// Only from where this run started: two runs never both report the same events.
		res, err := tx.ExecContext(ctx, `UPDATE monitor_cursor SET chains = $1 WHERE id = 1 AND chains = $2`, next.String(), pos)
		if err != nil {
			return fmt.Errorf("move monitor cursor: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errCursorMoved
		}
		return nil
	})
	if errors.Is(err, errCursorMoved) {
		return nil // that run raised them
	}
	return err
}

// windows looks at the recent past for patterns spread over many events.
func (s *Service) windows(ctx context.Context, now time.Time) ([]alert, error) {
	var out []alert
	since := now.Add(-s.o.StuffingWindow)
	fails, err := s.o.Audit.List(ctx, audit.Filter{Action: "auth.signin", Since: since})
	if err != nil {
		return nil, err
	}
	perAddr := map[string]map[string]bool{}
	all := map[string]bool{}
	for _, e := range fails {
		if e.Result == audit.OK || e.Detail["reason"] == "throttled" {
			continue
		}
		who := e.Target
		if who == "" {
			who = "unknown:" + strconv.FormatInt(e.Seq, 10) // unknown addresses count one each
		}
		if perAddr[e.Addr] == nil {
			perAddr[e.Addr] = map[string]bool{}
		}
		perAddr[e.Addr][who] = true
		all[who] = true
	}
	slot := now.Truncate(s.o.StuffingWindow).Unix()
	for addr, accounts := range perAddr {
		if len(accounts) >= s.o.StuffingAccounts {
			out = append(out, alert{key: fmt.Sprintf("stuffing:%s:%d", addr, slot), kind: Stuffing,
				detail: map[string]string{"addr": addr, "accounts": strconv.Itoa(len(accounts)), "window": s.o.StuffingWindow.String()}})
		}
	}
	if len(all) >= s.o.StuffingGlobal {
		out = append(out, alert{key: fmt.Sprintf("stuffing:*:%d", slot), kind: Stuffing,
			detail: map[string]string{"addr": "*", "accounts": strconv.Itoa(len(all)), "window": s.o.StuffingWindow.String()}})
	}
	bytes := map[string]int64{}
	for _, action := range []string{"file.download", "file.view", "box.download_zip"} {
		evs, err := s.o.Audit.List(ctx, audit.Filter{Action: action, Since: now.Add(-s.o.DownloadWindow)})
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			n, _ := strconv.ParseInt(e.Detail["size"], 10, 64)
			bytes[e.Actor] += n
		}
	}
	hour := now.Truncate(s.o.DownloadWindow).Unix()
	for who, n := range bytes {
		if n > s.o.DownloadBytes {
			out = append(out, alert{key: fmt.Sprintf("download:%s:%d", who, hour), kind: DownloadVolume,
				detail: map[string]string{"member": who, "bytes": strconv.FormatInt(n, 10), "window": s.o.DownloadWindow.String()}})
		}
	}
	return out, nil
}

// raise records a, once per key, and tells administrators.
func (s *Service) raise(ctx context.Context, tx *sqldb.Tx, a alert, now time.Time) error {
	detail, _ := json.Marshal(a.detail)
	res, err := tx.ExecContext(ctx, `INSERT INTO alerts (key, kind, detail, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING`,
		a.key, a.kind, string(detail), sqldb.Millis(now))
	if err != nil {
		return fmt.Errorf("store alert: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // raised before
	}
	s.o.Log.WarnContext(ctx, "security alert", "kind", a.kind, "detail", a.detail)
	s.alerts.WithLabelValues(a.kind).Inc()
	if err := s.o.Audit.Record(ctx, tx, audit.Event{At: now, Actor: "system", Action: "security.alert", Target: a.kind, Result: audit.Denied, Detail: a.detail}); err != nil {
		return err
	}
	admins, err := s.members.Admins(ctx, tx)
	if err != nil {
		return err
	}
	for _, adm := range admins {
		args := map[string]any{"Kind": i18n.T(i18n.Lang(adm.Lang), "alert."+a.kind), "Link": s.o.BaseURL + "/admin/audit",
			"Addr": a.detail["addr"], "Accounts": a.detail["accounts"], "Member": a.detail["member"], "Bytes": a.detail["bytes"]}
		msg := mail.Compose(i18n.Lang(adm.Lang), "mail.alert."+a.kind, args)
		msg.To = []string{string(adm.Email)}
		if err := mail.Enqueue(ctx, tx, now, msg); err != nil {
			return err
		}
	}
	return nil
}

// Alert is a raised alert, for the administrators' page.
type Alert struct {
	Kind      string
	Detail    map[string]string
	CreatedAt time.Time
}

// Recent returns the latest alerts, newest first.
func (s *Service) Recent(ctx context.Context, limit int) ([]Alert, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kind, detail, created_at FROM alerts ORDER BY created_at DESC LIMIT `+strconv.Itoa(limit))
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		var detail string
		var at int64
		if err := rows.Scan(&a.Kind, &detail, &at); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(detail), &a.Detail)
		a.CreatedAt = sqldb.FromMillis(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
