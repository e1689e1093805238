package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/blob/s3/s3test"
	"github.com/medbox-jp/medbox/internal/box"
	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/config"
	"github.com/medbox-jp/medbox/internal/member"
	"github.com/medbox-jp/medbox/internal/server"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// TestTwoInstancesBehaveAsOne (R-R2): two instances on one PostgreSQL database
// and one S3 bucket act as one service. Everything a request or a job needs is
// shared — sessions, lockout and throttle counters, upload state, the job queue —
// so a member may be sent to either instance at every request, and background
// work runs exactly once. A third instance, a real process, is killed with
// SIGKILL in the middle of an upload, and the others carry on with it.
//
// The steps share one cluster and run in order; the clocks only move forward.
func TestTwoInstancesBehaveAsOne(t *testing.T) {
	p := startCluster(t, map[string]string{"MEDBOX_ADDR_FAILURES": "12"})
	sa, sb, senderID := p.member("sender@a.example.jp", "送 信子", "そう のぶこ")
	ra, rb, rcptID := p.member("rcpt@b.example.jp", "受 信男", "じゅ のぶお")
	relogin := func(a, b *client) { a.relogin(); b.tok = a.tok }
	var boxID string

	t.Run("sign in on one, continue on the other", func(t *testing.T) {
		var me map[string]any
		must(t, sb.json("GET", "/api/v1/me", nil, &me), http.StatusOK, "me on b with a's token", me)
		if me["id"] != senderID {
			t.Errorf("b says the token is %v's, want %s", me["id"], senderID)
		}
		var b map[string]any
		must(t, sb.json("POST", "/api/v1/boxes", map[string]any{"recipients": []string{rcptID}, "expires_in_hours": 72}, &b),
			http.StatusCreated, "create box on b", b)
		boxID = b["id"].(string)
		must(t, sa.json("GET", "/api/v1/boxes/"+boxID, nil, nil), http.StatusOK, "read it on a")

		// A browser session: the cookie set by a works on b, for pages and forms,
		// and signing out on b ends it on a.
		wa := p.a.client()
		status, body, _ := wa.form("/login", "email", "rcpt@b.example.jp", "password", "correct horse battery")
		must(t, status, http.StatusSeeOther, "web sign-in on a", body)
		au, _ := url.Parse(p.a.url)
		bu, _ := url.Parse(p.b.url)
		wb := p.b.client()
		wb.http.Jar.SetCookies(bu, wa.http.Jar.Cookies(au))
		if len(wa.http.Jar.Cookies(au)) == 0 {
			t.Fatal("sign-in on a set no cookie")
		}
		status, page := wb.get("/boxes/" + boxID)
		must(t, status, http.StatusOK, "box page on b with a's cookie", page)
		status, body, _ = wb.form("/boxes/"+boxID+"/comments", "body", "b で書きました")
		if status != http.StatusSeeOther && status != http.StatusOK {
			t.Fatalf("comment form on b: %d %s", status, body)
		}
		var got struct {
			Comments []struct{ Body string } `json:"comments"`
		}
		must(t, ra.json("GET", "/api/v1/boxes/"+boxID, nil, &got), http.StatusOK, "box on a")
		if len(got.Comments) != 1 || got.Comments[0].Body != "b で書きました" {
			t.Errorf("comments seen on a: %+v", got.Comments)
		}
		status, body, _ = wb.form("/logout")
		must(t, status, http.StatusSeeOther, "sign out on b", body)
		if status, _ := wa.get("/boxes"); status != http.StatusSeeOther {
			t.Errorf("a still accepts the session signed out on b: %d", status)
		}
		// The same for API tokens.
		must(t, rb.json("POST", "/api/v1/logout", nil, nil), http.StatusNoContent, "API sign-out on b")
		if status := ra.json("GET", "/api/v1/me", nil, nil); status != http.StatusUnauthorized {
			t.Errorf("a accepts a token signed out on b: %d", status)
		}
		relogin(ra, rb)
	})

	t.Run("lockout counts on both", func(t *testing.T) {
		for i := range 5 { // the default lock after 5, spread over the two
			in := []*instance{p.a, p.b}[i%2]
			if status := in.client().json("POST", "/api/v1/login", map[string]string{"email": "rcpt@b.example.jp", "password": fmt.Sprint("wrong", i)}, nil); status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d on %s: %d", i, in.url, status)
			}
		}
		for _, in := range []*instance{p.a, p.b} {
			if status := in.client().json("POST", "/api/v1/login", map[string]string{"email": "rcpt@b.example.jp", "password": "correct horse battery"}, nil); status != http.StatusUnauthorized {
				t.Errorf("the right password while locked, on %s: %d", in.url, status)
			}
		}
		p.advance(16 * time.Minute)
		rb.login("rcpt@b.example.jp", "correct horse battery")
		ra.tok = rb.tok
		relogin(sa, sb)
	})

	t.Run("address throttle counts on both", func(t *testing.T) {
		first := 0
		for i := range 20 {
			in := []*instance{p.a, p.b}[i%2]
			status := in.client().json("POST", "/api/v1/login", map[string]string{"email": fmt.Sprintf("nobody%d@example.jp", i), "password": "Summer2026!"}, nil)
			if status == http.StatusTooManyRequests {
				first = i
				break
			}
		}
		if first != 12 {
			t.Errorf("throttled at attempt %d, want 12 (MEDBOX_ADDR_FAILURES=12 across both instances)", first)
		}
		for _, in := range []*instance{p.a, p.b} {
			if status := in.client().json("POST", "/api/v1/login", map[string]string{"email": "sender@a.example.jp", "password": "correct horse battery"}, nil); status != http.StatusTooManyRequests {
				t.Errorf("%s lets a throttled address sign in: %d", in.url, status)
			}
		}
		p.advance(16 * time.Minute)
		relogin(sa, sb)
		relogin(ra, rb)
	})

	t.Run("chunks alternate between instances", func(t *testing.T) {
		data := jpeg(71, 9*256<<10+777) // ten chunks
		status, u, e := sa.createUpload(boxID, "alternating.jpg", int64(len(data)))
		must(t, status, http.StatusCreated, "create upload on a", e)
		for n := range u.ChunkCount {
			c := []*client{sa, sb}[n%2]
			status, body := c.putChunk(u, n, data)
			must(t, status, http.StatusNoContent, fmt.Sprintf("chunk %d on %s", n, c.in.url), string(body))
		}
		var st uploadJSON
		must(t, sb.json("GET", "/api/v1/uploads/"+u.ID, nil, &st), http.StatusOK, "status on b")
		if len(st.Received) != u.ChunkCount {
			t.Fatalf("b sees chunks %v, want all %d", st.Received, u.ChunkCount)
		}
		var done struct{ File map[string]any }
		must(t, sb.json("POST", "/api/v1/uploads/"+u.ID+"/complete", nil, &done), http.StatusCreated, "complete on b")
		file := done.File["id"].(string)
		status, body, _ := ra.do("GET", "/api/v1/files/"+file+"/content", nil, nil)
		if status != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("download on a: %d, %d bytes, equal %v", status, len(body), bytes.Equal(body, data))
		}
		status, body, _ = rb.do("GET", "/api/v1/files/"+file+"/content", nil, map[string]string{"Range": "bytes=700000-700099"})
		if status != http.StatusPartialContent || !bytes.Equal(body, data[700000:700100]) {
			t.Errorf("range read on b: %d, %d bytes", status, len(body))
		}
	})

	t.Run("instance killed mid-upload loses no acknowledged chunk", func(t *testing.T) {
		scaleKilledMidUpload(t, p, sa, sb, boxID)
	})

	t.Run("reminder mails go exactly once", func(t *testing.T) {
		_, _, r2 := p.member("rcpt2@c.example.jp", "受 二郎", "じゅ じろう")
		_, _, r3 := p.member("rcpt3@d.example.jp", "受 三郎", "じゅ さぶろう")
		relogin(sa, sb)
		var b map[string]any
		must(t, sa.json("POST", "/api/v1/boxes", map[string]any{"recipients": []string{r2, r3}, "expires_in_hours": 72}, &b),
			http.StatusCreated, "create box", b)
		sa.upload(b["id"].(string), "first.jpg", jpeg(72, 1000)) // the news: no mail for an empty exchange
		p.afterWindow()
		for _, addr := range []string{"rcpt2@c.example.jp", "rcpt3@d.example.jp"} {
			n := 0
			for _, m := range p.mailsTo(addr) {
				if strings.Contains(m.Text, "/boxes/"+b["id"].(string)) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: %d mails about the new box, want 1", addr, n)
			}
		}
		before := map[string]int{}
		for _, addr := range []string{"rcpt2@c.example.jp", "rcpt3@d.example.jp", "rcpt@b.example.jp"} {
			before[addr] = len(p.mailsTo(addr))
		}
		p.advance(25 * time.Hour)
		for range 3 { // both instances, several times over: still one mail each
			p.deliver()
		}
		p.advance(61 * time.Second)
		for range 3 {
			p.deliver()
		}
		for addr, n := range before {
			got := p.mailsTo(addr)[n:]
			if len(got) != 1 {
				var subj []string
				for _, m := range got {
					subj = append(subj, m.Subject)
				}
				t.Errorf("%s: %d mails after 25 hours unread, want one reminder: %q", addr, len(got), subj)
			}
		}
		seen := map[string]bool{}
		for _, r := range p.mail.Messages() {
			m, _ := r.Parse()
			id := m.Header.Get("Message-Id")
			if seen[id] {
				t.Errorf("message %s was sent twice (subject %q)", id, m.Subject)
			}
			seen[id] = true
		}
	})

	t.Run("1000 expiring boxes deleted exactly once", func(t *testing.T) {
		scaleExpireThousand(t, p, member.ID(senderID), member.ID(rcptID))
	})
}

// scaleKilledMidUpload: an upload created on a sends its chunks to a third
// instance, a medbox process, which is killed with SIGKILL while chunks are in
// flight. b then knows every chunk the process acknowledged; the rest go to b,
// and the file completes on a.
func scaleKilledMidUpload(t *testing.T, p *cluster, sa, sb *client, boxID string) {
	env := map[string]string{"MEDBOX_LOG_LEVEL": "error"}
	for k, v := range p.env {
		env[k] = v
	}
	env["MEDBOX_SMTP_URL"] = ""           // its clock runs on by itself and must not send the cluster's mail early
	child := startProc(t, p.a.clock, env) // starts where the cluster's clock stands
	sa.relogin()
	sb.tok = sa.tok
	sc := child.instance().client()
	sc.login("sender@a.example.jp", "correct horse battery")

	data := jpeg(72, 24*256<<10) // 24 chunks
	status, u, e := sa.createUpload(boxID, "killed.jpg", int64(len(data)))
	must(t, status, http.StatusCreated, "create upload on a", e)
	seed := uint64(time.Now().UnixNano())
	killAt := int64(2 + rand.New(rand.NewPCG(seed, 1)).IntN(u.ChunkCount-6))
	t.Logf("seed %d: SIGKILL after %d acknowledged chunks", seed, killAt)
	hc := &http.Client{Timeout: time.Minute}
	defer hc.CloseIdleConnections()
	var mu sync.Mutex
	acked := map[int]bool{}
	var count atomic.Int64
	next := make(chan int, u.ChunkCount)
	for n := range u.ChunkCount {
		next <- n
	}
	close(next)
	trigger := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 { // parallel chunk requests, as the browser sends them
		wg.Go(func() {
			for n := range next {
				lo := int64(n) * u.ChunkSize
				part := data[lo:min(lo+u.ChunkSize, int64(len(data)))]
				status, _, err := apiCall(hc, "PUT", fmt.Sprintf("%s/api/v1/uploads/%s/chunks/%d", child.url, u.ID, n), sc.tok, part, nil)
				if err != nil {
					return
				}
				if status == http.StatusNoContent {
					mu.Lock()
					acked[n] = true
					mu.Unlock()
					if count.Add(1) == killAt {
						close(trigger)
					}
				}
			}
		})
	}
	<-trigger
	child.kill()
	wg.Wait()
	// The dead process's chunk claims carry its clock, which ran on from the
	// cluster's; b takes those chunks once the claims are stale (20 s unrenewed).
	p.advance(time.Since(child.born) + 21*time.Second)
	var st uploadJSON
	must(t, sb.json("GET", "/api/v1/uploads/"+u.ID, nil, &st), http.StatusOK, "status on b")
	have := map[int]bool{}
	for _, n := range st.Received {
		have[n] = true
	}
	for n := range acked {
		if !have[n] {
			t.Errorf("chunk %d was acknowledged by the killed instance but b does not have it (%v)", n, st.Received)
		}
	}
	t.Logf("%d chunks acknowledged before the kill, %d recorded", len(acked), len(st.Received))
	for n := range u.ChunkCount {
		if !have[n] {
			status, body := sb.putChunk(u, n, data)
			must(t, status, http.StatusNoContent, fmt.Sprintf("chunk %d on b", n), string(body))
		}
	}
	var done struct{ File map[string]any }
	must(t, sa.json("POST", "/api/v1/uploads/"+u.ID+"/complete", nil, &done), http.StatusCreated, "complete on a")
	status, body, _ := sb.do("GET", "/api/v1/files/"+done.File["id"].(string)+"/content", nil, nil)
	if status != http.StatusOK || sha256.Sum256(body) != sha256.Sum256(data) {
		t.Errorf("download on b: %d, %d bytes, want the %d uploaded", status, len(body), len(data))
	}
}

// scaleExpireThousand: 1,000 boxes, some with files and uploads in progress,
// expire while both instances' queues run and both also sweep at once (as each
// does when it starts). Every box is deleted once — one audit entry each, an
// intact chain — quota is given back once, and nothing stored is left behind.
func scaleExpireThousand(t *testing.T, p *cluster, sender, rcpt member.ID) {
	ctx := context.Background()
	start := time.Now()
	const n = 1000
	ids := make([]box.ID, n)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				b, err := p.a.app.Boxes.Create(ctx, sender, box.Draft{Recipients: []member.ID{rcpt}, ExpiresIn: time.Hour}, "")
				if err != nil {
					failed.Add(1)
					t.Errorf("create box %d: %v", i, err)
					return
				}
				ids[i] = b.ID
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	// Files in 10 of them, uploads in progress in 10 more: their quota must come
	// back exactly once.
	for i := range 20 {
		data := jpeg(uint64(900+i), 3000)
		u, err := p.a.app.Uploads.Create(ctx, sender, ids[i*37], fmt.Sprintf("e%d.jpg", i), int64(len(data)), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.b.app.Uploads.PutChunk(ctx, sender, u.ID, 0, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := p.a.app.Uploads.Complete(ctx, sender, u.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.deliver()
	var expiredBefore int
	p.a.db().QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE action = 'box.expire'`).Scan(&expiredBefore)
	t.Logf("1000 boxes with 10 files and 10 uploads created and announced in %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	p.advance(2 * time.Hour)
	for _, in := range []*instance{p.a, p.b} {
		wg.Go(func() {
			if _, err := in.app.Jobs.RunDue(ctx); err != nil {
				t.Errorf("run due jobs: %v", err)
			}
		})
		wg.Go(func() {
			if err := in.app.Boxes.ExpireDue(ctx, in.clock.Now()); err != nil {
				t.Errorf("expire boxes: %v", err)
			}
		})
	}
	wg.Wait()
	p.deliver()
	t.Logf("expired by both instances at once in %v", time.Since(start).Round(time.Millisecond))

	var left, expired int
	p.a.db().QueryRowContext(ctx, `SELECT count(*) FROM boxes WHERE expires_at <= $1`, p.a.clock.Now().UnixMilli()).Scan(&left)
	p.a.db().QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE action = 'box.expire'`).Scan(&expired)
	if left != 0 || expired-expiredBefore != n {
		t.Errorf("after expiry: %d expired boxes left, %d box.expire events, want 0 and %d", left, expired-expiredBefore, n)
	}
	var twice int
	p.a.db().QueryRowContext(ctx, `SELECT count(*) FROM (SELECT target FROM audit_events WHERE action = 'box.expire'
		GROUP BY target HAVING count(*) > 1) d`).Scan(&twice)
	if twice != 0 {
		t.Errorf("%d boxes were recorded as expired more than once", twice)
	}
	if _, err := p.a.app.Audit.Verify(ctx); err != nil {
		t.Errorf("audit chain: %v", err)
	}
	stored, counted, err := p.a.app.Boxes.Recount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for id := range mergeKeys(stored, counted) {
		if stored[id] != counted[id] {
			t.Errorf("member %s: stored usage %d, recount %d", id, stored[id], counted[id])
		}
	}
	if err := p.a.app.Uploads.SweepOrphans(ctx, p.a.clock.Now()); err != nil {
		t.Fatal(err)
	}
	checkStoreState(t, openStoreState(t, p.env, t.TempDir()))
}

func mergeKeys[K comparable, V any](ms ...map[K]V) map[K]bool {
	out := map[K]bool{}
	for _, m := range ms {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

// TestScaleOutInstancesStartAtOnce: four instances start at the same moment on
// an empty PostgreSQL database with no master key file yet. Every one comes up;
// the migrations are applied once; all hold the same master key.
func TestScaleOutInstancesStartAtOnce(t *testing.T) {
	dbURL := emptyPostgres(t)
	keyFile := filepath.Join(t.TempDir(), "master.key")
	const n = 4
	apps := make([]*server.Instance, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			env := map[string]string{"MEDBOX_DATA": t.TempDir(), "MEDBOX_DATABASE": dbURL, "MEDBOX_MASTER_KEY_FILE": keyFile}
			cfg, err := config.Load(nil, envOf(env))
			if err != nil {
				errs[i] = err
				return
			}
			<-gate
			hp := member.TestHashParams
			apps[i], errs[i] = server.New(context.Background(), cfg, server.NewLogger(&syncBuffer{}, "error"), server.Options{Now: clocktest.New().Now, HashParams: &hp})
		})
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		defer apps[i].Close()
	}
	for i, a := range apps {
		if a.Master.CurrentID() != apps[0].Master.CurrentID() {
			t.Errorf("instance %d holds master key %s, instance 0 %s", i, a.Master.CurrentID(), apps[0].Master.CurrentID())
		}
	}
	var dup int
	err := apps[0].DB.QueryRowContext(context.Background(), `SELECT count(*) FROM (SELECT version_id FROM goose_db_version
		GROUP BY version_id HAVING count(*) > 1) d`).Scan(&dup)
	if err != nil || dup != 0 {
		t.Errorf("migrations applied more than once: %d versions twice (%v)", dup, err)
	}
	// The schema is whole: an instance can do real work on it.
	if _, err := apps[1].Members.SetupLink(context.Background()); err != nil {
		t.Errorf("use the migrated schema: %v", err)
	}
}

// emptyPostgres creates an empty database (no migrations) on the test server and
// drops it when t ends.
func emptyPostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv("MEDBOX_TEST_POSTGRES")
	if base == "" {
		base = sqltest.DefaultPostgres
	}
	admin, err := sql.Open("pgx", base)
	if err == nil {
		err = admin.PingContext(t.Context())
	}
	if err != nil {
		sqltest.Unavailable(t, "PostgreSQL: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("medbox_t_empty_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestScaleOutReadiness (R-R3): /readyz answers 200 only while the database and
// the bucket both answer, so a load balancer sends no one to an instance that
// cannot serve them; /healthz only says the process is up.
func TestScaleOutReadiness(t *testing.T) {
	bucket := s3test.StartServer(t)
	good := startInstance(t, instanceOptions{database: sqltest.NewPostgresURL(t), env: map[string]string{"MEDBOX_BLOBS": bucket}})
	u, err := url.Parse(bucket)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = "medbox-no-such-bucket"
	bad := startInstance(t, instanceOptions{env: map[string]string{"MEDBOX_BLOBS": u.String()}})
	for _, c := range []struct {
		in   *instance
		path string
		want int
		what string
	}{
		{good, "/readyz", http.StatusOK, "database and bucket answer"},
		{good, "/healthz", http.StatusOK, "up"},
		{bad, "/readyz", http.StatusServiceUnavailable, "the bucket does not exist"},
		{bad, "/healthz", http.StatusOK, "up, though not ready"},
	} {
		if status, body := c.in.client().get(c.path); status != c.want {
			t.Errorf("%s when %s: %d %q, want %d", c.path, c.what, status, body, c.want)
		}
	}
	good.app.DB.Close() // the database goes away
	if status, _ := good.client().get("/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz without a database: %d, want 503", status)
	}
}
