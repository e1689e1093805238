package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/blob/s3/s3test"
	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/mail/mailtest"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// cluster is two whole instances on one PostgreSQL database, one S3 bucket, one
// master key and one SMTP server: a cluster behind a load balancer, with each
// instance reached on its own address. Both read one moved clock, as the
// instances of a cluster share one time.
type cluster struct {
	t    *testing.T
	a, b *instance
	mail *mailtest.Server
	env  map[string]string // what both share, MEDBOX_DATABASE included
}

func startCluster(t *testing.T, extra map[string]string) *cluster {
	t.Helper()
	db := sqltest.NewPostgresURL(t)
	srv := mailtest.Start(t, mailtest.Options{})
	env := map[string]string{
		"MEDBOX_BLOBS":           s3test.StartServer(t),
		"MEDBOX_MASTER_KEY_FILE": filepath.Join(t.TempDir(), "master.key"),
		"MEDBOX_SMTP_URL":        srv.URL(),
		"MEDBOX_CHUNK_SIZE":      "256KiB",
	}
	for k, v := range extra {
		env[k] = v
	}
	p := &cluster{t: t, mail: srv}
	clk := clocktest.New()
	p.a = startInstance(t, instanceOptions{database: db, env: env, clock: clk})
	p.b = startInstance(t, instanceOptions{database: db, env: env, clock: clk})
	p.env = map[string]string{"MEDBOX_DATABASE": db}
	for k, v := range env {
		p.env[k] = v
	}
	return p
}

func (p *cluster) advance(d time.Duration) {
	p.a.clock.Advance(d) // b reads the same clock
}

// deliver makes both instances run what is due at the same moment, as two
// instances of a cluster do, and waits until neither has anything left.
func (p *cluster) deliver() {
	p.t.Helper()
	var wg sync.WaitGroup
	for _, in := range []*instance{p.a, p.b} {
		wg.Go(func() { in.app.Jobs.RunDue(context.Background()) })
	}
	wg.Wait()
	p.a.deliver()
	p.b.deliver()
}

// afterWindow lets events become notices, moves past the notification window
// and delivers the mail that gathers them.
func (p *cluster) afterWindow() {
	p.deliver()
	p.advance(61 * time.Second)
	p.deliver()
}

// mailsTo returns the messages the SMTP server accepted for addr.
func (p *cluster) mailsTo(addr string) []*mailtest.Message {
	p.t.Helper()
	var out []*mailtest.Message
	for _, r := range p.mail.Messages() {
		for _, to := range r.To {
			if strings.EqualFold(to, addr) {
				m, err := r.Parse()
				if err != nil {
					p.t.Fatalf("mail to %s: %v", addr, err)
				}
				out = append(out, m)
			}
		}
	}
	return out
}

// member registers on instance a, confirms through the mailed link on instance
// b, is approved, and signs in on a. It returns a client on each instance that
// carries the one bearer token from that sign-in, and the member's id.
func (p *cluster) member(email, name, kana string) (onA, onB *client, id string) {
	t := p.t
	t.Helper()
	c := p.a.client()
	status, body := c.registerAPI(newMember{Email: email, Name: name, Kana: kana})
	must(t, status, http.StatusAccepted, "register "+email, string(body))
	var link string
	for i := 0; link == "" && i < 100; i++ {
		p.deliver()
		for _, m := range p.mailsTo(email) {
			if l := linkRE.FindString(m.Text); strings.Contains(l, "/confirm?token=") {
				link = l
			}
		}
		if link == "" {
			p.advance(15 * time.Second) // past the retry of a failed send
		}
	}
	if link == "" {
		t.Fatalf("no confirmation mail to %s", email)
	}
	u, _ := url.Parse(link)
	status, page, _ := p.b.client().form("/confirm", "token", u.Query().Get("token"))
	must(t, status, http.StatusSeeOther, "confirm "+email+" on the other instance", page)
	if _, err := p.a.app.Members.ApproveByEmail(context.Background(), email); err != nil {
		t.Fatalf("approve %s: %v", email, err)
	}
	me := c.login(email, "correct horse battery")
	onB = p.b.client()
	onB.tok, onB.user, onB.pass = c.tok, c.user, c.pass
	return c, onB, me["id"].(string)
}
