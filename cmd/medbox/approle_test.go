package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"

	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestServiceRunsAsRestrictedRole: with MEDBOX_DATABASE_OWNER set, migrations run as
// the owner and the whole service works as a role that cannot change the audit log.
func TestServiceRunsAsRestrictedRole(t *testing.T) {
	ownerURL := sqltest.NewPostgresURL(t)
	b := make([]byte, 4)
	rand.Read(b)
	role := "medbox_app_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE ROLE ` + role + ` LOGIN`); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ownerURL)
	u.User = url.User(role)
	in := startInstance(t, instanceOptions{database: u.String(), env: map[string]string{"MEDBOX_DATABASE_OWNER": ownerURL, "MEDBOX_CHUNK_SIZE": "256KiB"}})
	t.Cleanup(func() {
		admin.Exec(`DROP OWNED BY ` + role)
		admin.Exec(`DROP ROLE ` + role)
	})
	x := newExchange(t, in)
	file := x.sender.upload(x.box, "a.jpg", jpeg(130, 3000))
	must(t, mustStatus(x.rcpt.do2("GET", "/api/v1/files/"+file+"/content")), http.StatusOK, "download as the app role")
	if _, err := in.db().ExecContext(context.Background(), `DELETE FROM audit_events`); err == nil {
		t.Error("the service's own connection could delete audit events")
	}
}
