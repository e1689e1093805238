package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// load fills t from the comma-separated MEDBOX_UPLOAD_LISTEN and
// MEDBOX_UPLOAD_ORIGINS. A listen item "host:8444-8451" stands for eight
// addresses. Without explicit origins, each upload listener is reached at the
// base URL's host on its port.
func (t *Transfer) load(listen, origins, baseURL string) error {
	var errs []error
	for _, item := range splitList(listen) {
		addrs, err := expandPorts(item)
		if err != nil {
			errs = append(errs, fmt.Errorf("MEDBOX_UPLOAD_LISTEN: %w", err))
			continue
		}
		t.UploadListen = append(t.UploadListen, addrs...)
	}
	base, err := url.Parse(baseURL)
	if err != nil || base.Host == "" {
		return errors.Join(append(errs, fmt.Errorf("MEDBOX_BASE_URL: %q is not an http(s) URL", baseURL))...)
	}
	for _, o := range splitList(origins) {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("MEDBOX_UPLOAD_ORIGINS: %q is not an origin like https://host:port", o))
			continue
		}
		if u.Scheme != base.Scheme {
			errs = append(errs, fmt.Errorf("MEDBOX_UPLOAD_ORIGINS: %q must use %s like MEDBOX_BASE_URL", o, base.Scheme))
			continue
		}
		origin := u.Scheme + "://" + canonicalHost(u.Scheme, u.Host)
		if origin == base.Scheme+"://"+canonicalHost(base.Scheme, base.Host) {
			errs = append(errs, fmt.Errorf("MEDBOX_UPLOAD_ORIGINS: %q is the page's own origin; name other host names or ports", o))
			continue
		}
		if slices.Contains(t.UploadOrigins, origin) {
			errs = append(errs, fmt.Errorf("MEDBOX_UPLOAD_ORIGINS: %q is named twice", o))
			continue
		}
		t.UploadOrigins = append(t.UploadOrigins, origin)
	}
	if origins == "" {
		for _, a := range t.UploadListen {
			_, port, _ := net.SplitHostPort(a)
			t.UploadOrigins = append(t.UploadOrigins, base.Scheme+"://"+net.JoinHostPort(base.Hostname(), port))
		}
	}
	if t.UploadConcurrency < 0 || t.UploadConcurrency > 256 {
		errs = append(errs, errors.New("MEDBOX_UPLOAD_CONCURRENCY must be between 0 and 256"))
	}
	if t.TCPCongestion == "system" {
		t.TCPCongestion = ""
	}
	return errors.Join(errs...)
}

// canonicalHost lowercases host and drops the scheme's default port, so that
// "https://UP1.example.jp:443" and the Host header "up1.example.jp" agree.
func canonicalHost(scheme, host string) string {
	host = strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil &&
		(scheme == "https" && port == "443" || scheme == "http" && port == "80") {
		return h
	}
	return host
}

// UploadHosts returns the Host header values (host, or host:port where the port
// is not the scheme's default) of the upload origins, for telling their requests
// apart from the pages' on a shared listener.
func (t Transfer) UploadHosts() []string {
	var out []string
	for _, o := range t.UploadOrigins {
		scheme, host, _ := strings.Cut(o, "://")
		out = append(out, canonicalHost(scheme, host))
	}
	return out
}

// CanonicalHost is the form UploadHosts uses, for a request's Host header.
func CanonicalHost(scheme, host string) string { return canonicalHost(scheme, host) }

// expandPorts turns "host:first-last" into one address per port; other items
// must be host:port.
func expandPorts(item string) ([]string, error) {
	host, port, err := net.SplitHostPort(item)
	if err != nil {
		return nil, fmt.Errorf("%q is not host:port", item)
	}
	first, last, isRange := strings.Cut(port, "-")
	lo, err1 := strconv.Atoi(first)
	hi := lo
	var err2 error
	if isRange {
		hi, err2 = strconv.Atoi(last)
	}
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || hi < lo || hi-lo >= 64 {
		return nil, fmt.Errorf("%q: want a port or a range of at most 64 ports", item)
	}
	var out []string
	for p := lo; p <= hi; p++ {
		out = append(out, net.JoinHostPort(host, strconv.Itoa(p)))
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
