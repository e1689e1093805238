package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/blob/s3/s3test"
	"github.com/medbox-jp/medbox/internal/clocktest"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// crashClients is how many uploads run at once when the instance is killed.
const crashClients = 8

// TestCrashDuringUploads (R-R2, R-R3): 8 clients upload multi-chunk files to a real
// medbox process, which is killed with SIGKILL at a random moment (seeded; the
// seed and every kill point are logged). After a restart: no partial file is
// visible, every chunk a client got 204 for is still there, every upload can be
// finished and reads back with the right SHA-256, and after one `medbox admin
// sweep` no stored object lacks its file or upload row and every member's stored
// quota equals a recount.
//
// MEDBOX_CRASH_ROUNDS sets the rounds of each variant (default 5 on PostgreSQL+S3
// and 2 on SQLite+disk); MEDBOX_CRASH_SEED replays a run.
func TestCrashDuringUploads(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MEDBOX_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("MEDBOX_CRASH_SEED: %v", err)
		}
	}
	pgRounds, liteRounds := 5, 2
	if s := os.Getenv("MEDBOX_CRASH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("MEDBOX_CRASH_ROUNDS=%q: want a positive number", s)
		}
		pgRounds, liteRounds = n, n
	}
	t.Logf("crash test seed %d (MEDBOX_CRASH_SEED=%d replays it)", seed, seed)
	// The variants run side by side: each has its own process, database and store,
	// and much of a round is waiting (round 0 for claims to go stale). The S3
	// server starts here: it sets the process's AWS variables, which a parallel
	// test may not.
	pgEnv := map[string]string{"MEDBOX_DATABASE": sqltest.NewPostgresURL(t), "MEDBOX_BLOBS": s3test.StartServer(t)}
	t.Run("postgres+s3", func(t *testing.T) {
		t.Parallel()
		newCrashRig(t, pgEnv).rounds(pgRounds, seed)
	})
	t.Run("sqlite+disk", func(t *testing.T) {
		t.Parallel()
		newCrashRig(t, map[string]string{}).rounds(liteRounds, seed+1)
	})
}

// crashRig is a medbox process with a sender (one session per upload client)
// and a recipient; each round sends a new box between them.
type crashRig struct {
	t      *testing.T
	p      *proc
	hc     *http.Client
	tokens []string // the sender's sessions, one per client
	box    string   // this round's
	rcpt   string
	files  map[string][]byte // every file that should exist, by id
}

func newCrashRig(t *testing.T, env map[string]string) *crashRig {
	env["MEDBOX_CHUNK_SIZE"] = "256KiB"
	start := time.Now()
	p := startProc(t, clocktest.New(), env)
	r := &crashRig{t: t, p: p, files: map[string][]byte{},
		hc: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * crashClients}}}
	t.Cleanup(r.hc.CloseIdleConnections)
	senderClient, _ := r.approvedMember("crash-sender@a.example.jp")
	_, r.rcpt = r.approvedMember("crash-rcpt@b.example.jp")
	r.tokens = append(r.tokens, senderClient.tok)
	for len(r.tokens) < crashClients {
		c := p.instance().client()
		c.login("crash-sender@a.example.jp", "correct horse battery")
		r.tokens = append(r.tokens, c.tok)
	}
	t.Logf("process up with two approved members in %v", time.Since(start).Round(time.Millisecond))
	return r
}

// approvedMember registers through the API with a PNG proof, confirms with the
// link from the outbox .eml, approves with `medbox admin approve`, and signs in.
func (r *crashRig) approvedMember(email string) (*client, string) {
	t := r.t
	in := r.p.instance()
	c := in.client()
	status, body := c.registerAPI(newMember{Email: email})
	must(t, status, http.StatusAccepted, "register "+email, string(body))
	var token string
	for deadline := time.Now().Add(30 * time.Second); token == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		token = confirmToken(t, r.p.data+"/outbox", email)
	}
	if token == "" {
		t.Fatalf("no confirmation mail to %s in the outbox", email)
	}
	status, page, _ := in.client().form("/confirm", "token", token)
	must(t, status, http.StatusSeeOther, "confirm "+email, page)
	if out, err := r.p.command("", "admin", "approve", "--email", email); err != nil {
		t.Fatalf("medbox admin approve: %v\n%s", err, out)
	}
	me := c.login(email, "correct horse battery")
	return c, me["id"].(string)
}

// confirmToken finds the confirmation token mailed to email, or "".
func confirmToken(t *testing.T, outbox, email string) string {
	entries, _ := os.ReadDir(outbox)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		m := readEML(t, outbox+"/"+e.Name())
		if !strings.Contains(m.To, email) || !strings.Contains(m.Text, "/confirm?token=") {
			continue
		}
		link := m.link(t, "/confirm?token=")
		_, tok, _ := strings.Cut(link, "token=")
		return tok
	}
	return ""
}

// crashUpload is one client's file in one round.
type crashUpload struct {
	client    int
	name      string
	data      []byte
	id        string // upload id
	chunkSize int64
	chunks    int

	mu       sync.Mutex
	acked    map[int]bool // chunks answered 204
	tried    bool         // complete was sent
	givenUp  bool         // aborted, or its file deleted: must not be listed
	fileID   string       // set when complete answered 201
	stopErr  error        // why the client stopped before finishing
	badReply string       // an answer that should never come
}

func (r *crashRig) rounds(n int, seed uint64) {
	for round := range n {
		if !r.t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) { r.round(t, round, seed) }) {
			return
		}
	}
	r.checkPlaintext()
	r.t.Logf("plaintext check: the first and last stored chunk of %d files hold none of their plain bytes", len(r.files))
}

func (r *crashRig) round(t *testing.T, round int, seed uint64) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(seed, uint64(round)))
	body, _ := json.Marshal(map[string]any{"recipients": []string{r.rcpt}, "expires_in_hours": 72})
	status, resp, err := apiCall(r.hc, "POST", r.p.url+"/api/v1/boxes", r.tokens[0], body, map[string]string{"Content-Type": "application/json"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create box: %d %v %s", status, err, resp)
	}
	var b struct{ ID string }
	json.Unmarshal(resp, &b)
	r.box = b.ID
	ups := make([]*crashUpload, crashClients)
	total := 0
	for i := range ups {
		chunks := 3 + rng.IntN(8)
		size := chunks*256<<10 - rng.IntN(200_000)
		u := &crashUpload{client: i, name: fmt.Sprintf("r%02d-c%d.jpg", round, i), data: jpeg(seed^uint64(round*100+i), size), acked: map[int]bool{}}
		body, _ := json.Marshal(map[string]any{"name": u.name, "size": size})
		status, resp, err := apiCall(r.hc, "POST", r.p.url+"/api/v1/boxes/"+r.box+"/uploads", r.tokens[i], body, map[string]string{"Content-Type": "application/json"})
		if err != nil || status != http.StatusCreated {
			t.Fatalf("create upload %s: %d %v %s", u.name, status, err, resp)
		}
		var uj uploadJSON
		json.Unmarshal(resp, &uj)
		u.id, u.chunkSize, u.chunks = uj.ID, uj.ChunkSize, uj.ChunkCount
		total += u.chunks
		if i == crashClients-2 {
			total -= u.chunks - u.chunks/2 // acknowledged at most before it aborts
		}
		ups[i] = u
	}
	killAt := int64(1 + rng.IntN(total-1)) // after this many acknowledged chunks …
	delay := time.Duration(rng.IntN(4000)) * time.Microsecond
	var acked atomic.Int64
	trigger := make(chan struct{})
	var wg sync.WaitGroup
	for i, u := range ups {
		order := rand.New(rand.NewPCG(seed, uint64(round*100+i))).Perm(u.chunks)
		wg.Go(func() { r.send(u, order, &acked, killAt, trigger) })
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-trigger:
		time.Sleep(delay) // … and a little later, mid-request for some clients
	case <-allDone:
		t.Errorf("every client finished before %d chunks were acknowledged", killAt)
	}
	killedAfter := time.Since(start)
	r.p.kill()
	<-allDone
	completed, interrupted := 0, 0
	for _, u := range ups {
		if u.badReply != "" {
			t.Errorf("%s: %s", u.name, u.badReply)
		}
		if u.fileID != "" {
			completed++
		} else {
			interrupted++
		}
	}
	t.Logf("round %d: SIGKILL after %d of %d chunks acknowledged (+%v, %v into the round); %d uploads complete, %d interrupted",
		round, killAt, total, delay, killedAfter.Round(time.Millisecond), completed, interrupted)

	r.hc.CloseIdleConnections()
	if round > 0 {
		// The first round restarts at once, and the clients wait out the claims
		// of requests that died with the process (409 chunk_busy), as the browser
		// does. Later rounds restart as after a while, those claims already
		// stale: the same recovery, without 20 s of waiting each.
		r.p.clock.Advance(restartAfter)
	}
	restart := time.Now()
	r.p.start()
	t.Logf("round %d: restarted in %v", round, time.Since(restart).Round(time.Millisecond))
	r.recover(t, ups)
	out, err := r.p.command("", "admin", "sweep")
	if err != nil {
		t.Fatalf("medbox admin sweep: %v\n%s", err, out)
	}
	t.Logf("round %d: %s", round, strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
	r.checkStore(t)
	t.Logf("round %d: verified in %v", round, time.Since(start).Round(time.Millisecond))
}

// restartAfter is how long after a kill the later rounds restart (on the
// process's clock): longer than a chunk claim lives without renewal (20 s in
// internal/upload).
const restartAfter = 30 * time.Second

// send uploads u's chunks in order, then completes it, until done or the
// process dies under it. Client 6 changes its mind halfway: it aborts while its
// next chunk is still on the way, which can leave that chunk stored after the
// upload is gone — an orphan for the sweep.
func (r *crashRig) send(u *crashUpload, order []int, acked *atomic.Int64, killAt int64, trigger chan struct{}) {
	for i, n := range order {
		if u.client == crashClients-2 && i == len(order)/2 {
			u.mu.Lock()
			u.givenUp = true
			u.mu.Unlock()
			done := make(chan struct{})
			go func() { r.putChunk(u, n); close(done) }() // its answer no longer matters
			apiCall(r.hc, "DELETE", r.p.url+"/api/v1/uploads/"+u.id, r.tokens[u.client], nil, nil)
			<-done
			return
		}
		status, body, err := r.putChunk(u, n)
		if err != nil {
			u.stopErr = err
			return
		}
		if status != http.StatusNoContent {
			u.badReply = fmt.Sprintf("chunk %d: %d %s", n, status, body)
			return
		}
		u.mu.Lock()
		u.acked[n] = true
		u.mu.Unlock()
		if acked.Add(1) == killAt {
			close(trigger)
		}
	}
	u.mu.Lock()
	u.tried = true
	u.mu.Unlock()
	status, body, err := apiCall(r.hc, "POST", r.p.url+"/api/v1/uploads/"+u.id+"/complete", r.tokens[u.client], nil, nil)
	if err != nil {
		u.stopErr = err
		return
	}
	if status != http.StatusCreated {
		u.badReply = fmt.Sprintf("complete: %d %s", status, body)
		return
	}
	u.fileID = fileIDOf(body)
}

// putChunk sends chunk n, waiting out a claim left by a request that died with
// the killed instance (409 chunk_busy), as the browser client does.
func (r *crashRig) putChunk(u *crashUpload, n int) (int, []byte, error) {
	lo := int64(n) * u.chunkSize
	part := u.data[lo:min(lo+u.chunkSize, int64(len(u.data)))]
	sum := sha256.Sum256(part)
	for try := 0; ; try++ {
		status, body, err := apiCall(r.hc, "PUT", fmt.Sprintf("%s/api/v1/uploads/%s/chunks/%d", r.p.url, u.id, n), r.tokens[u.client], part,
			map[string]string{"Content-Digest": "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"})
		if err != nil || status != http.StatusConflict || !bytes.Contains(body, []byte("chunk_busy")) || try >= 100 {
			return status, body, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func fileIDOf(body []byte) string {
	var out struct {
		File struct {
			ID string `json:"id"`
		} `json:"file"`
	}
	json.Unmarshal(body, &out)
	return out.File.ID
}

// boxFiles lists the box's files by name.
func (r *crashRig) boxFiles(t *testing.T) map[string]string {
	status, body, err := apiCall(r.hc, "GET", r.p.url+"/api/v1/boxes/"+r.box, r.tokens[0], nil, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("get box: %d %v %s", status, err, body)
	}
	var b struct {
		Files []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("box JSON: %v", err)
	}
	out := map[string]string{}
	for _, f := range b.Files {
		out[f.Name] = f.ID
	}
	return out
}

// recover finishes the round after the restart as the clients would: each asks
// what arrived, checks its acknowledged chunks are among them, sends the rest
// and completes — except client 6, which gave up before (its abort is repeated
// if the kill came first), and client 7, which gives up now: it aborts its
// upload, or deletes its file if that was already complete.
func (r *crashRig) recover(t *testing.T, ups []*crashUpload) {
	listed := r.boxFiles(t)
	for _, u := range ups {
		id, ok := listed[u.name]
		switch {
		case ok && !u.tried:
			t.Errorf("%s is listed although it was never completed", u.name)
		case ok && u.fileID != "" && id != u.fileID:
			t.Errorf("%s is listed as %s, complete answered %s", u.name, id, u.fileID)
		case ok:
			u.fileID = id // complete committed even if its answer was lost
		case u.fileID != "":
			t.Errorf("%s was completed (201, file %s) but is not in the box after the restart", u.name, u.fileID)
		}
	}
	for _, u := range ups {
		if u.fileID == "" {
			status, body, err := apiCall(r.hc, "GET", r.p.url+"/api/v1/uploads/"+u.id, r.tokens[u.client], nil, nil)
			if u.givenUp && err == nil && status == http.StatusNotFound {
				continue // its abort went through before the kill
			}
			if err != nil || status != http.StatusOK {
				t.Errorf("%s: upload status after restart: %d %v %s (complete sent: %v)", u.name, status, err, body, u.tried)
				continue
			}
			var st uploadJSON
			json.Unmarshal(body, &st)
			have := map[int]bool{}
			for _, n := range st.Received {
				have[n] = true
			}
			for n := range u.acked {
				if !have[n] {
					t.Errorf("%s: chunk %d was acknowledged (204) but is not among %v after the restart", u.name, n, st.Received)
				}
			}
			if u.givenUp || u.client == crashClients-1 {
				u.givenUp = true
				if status, body, err := apiCall(r.hc, "DELETE", r.p.url+"/api/v1/uploads/"+u.id, r.tokens[u.client], nil, nil); err != nil || status != http.StatusNoContent {
					t.Errorf("%s: abort: %d %v %s", u.name, status, err, body)
				}
				continue
			}
			for n := range u.chunks {
				if have[n] {
					continue
				}
				if status, body, err := r.putChunk(u, n); err != nil || status != http.StatusNoContent {
					t.Fatalf("%s: resend chunk %d: %d %v %s", u.name, n, status, err, body)
				}
			}
			status, body, err = apiCall(r.hc, "POST", r.p.url+"/api/v1/uploads/"+u.id+"/complete", r.tokens[u.client], nil, nil)
			if err != nil || status != http.StatusCreated {
				t.Fatalf("%s: complete after restart: %d %v %s", u.name, status, err, body)
			}
			u.fileID = fileIDOf(body)
		} else if u.client == crashClients-1 {
			u.givenUp = true
			if status, body, err := apiCall(r.hc, "DELETE", r.p.url+"/api/v1/files/"+u.fileID, r.tokens[u.client], nil, nil); err != nil || status != http.StatusNoContent {
				t.Errorf("%s: delete file: %d %v %s", u.name, status, err, body)
			}
			u.fileID = ""
			continue
		}
		if u.fileID != "" {
			r.files[u.fileID] = u.data
		}
	}
	// Every finished file reads back whole; the given-up one is gone.
	listed = r.boxFiles(t)
	for _, u := range ups {
		id, ok := listed[u.name]
		if u.givenUp {
			if ok {
				t.Errorf("%s was given up but is listed", u.name)
			}
			continue
		}
		if !ok {
			t.Errorf("%s is missing from the box", u.name)
			continue
		}
		status, body, err := apiCall(r.hc, "GET", r.p.url+"/api/v1/files/"+id+"/content", r.tokens[0], nil, nil)
		if err != nil || status != http.StatusOK {
			t.Errorf("%s: download: %d %v", u.name, status, err)
			continue
		}
		if got, want := sha256.Sum256(body), sha256.Sum256(u.data); got != want {
			t.Errorf("%s: downloaded %d bytes with SHA-256 %x, want %d bytes with %x", u.name, len(body), got[:8], len(u.data), want[:8])
		}
	}
}
