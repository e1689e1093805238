// Package sqltest gives tests a fresh, migrated database of each dialect: a SQLite
// file in a temporary directory and a PostgreSQL database cloned from a migrated
// template on the server named by MEDBOX_TEST_POSTGRES.
//
// Without a reachable PostgreSQL the PostgreSQL half is skipped on a laptop, and fails
// under CI (CI=true), where a test must never skip for a missing service.
package sqltest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"

	"github.com/medbox-jp/medbox/internal/sqldb"
)

// DefaultPostgres is used when MEDBOX_TEST_POSTGRES is unset: the machine's local server.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Each runs fn once on a fresh SQLite database and once on a fresh PostgreSQL one,
// as subtests named "sqlite" and "postgres".
func Each(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, OpenSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t)) })
}

// OpenSQLite returns a migrated SQLite database in t's temporary directory.
func OpenSQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenPostgres returns a migrated PostgreSQL database that is dropped after the test.
func OpenPostgres(t testing.TB) *sqldb.DB {
	t.Helper()
	u := NewPostgresURL(t)
	db, err := sqldb.Open(t.Context(), u, "")
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// NewPostgresURL creates an empty, migrated PostgreSQL database for t and returns its
// URL, for tests that start whole instances (several may share it). The database is
// dropped when t ends.
func NewPostgresURL(t testing.TB) string {
	t.Helper()
	admin, base := adminDB(t)
	tmpl, err := template(t.Context(), admin, base)
	if err != nil {
		t.Fatalf("postgres template: %v", err)
	}
	name := "medbox_t_" + randHex(6)
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name+" TEMPLATE "+tmpl); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(base, name)
}

// OpenAtVersion makes a fresh database of dialect d with only the migrations up to
// version applied, for a test of a later migration: the test writes what an older
// release wrote through raw, then opens the database with sqldb.Open(url, dataDir),
// which applies the rest. raw is closed when t ends.
func OpenAtVersion(t testing.TB, d sqldb.Dialect, version int64) (raw *sql.DB, url, dataDir string) {
	t.Helper()
	gd := goose.DialectSQLite3
	if d == sqldb.SQLite {
		dataDir = t.TempDir()
		var err error
		if raw, err = sql.Open("sqlite3", "file:"+filepath.Join(dataDir, "medbox.db")); err != nil {
			t.Fatal(err)
		}
	} else {
		admin, base := adminDB(t)
		name := "medbox_t_" + randHex(6)
		if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
			t.Fatalf("create test database: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		})
		url, gd = withDatabase(base, name), goose.DialectPostgres
		var err error
		if raw, err = sql.Open("pgx", url); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { raw.Close() })
	p, err := goose.NewProvider(gd, raw, sqldb.Migrations(d))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), version); err != nil {
		t.Fatalf("migrate %s to version %d: %v", d, version, err)
	}
	return raw, url, dataDir
}

var (
	adminOnce sync.Once
	adminConn *sql.DB
	adminURL  string
	adminErr  error
)

// adminDB returns a connection to the maintenance database, skipping or failing t
// when the server cannot be reached.
func adminDB(t testing.TB) (*sql.DB, string) {
	t.Helper()
	adminOnce.Do(func() {
		adminURL = os.Getenv("MEDBOX_TEST_POSTGRES")
		if adminURL == "" {
			adminURL = DefaultPostgres
		}
		adminConn, adminErr = sql.Open("pgx", adminURL)
		if adminErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			adminErr = adminConn.PingContext(ctx)
		}
	})
	if adminErr != nil {
		Unavailable(t, "PostgreSQL at %s: %v", redact(adminURL), adminErr)
	}
	return adminConn, adminURL
}

// Unavailable reports a missing service: t is skipped on a developer machine and
// fails under CI, where every service the tests need must be present.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required under CI: "+format, args...)
	}
	t.Skipf("skipped (service missing; CI=true makes this fail): "+format, args...)
}

var (
	tmplMu    sync.Mutex
	tmplReady = map[string]bool{}
)

// template makes sure a migrated template database for the current migrations
// exists and returns its name. The name carries a hash of the migration files, so a
// schema change gets a new template and concurrent test processes share one.
func template(ctx context.Context, admin *sql.DB, base string) (string, error) {
	name := "medbox_tmpl_" + migrationsHash()
	tmplMu.Lock()
	defer tmplMu.Unlock()
	if tmplReady[name] {
		return name, nil
	}
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// A session lock so that test processes running in parallel build it once.
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7260010)"); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(7260010)")
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		build := name + "_build"
		if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)"); err != nil {
			return "", err
		}
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+build); err != nil {
			return "", err
		}
		db, err := sqldb.Open(ctx, withDatabase(base, build), "")
		if err != nil {
			return "", err
		}
		db.Close()
		if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+build+" RENAME TO "+name); err != nil {
			return "", err
		}
	}
	tmplReady[name] = true
	return name, nil
}

func migrationsHash() string {
	h := sha256.New()
	fs.WalkDir(sqldb.Migrations(sqldb.Postgres), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sqldb.Migrations(sqldb.Postgres), p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(fmt.Sprintf("MEDBOX_TEST_POSTGRES is not a URL: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

func redact(u string) string {
	if p, err := url.Parse(u); err == nil && p.User != nil {
		p.User = url.User(p.User.Username())
		return p.String()
	}
	return strings.TrimSpace(u)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
