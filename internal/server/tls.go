package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/medbox-jp/medbox/internal/config"
)

// tls12Suites are the TLS 1.2 suites MedBox offers: forward secrecy (ECDHE) and
// authenticated encryption (GCM, ChaCha20-Poly1305) only, as the CRYPTREC
// high-security setting asks. Go's defaults would still offer CBC suites. TLS 1.3
// suites are all AEAD and are not configurable.
var tls12Suites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tlsSetup is how an instance serves HTTPS: the TLS configuration, and the
// handler of the plain-HTTP listener (redirects, and ACME challenges if any).
type tlsSetup struct {
	config   *tls.Config
	redirect http.Handler
	warnings []string // what an operator should know about the certificates
}

// newTLS builds the TLS side from the configuration: a certificate from files, or
// automatic certificates from an ACME authority (Let's Encrypt by default), cached
// in DATA/acme.
//
// The upload host names (MEDBOX_UPLOAD_ORIGINS on this listener's port) get, by
// SNI, their own certificate (MEDBOX_UPLOAD_TLS_CERT; with ACME each name has its
// own anyway) and HTTP/1.1 alone. A browser folds requests for another host name
// into an HTTP/2 connection it already has when that connection's certificate
// covers the name and the address matches — which would put every chunk on one TCP
// connection again. A main certificate that does not name the upload hosts, and
// no HTTP/2 for them, keeps six connections per upload host.
func newTLS(cfg config.Config) (*tlsSetup, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: tls12Suites}
	setup := &tlsSetup{config: tc}
	setup.redirect = http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Always to the configured public address: the Host header is the client's word.
		http.Redirect(w, r, cfg.BaseURL+r.URL.RequestURI(), http.StatusMovedPermanently) // #nosec G710 -- the configured base URL followed by the request's path: always this site
	}))
	uploadNames := uploadServerNames(cfg)
	up := tc.Clone()
	up.NextProtos = []string{"http/1.1"}
	switch {
	case cfg.TLSCert != "":
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
		up.Certificates = tc.Certificates
		if cfg.UploadTLSCert != "" {
			ucert, err := tls.LoadX509KeyPair(cfg.UploadTLSCert, cfg.UploadTLSKey)
			if err != nil {
				return nil, fmt.Errorf("load the upload hosts' TLS certificate: %w", err)
			}
			up.Certificates = []tls.Certificate{ucert}
		}
		if err := setup.checkNames(uploadNames, cert, up.Certificates[0]); err != nil {
			return nil, err
		}
	case cfg.ACMEDomains != "":
		var domains []string
		for _, d := range strings.Split(cfg.ACMEDomains, ",") {
			if d = strings.TrimSpace(d); d != "" {
				domains = append(domains, d)
			}
		}
		domains = append(domains, uploadNames...) // each name gets a certificate of its own
		m := &autocert.Manager{
			Prompt:      autocert.AcceptTOS,
			HostPolicy:  autocert.HostWhitelist(domains...),
			Cache:       autocert.DirCache(filepath.Join(cfg.Data, "acme")),
			Email:       cfg.ACMEEmail,
			RenewBefore: 30 * 24 * time.Hour,
		}
		if cfg.ACMEDirectory != "" {
			m.Client = &acme.Client{DirectoryURL: cfg.ACMEDirectory}
		}
		tc.GetCertificate = m.GetCertificate
		tc.NextProtos = append(tc.NextProtos, acme.ALPNProto)
		up.GetCertificate = m.GetCertificate
		up.NextProtos = append(up.NextProtos, acme.ALPNProto)
		setup.redirect = m.HTTPHandler(setup.redirect)
	default:
		return nil, nil
	}
	if len(uploadNames) > 0 {
		names := map[string]bool{}
		for _, n := range uploadNames {
			names[n] = true
		}
		tc.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if names[strings.ToLower(hello.ServerName)] {
				return up, nil
			}
			return nil, nil // the main configuration, HTTP/2 included if on
		}
	}
	return setup, nil
}

// uploadServerNames are the host names of the upload origins served on the main
// listener's port (by default 443): those whose TLS this instance terminates on
// it. Upload origins on other ports are the upload listeners'.
func uploadServerNames(cfg config.Config) []string {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil
	}
	port := base.Port()
	var out []string
	for _, o := range cfg.Transfer.UploadOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Port() != port || strings.EqualFold(u.Hostname(), base.Hostname()) {
			continue
		}
		out = append(out, strings.ToLower(u.Hostname()))
	}
	return out
}

// checkNames refuses upload host names that no certificate covers (browsers
// would refuse them, and every chunk would fall back to the page's origin), and
// warns of a main certificate that also covers them (browsers may fold the
// upload hosts into the page's HTTP/2 connection).
func (s *tlsSetup) checkNames(names []string, main, upload tls.Certificate) error {
	leaf := func(c tls.Certificate) *x509.Certificate {
		if c.Leaf != nil {
			return c.Leaf
		}
		l, _ := x509.ParseCertificate(c.Certificate[0])
		return l
	}
	mainLeaf, upLeaf := leaf(main), leaf(upload)
	for _, n := range names {
		if upLeaf == nil || upLeaf.VerifyHostname(n) != nil {
			return fmt.Errorf("MEDBOX_UPLOAD_ORIGINS: no certificate covers the upload host %s; "+
				"give its certificate in MEDBOX_UPLOAD_TLS_CERT (see docs/deploy.md)", n)
		}
		if mainLeaf != nil && mainLeaf.VerifyHostname(n) == nil {
			s.warnings = append(s.warnings, fmt.Sprintf("the main certificate (MEDBOX_TLS_CERT) also covers the upload host %s: "+
				"a browser may send its chunks over the page's connection; give the upload hosts a certificate of their own (MEDBOX_UPLOAD_TLS_CERT)", n))
		}
	}
	return nil
}
