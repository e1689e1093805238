package server

import (
	"crypto/tls"
	"fmt"
	"net/http"
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
}

// newTLS builds the TLS side from the configuration: a certificate from files, or
// automatic certificates from an ACME authority (Let's Encrypt by default), cached
// in DATA/acme.
func newTLS(cfg config.Config) (*tlsSetup, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: tls12Suites}
	redirect := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Always to the configured public address: the Host header is the client's word.
		http.Redirect(w, r, cfg.BaseURL+r.URL.RequestURI(), http.StatusMovedPermanently) // #nosec G710 -- the configured base URL followed by the request's path: always this site
	}))
	switch {
	case cfg.TLSCert != "":
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case cfg.ACMEDomains != "":
		var domains []string
		for _, d := range strings.Split(cfg.ACMEDomains, ",") {
			if d = strings.TrimSpace(d); d != "" {
				domains = append(domains, d)
			}
		}
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
		redirect = m.HTTPHandler(redirect)
	default:
		return nil, nil
	}
	return &tlsSetup{config: tc, redirect: redirect}, nil
}
