// Package sqldb opens the service's relational database — an embedded SQLite file or
// PostgreSQL — applies the embedded per-dialect migrations, and runs transactions.
//
// SQL in this project is written once with PostgreSQL's $n placeholders; for SQLite
// they are rewritten to ?n, which SQLite binds by number. Times are stored as integer
// Unix milliseconds in both dialects (see Millis), so comparisons agree everywhere.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver" // registers the "sqlite3" driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database of either dialect.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	owner   *sql.DB // PostgreSQL: the schema owner, for what only it may do (VACUUM FULL); nil if the same role
}

// Querier is what both a DB and a Tx offer for running SQL.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	Dialect() Dialect
}

// Open connects to url — "" for SQLite in dataDir/medbox.db, or a postgres:// URL —
// and applies pending migrations. Two instances may start at once on PostgreSQL:
// migrations run under an advisory lock.
func Open(ctx context.Context, url, dataDir string) (*DB, error) {
	db, err := connect(ctx, url, dataDir)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func connect(ctx context.Context, url, dataDir string) (*DB, error) {
	var db *DB
	switch {
	case url == "" || strings.HasPrefix(url, "sqlite:") || strings.HasPrefix(url, "file:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "file:")
		if path == "" {
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
			path = filepath.Join(dataDir, "medbox.db")
		}
		sdb, err := sql.Open("sqlite3", sqliteDSN(path))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		sdb.SetMaxOpenConns(8)
		sdb.SetConnMaxIdleTime(time.Minute)
		db = &DB{sql: sdb, dialect: SQLite}
	case strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://"):
		pdb, err := sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// As many idle connections as open ones: with fewer, every burst beyond
		// them closes its connections on return and opens new ones (a backend
		// process each) on the next request. Idle ones close after 5 minutes.
		pdb.SetMaxOpenConns(32)
		pdb.SetMaxIdleConns(32)
		pdb.SetConnMaxIdleTime(5 * time.Minute)
		db = &DB{sql: pdb, dialect: Postgres}
	default:
		return nil, fmt.Errorf("database url: want empty (SQLite) or postgres://…, got scheme of %q", redactURL(url))
	}
	if err := db.sql.PingContext(ctx); err != nil {
		db.sql.Close()
		return nil, fmt.Errorf("connect to %s database: %w", db.dialect, err)
	}
	return db, nil
}

// sqliteDSN sets the pragmas MedBox relies on: WAL for concurrent readers, a busy
// timeout instead of immediate SQLITE_BUSY, foreign keys, immediate write
// transactions (no lock upgrades that deadlock), secure_delete so deleted rows do
// not stay readable in the file, and full sync so an acknowledged write survives.
func sqliteDSN(path string) string {
	return "file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(15000)" +
		"&_pragma=journal_mode(wal)" +
		"&_pragma=foreign_keys(on)" +
		"&_pragma=secure_delete(on)" +
		"&_pragma=synchronous(full)"
}

// redactURL drops the user information from a database URL for error messages.
func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}

// Dialect reports which engine db talks to.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes the database.
func (db *DB) Close() error {
	if db.owner != nil {
		db.owner.Close()
	}
	return db.sql.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// ExecContext runs a statement outside a transaction.
func (db *DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.sql.ExecContext(ctx, db.rebind(q), args...)
}

// QueryContext runs a query outside a transaction.
func (db *DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.sql.QueryContext(ctx, db.rebind(q), args...)
}

// QueryRowContext runs a query that returns at most one row.
func (db *DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return db.sql.QueryRowContext(ctx, db.rebind(q), args...)
}

func (db *DB) rebind(q string) string {
	if db.dialect == SQLite {
		return rebindSQLite(q)
	}
	return q
}

// Tx is a transaction of either dialect.
type Tx struct {
	tx      *sql.Tx
	db      *DB
	onDone  []func()
	dialect Dialect
}

// ExecContext runs a statement in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, tx.db.rebind(q), args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, tx.db.rebind(q), args...)
}

// QueryRowContext runs a query that returns at most one row in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, tx.db.rebind(q), args...)
}

// Dialect reports which engine the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// AfterCommit registers fn to run once the transaction has committed; it never runs
// if the transaction rolls back. Use it to wake workers, never for durable work.
func (tx *Tx) AfterCommit(fn func()) { tx.onDone = append(tx.onDone, fn) }

// Tx runs fn in a transaction and commits it if fn returns nil. On PostgreSQL a
// serialization failure or deadlock is retried a few times with fn run afresh, so fn
// must not have effects outside the transaction.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	const attempts = 5
	var err error
	for i := range attempts {
		if err = db.tryTx(ctx, fn); err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(i+1) * 10 * time.Millisecond)
	}
	return err
}

func (db *DB) tryTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	stx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx := &Tx{tx: stx, db: db, dialect: db.dialect}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, f := range tx.onDone {
		f()
	}
	return nil
}

// ReadTx runs fn in a read-only transaction that sees one consistent snapshot of
// the whole database while writers go on: a deferred transaction on SQLite (WAL
// keeps the snapshot), REPEATABLE READ on PostgreSQL. Backups use it.
func (db *DB) ReadTx(ctx context.Context, fn func(tx *Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	stx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer stx.Rollback()
	return fn(&Tx{tx: stx, db: db, dialect: db.dialect})
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// IsUniqueViolation reports whether err comes from a UNIQUE or PRIMARY KEY constraint.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode() == sqlite3.CONSTRAINT_UNIQUE || se.ExtendedCode() == sqlite3.CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsConstraint reports whether err comes from any constraint or trigger refusal
// (CHECK, FOREIGN KEY, NOT NULL, UNIQUE, or a RAISE in a trigger).
func IsConstraint(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "23") || pe.Code == "P0001"
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.CONSTRAINT
	}
	return false
}

// TextTables are the tables that hold words people wrote — names, messages,
// comments, file names, addresses — which Compact rewrites on PostgreSQL.
var TextTables = []string{"members", "member_tokens", "invitations", "boxes", "participants", "files", "comments",
	"uploads", "upload_chunks", "previews", "notices", "jobs", "alerts", "passkeys", "passkey_users", "sessions"}

// ErrBusy means Compact could not finish because readers held old data; the
// caller tries again shortly.
var ErrBusy = errors.New("compact: the database is busy; try again")

// Compact makes deleted rows unreadable in the database's own files.
//
// SQLite deletes with secure_delete, which zeroes a row's bytes in the page — but
// in WAL mode the page is written to the log, and the main file keeps the old page
// until a checkpoint copies the new one over it, while the log keeps every earlier
// image. So Compact checkpoints the whole log into the main file and truncates the
// log to nothing; with a reader still on an old snapshot it returns ErrBusy.
//
// PostgreSQL keeps a deleted row's bytes in its table and index pages until they
// are reused, and a plain VACUUM does not overwrite them. VACUUM FULL writes each
// of TextTables anew and drops the old files, so nothing deleted remains in them.
// It takes the table's lock for the (short) rewrite; with a separate schema owner
// (OpenAs) it runs as that owner, the only role allowed to. What PostgreSQL's own
// write-ahead log, its archives and base backups hold ages out on their schedule
// (docs/deploy.md).
func (db *DB) Compact(ctx context.Context) error {
	if db.dialect == SQLite {
		var busy, logFrames, done int
		if err := db.sql.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			return fmt.Errorf("checkpoint write-ahead log: %w", err)
		}
		if busy != 0 {
			return ErrBusy
		}
		return nil
	}
	conn := db.sql
	if db.owner != nil {
		conn = db.owner
	}
	for _, t := range TextTables {
		// lock_timeout keeps a rewrite from queueing behind a long transaction
		// (and everything else from queueing behind it): it is tried again.
		c, err := conn.Conn(ctx)
		if err != nil {
			return fmt.Errorf("compact %s: %w", t, err)
		}
		_, err = c.ExecContext(ctx, `SET lock_timeout = '3s'`)
		if err == nil {
			_, err = c.ExecContext(ctx, `VACUUM FULL `+t)
		}
		c.Close()
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available
				return ErrBusy
			}
			return fmt.Errorf("compact %s: %w", t, err)
		}
	}
	return nil
}

// Millis converts t to the integer milliseconds stored in the database.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// FromMillis converts stored milliseconds back to a time in UTC.
func FromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Setting returns the value recorded under key, or "" if none is.
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := db.sql.QueryRowContext(ctx, db.rebind(`SELECT value FROM settings WHERE key = $1`), key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting records value under key.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := db.sql.ExecContext(ctx, db.rebind(`INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`), key, value)
	if err != nil {
		return fmt.Errorf("record setting %s: %w", key, err)
	}
	return nil
}
