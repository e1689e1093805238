package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/mail/mailtest"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestNotificationsThroughSMTP: notification mail goes through a real SMTP
// exchange (STARTTLS, login), with a UTF-8 subject, Message-ID and Date, exactly
// once — also when the server fails twice and recovers — and, as a person would
// count it (issue 15): a box with no file mails nobody; one send of twelve files
// is one mail; a member added to that box gets one mail however busy it is.
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
			in.afterWindow()
			for _, m := range srv.Messages()[before:] {
				if p, err := m.Parse(); err == nil && strings.Contains(p.Text, "/boxes/") {
					t.Errorf("a box without files mailed %v: %q", m.To, p.Subject)
				}
			}
			for i := range 12 { // one send of twelve files
				x.sender.upload(x.box, "slice"+string(rune('a'+i))+".jpg", jpeg(uint64(60+i), 3000))
			}
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
			// A member added to the busy box: one mail, whatever happens in it next.
			added := len(srv.Messages())
			x.sender.relogin()
			must(t, x.sender.json("POST", "/api/v1/boxes/"+x.box+"/participants", map[string]any{"member_ids": []string{x.outsideID}}, nil), http.StatusOK, "add")
			for i := range 5 {
				x.rcpt.relogin()
				x.rcpt.json("POST", "/api/v1/boxes/"+x.box+"/comments", map[string]string{"body": "コメント"}, nil)
				x.sender.upload(x.box, "later"+string(rune('a'+i))+".jpg", jpeg(uint64(80+i), 2000))
				in.afterWindow() // a minute each: five minutes
			}
			var toAdded int
			for _, m := range srv.Messages()[added:] {
				for _, to := range m.To {
					if to == "outside@c.example.jp" {
						toAdded++
					}
				}
			}
			if toAdded != 1 {
				t.Errorf("the member added later got %d mails in five busy minutes, want 1", toAdded)
			}
		})
	}
}
