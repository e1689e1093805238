package sqldb

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
)

// OpenAs connects to PostgreSQL as the application's role (appURL) after applying
// migrations as the schema owner (ownerURL), and grants the application role what
// it needs and no more: it may read and change every table, but may only add to
// the audit log — no UPDATE, DELETE or TRUNCATE of audit_events or
// audit_checkpoints, and, not being
// the owner, no way to drop the triggers that guard it (R-X5). With ownerURL
// empty, OpenAs is Open.
func OpenAs(ctx context.Context, appURL, ownerURL, dataDir string) (*DB, error) {
	if ownerURL == "" {
		return Open(ctx, appURL, dataDir)
	}
	role, err := roleOf(appURL)
	if err != nil {
		return nil, err
	}
	owner, err := Open(ctx, ownerURL, dataDir)
	if err != nil {
		return nil, fmt.Errorf("migrate as owner: %w", err)
	}
	if owner.dialect != Postgres {
		owner.Close()
		return nil, fmt.Errorf("a separate owner connection is for PostgreSQL only")
	}
	if err := grantApp(ctx, owner, role); err != nil {
		owner.Close()
		return nil, err
	}
	db, err := connect(ctx, appURL, dataDir)
	if err != nil {
		owner.Close()
		return nil, err
	}
	// The owner stays connected, one connection at most, for what only it may do:
	// rewriting tables so that deleted rows leave no trace (Compact).
	owner.sql.SetMaxOpenConns(1)
	db.owner = owner.sql
	return db, nil
}

var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func roleOf(appURL string) (string, error) {
	u, err := url.Parse(appURL)
	if err != nil || u.User == nil || !roleName.MatchString(u.User.Username()) {
		return "", fmt.Errorf("MEDBOX_DATABASE must name the application's role (a lower-case PostgreSQL user) when MEDBOX_DATABASE_OWNER is set")
	}
	return u.User.Username(), nil
}

// grantApp gives role the application's privileges; it is idempotent and runs at
// every start, so tables added by new migrations are covered.
func grantApp(ctx context.Context, owner *DB, role string) error {
	ident := `"` + role + `"`
	stmts := []string{
		`GRANT USAGE ON SCHEMA public TO ` + ident,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ` + ident,
		`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ` + ident,
		`REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM ` + ident,
		`REVOKE UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM ` + ident,
		`REVOKE ALL ON goose_db_version FROM ` + ident,
		`GRANT SELECT ON goose_db_version TO ` + ident,
	}
	for _, q := range stmts {
		if _, err := owner.sql.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("grant the application role %s: %w", role, err)
		}
	}
	return nil
}
