package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsGiveALocalInstance(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "data" || c.Listen != "127.0.0.1:8080" || c.BaseURL != "http://127.0.0.1:8080" {
		t.Errorf("defaults = data %q listen %q base %q", c.Data, c.Listen, c.BaseURL)
	}
	if c.Database != "" || c.Blobs != "" || c.SMTPURL != "" {
		t.Errorf("defaults must use embedded parts, got database %q blobs %q smtp %q", c.Database, c.Blobs, c.SMTPURL)
	}
	if c.MasterKeyFile != "data/master.key" {
		t.Errorf("master key file = %q", c.MasterKeyFile)
	}
	if c.Limits.MaxFiles != 20 || c.Limits.MaxSendBytes != 1e9 || c.Limits.QuotaBytes != 2e9 || c.Limits.DefaultExpiry != 72*time.Hour {
		t.Errorf("limits = %+v, want the R-S2/R-S4 defaults", c.Limits)
	}
	if c.Auth.LockAfter != 5 || c.Auth.LockFor != 15*time.Minute || c.Auth.IdleTimeout != 30*time.Minute || c.Auth.AbsoluteTimeout != 12*time.Hour {
		t.Errorf("auth = %+v", c.Auth)
	}
}

func TestFlagBeatsEnvBeatsDefault(t *testing.T) {
	c, err := Load([]string{"--listen", "127.0.0.1:9999", "--quota-bytes", "3GB"}, env(map[string]string{
		"MEDBOX_LISTEN":          "127.0.0.1:7777",
		"MEDBOX_DATA":            "/srv/medbox",
		"MEDBOX_MAX_SEND_BYTES":  "500MB",
		"MEDBOX_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5",
		"MEDBOX_BASE_URL":        "https://medbox.example.jp/",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" {
		t.Errorf("Listen = %q, want the flag", c.Listen)
	}
	if c.Data != "/srv/medbox" || c.MasterKeyFile != "/srv/medbox/master.key" {
		t.Errorf("Data = %q, key %q", c.Data, c.MasterKeyFile)
	}
	if c.Limits.QuotaBytes != 3e9 || c.Limits.MaxSendBytes != 5e8 {
		t.Errorf("quota %d, send %d", c.Limits.QuotaBytes, c.Limits.MaxSendBytes)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.5/32" {
		t.Errorf("TrustedProxies = %v", c.TrustedProxies)
	}
	if c.BaseURL != "https://medbox.example.jp" {
		t.Errorf("BaseURL = %q", c.BaseURL)
	}
}

func TestBadValuesNameTheSetting(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, map[string]string{"MEDBOX_LOCK_AFTER": "five"}, "MEDBOX_LOCK_AFTER"},
		{nil, map[string]string{"MEDBOX_EXPIRY_DEFAULT": "3 days"}, "MEDBOX_EXPIRY_DEFAULT"},
		{nil, map[string]string{"MEDBOX_EXPIRY_MAX": "1h"}, "expiry bounds"},
		{nil, map[string]string{"MEDBOX_TLS_CERT": "c.pem"}, "MEDBOX_TLS_KEY"},
		{nil, map[string]string{"MEDBOX_BASE_URL": "ftp://x"}, "MEDBOX_BASE_URL"},
		{nil, map[string]string{"MEDBOX_TRUSTED_PROXIES": "nonsense"}, "MEDBOX_TRUSTED_PROXIES"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
		{[]string{"--chunk-size", "1KB"}, nil, "MEDBOX_CHUNK_SIZE"},
	}
	for _, tt := range tests {
		_, err := Load(tt.args, env(tt.env))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%v, %v) error = %v, want mention of %q", tt.args, tt.env, err, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1000": 1000, "1GB": 1e9, "8MiB": 8 << 20, "2 GiB": 2 << 30, "10B": 10} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5GB", "GB", "99999999999TB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded, want error", in)
		}
	}
}

// TestUploadOrigins: upload origins are host names on the standard port (the
// hospital deployment) or ports; each is named once, in a canonical form, never
// the page's own origin, and with the page's scheme.
func TestUploadOrigins(t *testing.T) {
	tests := []struct {
		name, origins, listen string
		want                  []string
		wantErr               string
	}{
		{"host names on 443", "https://up1.medbox.jp, https://UP2.medbox.jp:443/", "", []string{"https://up1.medbox.jp", "https://up2.medbox.jp"}, ""},
		{"ports of the page's host", "", "0.0.0.0:8444-8445", []string{"https://medbox.jp:8444", "https://medbox.jp:8445"}, ""},
		{"the page's own origin", "https://medbox.jp:443", "", nil, "page's own origin"},
		{"named twice", "https://up1.medbox.jp,https://up1.medbox.jp:443", "", nil, "named twice"},
		{"another scheme", "http://up1.medbox.jp", "", nil, "must use https"},
		{"a path", "https://up1.medbox.jp/upload", "", nil, "not an origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"MEDBOX_BASE_URL": "https://medbox.jp", "MEDBOX_UPLOAD_ORIGINS": tt.origins, "MEDBOX_UPLOAD_LISTEN": tt.listen}
			cfg, err := Load(nil, func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load() error = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Transfer.UploadOrigins, tt.want) {
				t.Errorf("UploadOrigins = %q, want %q", cfg.Transfer.UploadOrigins, tt.want)
			}
		})
	}
}

// TestHTTP2IsOffByDefault: a browser folds every request for an HTTP/2 origin
// into one TCP connection, which uploads no faster than one stream on a lossy
// link; HTTP/1.1 gives six. HTTP/2 is an operator's choice.
func TestHTTP2IsOffByDefault(t *testing.T) {
	cfg, err := Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP2 {
		t.Error("HTTP/2 is on by default")
	}
}
