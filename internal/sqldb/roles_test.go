package sqldb_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/medbox-jp/medbox/internal/sqldb"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestAppRoleCannotChangeTheAuditLog: with a separate owner, the service's own
// PostgreSQL role may add audit events but never update, delete or truncate them,
// nor drop the triggers that guard them.
func TestAppRoleCannotChangeTheAuditLog(t *testing.T) {
	ownerURL := sqltest.NewPostgresURL(t)
	owner, err := sqldb.Open(t.Context(), ownerURL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	b := make([]byte, 4)
	rand.Read(b)
	role := "medbox_app_" + hex.EncodeToString(b)
	if _, err := owner.ExecContext(t.Context(), `CREATE ROLE `+role+` LOGIN`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		owner.ExecContext(t.Context(), `DROP OWNED BY `+role)
		owner.ExecContext(t.Context(), `DROP ROLE `+role)
	})
	u, _ := url.Parse(ownerURL)
	u.User = url.User(role)
	app, err := sqldb.OpenAs(t.Context(), u.String(), ownerURL, "")
	if err != nil {
		t.Fatalf("OpenAs: %v", err)
	}
	defer app.Close()
	if _, err := app.ExecContext(t.Context(), `INSERT INTO audit_events (seq, at, actor, action, target, addr, result, detail, part, part_seq, mac)
		VALUES (nextval('audit_events_seq'), 0, 'a', 'x', 't', '', 'ok', '{}', 0, 1, ''::bytea)`); err != nil {
		t.Fatalf("the app role cannot add an audit event: %v", err)
	}
	if _, err := app.ExecContext(t.Context(), `INSERT INTO boxes (id, sender_id, created_at, expires_at) VALUES ('b', 'nobody', 0, 0)`); err == nil || !strings.Contains(err.Error(), "foreign key") {
		t.Logf("insert into boxes: %v", err) // any answer but "permission denied" is fine
	}
	for _, q := range []string{
		`UPDATE audit_events SET actor = 'forged'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
		`DROP TRIGGER audit_events_no_change ON audit_events`,
		`ALTER TABLE audit_events DISABLE TRIGGER USER`,
		`UPDATE audit_checkpoints SET body = ''`,
		`DELETE FROM audit_checkpoints`,
		`TRUNCATE audit_checkpoints`,
	} {
		_, err := app.ExecContext(t.Context(), q)
		if err == nil || !(strings.Contains(err.Error(), "permission denied") || strings.Contains(err.Error(), "must be owner")) {
			t.Errorf("%s as the app role: %v, want permission denied", q, err)
		}
	}
	if _, err := app.ExecContext(t.Context(), `UPDATE audit_chains SET seq = seq WHERE part = 0`); err != nil {
		t.Errorf("the app role cannot move a chain head: %v", err)
	}
}
