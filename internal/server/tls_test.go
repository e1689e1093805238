package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medbox-jp/medbox/internal/config"
)

// certFiles writes a self-signed certificate for names (and its key) into dir
// and returns the two paths.
func certFiles(t *testing.T, dir, label string, names ...string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certPath, keyPath := filepath.Join(dir, label+".crt"), filepath.Join(dir, label+".key")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certPath, keyPath
}

func loadConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	env["MEDBOX_DATA"] = t.TempDir()
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// handshake connects to addr naming server, offering h2 and http/1.1 as a
// browser does, and returns the certificate's names and the protocol chosen.
func handshake(t *testing.T, addr, server string) ([]string, string) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: server, InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}}) // #nosec G402 -- the test reads what the server presents
	if err != nil {
		t.Fatalf("handshake as %s: %v", server, err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	return st.PeerCertificates[0].DNSNames, st.NegotiatedProtocol
}

// TestUploadHostsGetTheirOwnCertificateAndHTTP1 (R-T1): on one listener, the
// upload host names get their own certificate and HTTP/1.1 alone by SNI, so a
// browser cannot fold them into the page's HTTP/2 connection; the page's name
// gets the main certificate and HTTP/2 when it is on.
func TestUploadHostsGetTheirOwnCertificateAndHTTP1(t *testing.T) {
	dir := t.TempDir()
	mainCert, mainKey := certFiles(t, dir, "main", "medbox.test")
	upCert, upKey := certFiles(t, dir, "up", "up1.medbox.test", "up2.medbox.test")
	cfg := loadConfig(t, map[string]string{"MEDBOX_BASE_URL": "https://medbox.test", "MEDBOX_HTTP2": "true",
		"MEDBOX_TLS_CERT": mainCert, "MEDBOX_TLS_KEY": mainKey, "MEDBOX_UPLOAD_TLS_CERT": upCert, "MEDBOX_UPLOAD_TLS_KEY": upKey,
		"MEDBOX_UPLOAD_ORIGINS": "https://up1.medbox.test,https://UP2.medbox.test:443"})
	setup, err := newTLS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(setup.warnings) != 0 {
		t.Errorf("warnings %q for separate certificates", setup.warnings)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = setup.config
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	for _, tt := range []struct {
		server    string
		wantNames string
		wantProto string
	}{
		{"medbox.test", "medbox.test", "h2"},
		{"up1.medbox.test", "up1.medbox.test up2.medbox.test", "http/1.1"},
		{"UP2.medbox.test", "up1.medbox.test up2.medbox.test", "http/1.1"},
	} {
		names, proto := handshake(t, addr, tt.server)
		if strings.Join(names, " ") != tt.wantNames || proto != tt.wantProto {
			t.Errorf("SNI %s: certificate for %v, protocol %q; want %s, %q", tt.server, names, proto, tt.wantNames, tt.wantProto)
		}
	}
}

func TestUploadHostCertificateChecks(t *testing.T) {
	dir := t.TempDir()
	mainCert, mainKey := certFiles(t, dir, "main", "medbox.test")
	wildCert, wildKey := certFiles(t, dir, "wild", "medbox.test", "*.medbox.test")
	env := func(cert, key string, more ...string) map[string]string {
		e := map[string]string{"MEDBOX_BASE_URL": "https://medbox.test", "MEDBOX_TLS_CERT": cert, "MEDBOX_TLS_KEY": key,
			"MEDBOX_UPLOAD_ORIGINS": "https://up1.medbox.test"}
		for i := 0; i+1 < len(more); i += 2 {
			e[more[i]] = more[i+1]
		}
		return e
	}
	// No certificate names the upload host: startup is refused, saying what to do.
	if _, err := newTLS(loadConfig(t, env(mainCert, mainKey))); err == nil || !strings.Contains(err.Error(), "MEDBOX_UPLOAD_TLS_CERT") ||
		!strings.Contains(err.Error(), "up1.medbox.test") {
		t.Errorf("upload host without a certificate: %v, want a refusal naming it and MEDBOX_UPLOAD_TLS_CERT", err)
	}
	// A wildcard main certificate covers it: served, with a warning about coalescing.
	setup, err := newTLS(loadConfig(t, env(wildCert, wildKey)))
	if err != nil || len(setup.warnings) != 1 || !strings.Contains(setup.warnings[0], "up1.medbox.test") {
		t.Errorf("wildcard main certificate: %v, warnings %q; want one warning naming the host", err, setup.warnings)
	}
	// Upload origins on other ports belong to the upload listeners: no check here.
	if _, err := newTLS(loadConfig(t, env(mainCert, mainKey, "MEDBOX_UPLOAD_ORIGINS", "https://medbox.test:8444"))); err != nil {
		t.Errorf("upload origin on another port: %v", err)
	}
}

// TestRequestsForUploadHostsGoToTheUploadHandler: behind a balancer or on port
// 443, the Host header tells an upload host's request from a page's.
func TestRequestsForUploadHostsGoToTheUploadHandler(t *testing.T) {
	cfg := loadConfig(t, map[string]string{"MEDBOX_BASE_URL": "https://medbox.test",
		"MEDBOX_UPLOAD_ORIGINS": "https://up1.medbox.test,https://up2.medbox.test:8444"})
	mark := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Went", name) })
	}
	h := byHost(cfg, mark("uploads"), mark("pages"))
	for host, want := range map[string]string{
		"up1.medbox.test": "uploads", "UP1.medbox.test:443": "uploads", "up2.medbox.test:8444": "uploads",
		"medbox.test": "pages", "up2.medbox.test": "pages", "up1.medbox.test:8444": "pages", "evil.test": "pages",
	} {
		r := httptest.NewRequest("PUT", "/api/v1/chunk", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("X-Went"); got != want {
			t.Errorf("Host %s went to %s, want %s", host, got, want)
		}
	}
	if got := byHost(loadConfig(t, map[string]string{"MEDBOX_BASE_URL": "https://medbox.test"}), mark("uploads"), mark("pages")); got == nil {
		t.Error("no handler without upload origins")
	}
}
