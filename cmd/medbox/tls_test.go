package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/sqldb/sqltest"
)

// testCert writes a self-signed certificate for 127.0.0.1 and returns its files
// and a pool that trusts it.
func testCert(t testing.TB) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "medbox test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// namedCert writes a self-signed certificate for names and returns its files and
// the base64 SHA-256 of its public key, which Chromium can be told to trust
// (--ignore-certificate-errors-spki-list).
func namedCert(t testing.TB, names ...string) (certFile, keyFile, spki string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ = x509.ParseCertificate(der)
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return certFile, keyFile, base64.StdEncoding.EncodeToString(sum[:]), cert
}

func tlsFreeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startTLS runs an instance over HTTPS with a plain-HTTP redirect listener.
func startTLS(t *testing.T) (*instance, string) {
	certFile, keyFile, roots := testCert(t)
	redirect := tlsFreeAddr(t)
	in := startInstance(t, instanceOptions{roots: roots, env: map[string]string{
		"MEDBOX_TLS_CERT": certFile, "MEDBOX_TLS_KEY": keyFile, "MEDBOX_HTTP_LISTEN": redirect}})
	return in, redirect
}

// TestTLS (R-X3): TLS 1.3, and TLS 1.2 only with ECDHE and AEAD suites; HSTS;
// __Host- secure cookies; plain HTTP redirects to HTTPS.
func TestTLS(t *testing.T) {
	in, redirect := startTLS(t)
	if !strings.HasPrefix(in.url, "https://") {
		t.Fatalf("base URL %s", in.url)
	}
	host := strings.TrimPrefix(in.url, "https://")
	dial := func(c *tls.Config) error {
		c.RootCAs = in.roots
		conn, err := tls.Dial("tcp", host, c)
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := dial(&tls.Config{MinVersion: tls.VersionTLS13}); err != nil {
		t.Errorf("TLS 1.3: %v", err)
	}
	if err := dial(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}); err != nil {
		t.Errorf("TLS 1.2 with ECDHE-ECDSA-AES128-GCM: %v", err)
	}
	for _, cs := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256} {
		if err := dial(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{cs}}); err == nil {
			t.Errorf("TLS 1.2 CBC suite %s was accepted", tls.CipherSuiteName(cs))
		}
	}
	if err := dial(&tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("TLS 1.1 was accepted")
	}
	// HTTP/1.1 by default: a browser then sends chunks on six connections, where
	// HTTP/2 would put them all on one (MEDBOX_HTTP2).
	conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: in.roots, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("a browser offering h2 got %q by default; want http/1.1", p)
	}
	conn.Close()
	c := in.client()
	status, _, h := c.do("GET", "/login", nil, nil)
	if status != http.StatusOK || !strings.Contains(h.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("HSTS: %d %q", status, h.Get("Strict-Transport-Security"))
	}
	admin := in.admin()
	if len(admin.device) != 1 || admin.device[0].Name != "__Host-medbox_device" {
		t.Errorf("remembered-device cookie over HTTPS: %v, want one named __Host-medbox_device", admin.device)
	}
	web := in.client()
	web.http.Jar.SetCookies(mustURL(in.url), admin.device)
	_, _, h = web.form("/login", "email", admin.user, "password", admin.pass)
	cookie := h.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "__Host-medbox_session=") || !strings.Contains(cookie, "Secure") || !strings.Contains(cookie, "HttpOnly") ||
		!strings.Contains(cookie, "Path=/") || strings.Contains(cookie, "Domain=") {
		t.Errorf("session cookie %q, want __Host-, Secure, HttpOnly, Path=/ and no Domain", cookie)
	}
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := plain.Get("http://" + redirect + "/boxes?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != in.url+"/boxes?x=1" {
		t.Errorf("plain HTTP: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestTestSSL runs Debian's testssl against a TLS instance: no protocol below
// TLS 1.2 is offered and no CBC suite.
func TestTestSSL(t *testing.T) {
	bin, err := exec.LookPath("testssl")
	if err != nil {
		if bin, err = exec.LookPath("testssl.sh"); err != nil {
			sqltest.Unavailable(t, "testssl (Debian package testssl.sh) is not installed")
		}
	}
	if testing.Short() {
		t.Skip("testssl takes a while")
	}
	t.Parallel() // alongside the other long waits at the end of the package
	in, _ := startTLS(t)
	out := filepath.Join(t.TempDir(), "testssl.json")
	cmd := exec.CommandContext(t.Context(), bin, "--quiet", "--color", "0", "--warnings", "off", "--ip", "one", "-p", "-e",
		"--jsonfile", out, strings.TrimPrefix(in.url, "https://"))
	b, err := cmd.CombinedOutput()
	if err != nil && len(b) == 0 {
		t.Fatalf("testssl: %v", err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("testssl wrote no results: %v\n%s", err, b)
	}
	var findings []struct{ ID, Severity, Finding string }
	if err := json.Unmarshal(raw, &findings); err != nil {
		t.Fatalf("testssl results: %v", err)
	}
	offered := map[string]bool{}
	ciphers := 0
	for _, f := range findings {
		switch f.ID {
		case "SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3":
			offered[f.ID] = strings.HasPrefix(f.Finding, "offered")
		}
		if strings.HasPrefix(f.ID, "cipher-") || strings.HasPrefix(f.ID, "cipher_x") {
			ciphers++
			if strings.Contains(f.Finding, "CBC") || strings.Contains(f.Finding, "-SHA ") || strings.Contains(f.Finding, "CBC-") {
				t.Errorf("testssl finds a CBC suite offered: %s", f.Finding)
			}
		}
	}
	for _, p := range []string{"SSLv2", "SSLv3", "TLS1", "TLS1_1"} {
		if offered[p] {
			t.Errorf("testssl: %s is offered", p)
		}
	}
	if !offered["TLS1_2"] || !offered["TLS1_3"] {
		t.Errorf("testssl: TLS 1.2 offered %v, TLS 1.3 offered %v", offered["TLS1_2"], offered["TLS1_3"])
	}
	if ciphers == 0 {
		t.Errorf("testssl listed no ciphers:\n%s", b)
	}
	t.Logf("testssl: %d cipher findings, protocols %v", ciphers, offered)
}
