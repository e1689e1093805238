package main

import (
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/mail/mailtest"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestNotificationsThroughSMTP: notification mail goes through a real SMTP
// exchange (STARTTLS, login), with a UTF-8 subject, Message-ID and Date, exactly
// once — also when the server fails twice and recovers.
func TestNotificationsThroughSMTP(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS, Username: "medbox", Password: "smtp-secret"})
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			o := instanceOptions{env: map[string]string{"MEDBOX_CHUNK_SIZE": "256KiB"}, smtp: srv}
			if db == "postgres" {
				o.database = sqltest.NewPostgresURL(t)
			}
			in := startInstance(t, o)
			before := len(srv.Messages())
			x := newExchange(t, in)
			srv.FailNext(2)
			in.afterWindow()
			for range 3 { // back-off: 10 s, then 20 s
				in.clock.Advance(45 * time.Second)
				in.deliver()
			}
			var got []mailtest.Received
			for _, m := range srv.Messages()[before:] {
				for _, to := range m.To {
					if to == "rcpt@b.example.jp" {
						got = append(got, m)
					}
				}
			}
			var notices []string
			for _, m := range got {
				p, err := m.Parse()
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(p.Subject, "新しいやりとりが届きました") {
					continue
				}
				notices = append(notices, p.Subject)
				if p.Header.Get("Message-Id") == "" || p.Header.Get("Date") == "" || !strings.Contains(p.Text, "/boxes/"+x.box) {
					t.Errorf("notification lacks headers or link: %v\n%s", p.Header, p.Text)
				}
				if !m.TLS {
					t.Error("notification was sent without TLS")
				}
			}
			if len(notices) != 1 {
				t.Errorf("the recipient got %d notifications through SMTP, want exactly 1", len(notices))
			}
		})
	}
}
