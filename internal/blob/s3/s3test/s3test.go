// Package s3test runs a real S3 server for tests: versitygw, serving a temporary
// directory on a loopback port, installed by scripts/install-versitygw.sh.
//
// Without versitygw a test that needs it is skipped on a developer machine and
// fails under CI (CI=true).
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"go/build"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/medbox-jp/medbox/internal/blob/s3"
	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// Region is the region the test server reports and the URLs name.
const Region = "us-east-1"

// StartServer starts versitygw for the rest of t, creates a bucket in it and
// returns the bucket's s3:// URL, for blob.Open. Any number of stores — of one or
// several app instances — may open the URL. StartServer sets AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY for t (so t must not be parallel) and stops the server when
// t ends.
func StartServer(t testing.TB) string {
	t.Helper()
	return startServer(t, false)
}

// StartTLSServer is StartServer with the server on HTTPS, under a certificate
// made for the test that AWS_CA_BUNDLE, set for t, tells clients to trust.
func StartTLSServer(t testing.TB) string {
	t.Helper()
	return startServer(t, true)
}

func startServer(t testing.TB, useTLS bool) string {
	t.Helper()
	bin := findBinary(t)
	access, secret := randHex(8), randHex(20)
	t.Setenv("AWS_ACCESS_KEY_ID", access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	var tlsArgs []string
	if useTLS {
		cert, key, ca := makeCert(t)
		t.Setenv("AWS_CA_BUNDLE", ca)
		tlsArgs = []string{"--cert", cert, "--key", key}
	}
	var lastErr error
	for range 3 { // the free port may be taken before versitygw binds it
		endpoint, err := start(t, bin, access, secret, tlsArgs)
		if err == nil {
			return newBucket(t, endpoint)
		}
		lastErr = err
	}
	t.Fatalf("start versitygw: %v", lastErr)
	return ""
}

// NewBucket creates an empty bucket on the server that serverURL (an s3:// URL
// from StartServer) points to, and returns that bucket's URL.
func NewBucket(t testing.TB, serverURL string) string {
	t.Helper()
	loc, err := s3.ParseURL(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	return newBucket(t, loc.Endpoint)
}

func newBucket(t testing.TB, endpoint string) string {
	t.Helper()
	bucket := "medbox-t-" + randHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(Region)) // credentials, AWS_CA_BUNDLE
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	client := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
	if _, err := client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("create test bucket: %v", err)
	}
	return "s3://" + bucket + "?endpoint=" + url.QueryEscape(endpoint) + "&region=" + Region + "&path_style=true"
}

// findBinary looks for versitygw on PATH, then in GOPATH/bin.
func findBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	sqltest.Unavailable(t, "versitygw not on PATH or in GOPATH/bin (run scripts/install-versitygw.sh)")
	return ""
}

// start runs versitygw on a free loopback port and waits until it answers.
func start(t testing.TB, bin, access, secret string, tlsArgs []string) (endpoint string, err error) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var out syncBuffer
	args := append([]string{"--access", access, "--secret", secret, "--region", Region,
		"--port", addr, "--quiet"}, tlsArgs...)
	cmd := exec.Command(bin, append(args, "posix", t.TempDir())...) // #nosec G204 -- test helper starting versitygw
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	endpoint = "http://" + addr
	if tlsArgs != nil {
		endpoint = "https://" + addr
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			return "", fmt.Errorf("versitygw exited: %v: %s", err, out.String())
		default:
		}
		if ready(endpoint) {
			t.Cleanup(stop)
			return endpoint, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("versitygw did not answer on %s within 15s: %s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ready reports whether something answers HTTP at endpoint.
func ready(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer collects the server's output from its copying goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 64<<10 {
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
