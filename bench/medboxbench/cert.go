//go:build bench

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
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// writeCert writes a self-signed certificate for the given host names and IP
// addresses into dir as NAME.pem and NAME-key.pem, as a deployment's real
// certificate would be.
func writeCert(dir, name string, dnsNames []string, ips ...string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "medbox bench " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(7 * 24 * time.Hour), DNSNames: dnsNames,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// certs are the bench's two certificates, as a hospital would get them: one
// for the page's host name (and the addresses the bench's own tools use), and
// one for the upload host names alone, so that no browser may fold an upload
// host into the page's HTTP/2 connection.
type certs struct {
	cert, key     string // the page's: pageHost, the server's addresses
	upCert, upKey string // the upload hosts'
	spki          string // both keys, for --ignore-certificate-errors-spki-list
}

func writeCerts(dir string, hosts int, ips ...string) (certs, error) {
	var c certs
	var err error
	if c.cert, c.key, err = writeCert(dir, "page", []string{pageHost, "localhost"}, ips...); err != nil {
		return c, err
	}
	if c.upCert, c.upKey, err = writeCert(dir, "upload", uploadHostNames(max(hosts, maxHosts))); err != nil {
		return c, err
	}
	a, err := spkiHash(c.cert)
	if err != nil {
		return c, err
	}
	b, err := spkiHash(c.upCert)
	c.spki = a + "," + b
	return c, err
}

// pageHost is the page's host name; the upload hosts are up1.pageHost, …
const pageHost = "medbox.test"

// maxHosts is how many upload host names the upload certificate covers.
const maxHosts = 16

func uploadHostNames(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("up%d.%s", i, pageHost))
	}
	return out
}

// spkiHash is the base64 SHA-256 of a certificate's public key, as Chromium's
// --ignore-certificate-errors-spki-list wants it: the browser then trusts this
// one key, and nothing else changes (no general "ignore errors" mode).
func spkiHash(certFile string) (string, error) {
	b, err := os.ReadFile(certFile)
	if err != nil {
		return "", err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return "", fmt.Errorf("%s: no PEM certificate", certFile)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// tlsTrusting returns a client configuration that trusts the certificate in certFile.
func tlsTrusting(certFile string) (*tls.Config, error) {
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no certificate", certFile)
	}
	return &tls.Config{RootCAs: pool}, nil
}
