// Package config holds the settings of a MedBox instance and loads them from
// command-line flags and MEDBOX_* environment variables. The defaults alone give a
// complete local instance: SQLite and files in ./data, mail to ./data/outbox, HTTP
// on 127.0.0.1:8080.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything an instance is told from outside.
type Config struct {
	Data          string // MEDBOX_DATA: directory for the SQLite file, blobs and the outbox
	Listen        string // MEDBOX_LISTEN: host:port to serve on
	BaseURL       string // MEDBOX_BASE_URL: the address members reach, used in mail links
	BaseURLGiven  bool   // BaseURL was set, not derived from Listen (a command then trusts it over the one serve recorded)
	Database      string // MEDBOX_DATABASE: "" = SQLite in Data, or postgres://…
	DatabaseOwner string // MEDBOX_DATABASE_OWNER: PostgreSQL URL of the schema owner, for migrations; the app then runs as MEDBOX_DATABASE's role
	Blobs         string // MEDBOX_BLOBS: "" = disk in Data/blobs, or s3://BUCKET?endpoint=…
	SMTPURL       string // MEDBOX_SMTP_URL: "" = write .eml files to Data/outbox
	MailFrom      string // MEDBOX_MAIL_FROM
	MasterKeyFile string // MEDBOX_MASTER_KEY_FILE: the master key; created 0600 on first start
	TLSCert       string // MEDBOX_TLS_CERT
	TLSKey        string // MEDBOX_TLS_KEY
	ACMEDomains   string // MEDBOX_ACME_DOMAINS: comma-separated names to get certificates for automatically
	ACMEEmail     string // MEDBOX_ACME_EMAIL: contact for the certificate authority
	ACMEDirectory string // MEDBOX_ACME_DIRECTORY: the CA's directory URL (default Let's Encrypt)
	HTTPListen    string // MEDBOX_HTTP_LISTEN: plain-HTTP address that redirects to HTTPS (and answers ACME challenges)
	HTTP2         bool   // MEDBOX_HTTP2: offer HTTP/2 over TLS (off by default: see serve.go's protocols)
	UploadTLSCert string // MEDBOX_UPLOAD_TLS_CERT: certificate of the upload host names, served to them by SNI
	UploadTLSKey  string // MEDBOX_UPLOAD_TLS_KEY
	LogLevel      string // MEDBOX_LOG_LEVEL: debug, info, warn, error

	Auth   Auth
	Limits Limits
	Notify Notify
	Alert  Alert

	Transfer Transfer

	TrustedProxies []netip.Prefix // MEDBOX_TRUSTED_PROXIES: comma-separated CIDRs whose X-Forwarded-For is believed
}

// Auth holds the sign-in and session policy.
type Auth struct {
	LockAfter       int           // MEDBOX_LOCK_AFTER: consecutive wrong passwords before the account locks
	LockFor         time.Duration // MEDBOX_LOCK_FOR: first lock; doubles on each repeat
	IdleTimeout     time.Duration // MEDBOX_SESSION_IDLE
	AbsoluteTimeout time.Duration // MEDBOX_SESSION_MAX
	AddrFailures    int           // MEDBOX_ADDR_FAILURES: failed sign-ins per address per AddrWindow before throttling
	AddrWindow      time.Duration // MEDBOX_ADDR_WINDOW

	RequireSecondFactor bool // MEDBOX_REQUIRE_2FA: every member must enrol a second factor (administrators always must)
}

// Limits holds the sending limits of R-S2 and the expiry bounds of R-S4.
type Limits struct {
	MaxFiles      int           // MEDBOX_MAX_FILES: files per send
	MaxSendBytes  int64         // MEDBOX_MAX_SEND_BYTES: bytes per send
	QuotaBytes    int64         // MEDBOX_QUOTA_BYTES: live bytes a member has sent
	DefaultExpiry time.Duration // MEDBOX_EXPIRY_DEFAULT
	MinExpiry     time.Duration // MEDBOX_EXPIRY_MIN
	MaxExpiry     time.Duration // MEDBOX_EXPIRY_MAX
	ChunkSize     int64         // MEDBOX_CHUNK_SIZE: upload chunk size in bytes
}

// Notify holds the timing of notification mail (R-N1).
type Notify struct {
	Window       time.Duration // MEDBOX_NOTIFY_WINDOW: news within this window goes out as one mail
	RemindAfter  time.Duration // MEDBOX_REMIND_AFTER: unread this long → a reminder
	ExpiringLead time.Duration // MEDBOX_EXPIRING_LEAD: warn this long before an unread box expires
}

// Alert holds the thresholds of misuse alerts (R-X6).
type Alert struct {
	StuffingAccounts int   // MEDBOX_ALERT_STUFFING_ACCOUNTS: failed sign-ins on this many accounts from one address in 10 minutes
	DownloadBytes    int64 // MEDBOX_ALERT_DOWNLOAD_BYTES: one member downloading more than this in an hour
}

// Transfer holds how uploads and downloads travel (R-T1; measured by make bench,
// see bench/README.md).
type Transfer struct {
	UploadListen      []string // MEDBOX_UPLOAD_LISTEN: extra addresses (host:port or host:first-last) serving only chunk PUTs, HTTP/1.1
	UploadOrigins     []string // MEDBOX_UPLOAD_ORIGINS: origins the browser spreads chunk PUTs over; default: the base URL's host at each UPLOAD_LISTEN port
	UploadConcurrency int      // MEDBOX_UPLOAD_CONCURRENCY: chunk PUTs a page keeps in flight; 0 = the browser client's default
	TCPCongestion     string   // MEDBOX_TCP_CONGESTION: congestion control of the server's sockets (Linux); "" = the system's
}

// Default returns the configuration of a fresh local instance.
func Default() Config {
	return Config{
		Data:     "data",
		Listen:   "127.0.0.1:8080",
		MailFrom: "MedBox <no-reply@medbox.localhost>",
		LogLevel: "info",
		HTTP2:    false,
		Auth: Auth{
			LockAfter:       5,
			LockFor:         15 * time.Minute,
			IdleTimeout:     30 * time.Minute,
			AbsoluteTimeout: 12 * time.Hour,
			AddrFailures:    30,
			AddrWindow:      15 * time.Minute,
		},
		Limits: Limits{
			MaxFiles:      20,
			MaxSendBytes:  1_000_000_000,
			QuotaBytes:    2_000_000_000,
			DefaultExpiry: 72 * time.Hour,
			MinExpiry:     time.Hour,
			MaxExpiry:     14 * 24 * time.Hour,
			// Small chunks end a long upload sooner on a lossy link (the last ones
			// in flight each crawl on one connection) and keep the browser's
			// memory low; measured with make bench (bench/README.md).
			ChunkSize: 2 << 20,
		},
		Notify: Notify{Window: time.Minute, RemindAfter: 24 * time.Hour, ExpiringLead: 12 * time.Hour},
		Alert:  Alert{StuffingAccounts: 10, DownloadBytes: 5_000_000_000},
		// BBR keeps a download fast on a lossy long path, where CUBIC collapses;
		// uploads are sent by the member's device and do not depend on it.
		Transfer: Transfer{TCPCongestion: "bbr"},
	}
}

// Load reads flags from args and MEDBOX_* variables through getenv. A flag wins over
// its variable, which wins over the default. Unknown flags and malformed values are
// errors that name the setting.
func Load(args []string, getenv func(string) string) (Config, error) {
	c, rest, err := LoadCommand(Command{Name: "serve"}, args, getenv, io.Discard)
	if err == nil && len(rest) > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", rest)
	}
	return c, err
}

// Command describes a medbox command for LoadCommand: its name ("admin approve"),
// its arguments ("DEST"), what it does, and flags of its own.
type Command struct {
	Name    string
	Args    string
	Summary string
	Flags   func(fs *flag.FlagSet)
}

// LoadCommand is Load for any command: the command's own flags and every flag of
// serve (with its MEDBOX_* variable), in any order among the positional
// arguments, which it returns. -h or --help writes the command's usage — every
// flag with its variable and default — to w and returns flag.ErrHelp.
func LoadCommand(cmd Command, args []string, getenv func(string) string, w io.Writer) (Config, []string, error) {
	c := Default()
	fs := flag.NewFlagSet("medbox "+cmd.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	own := map[string]bool{}
	if cmd.Flags != nil {
		cmd.Flags(fs)
		fs.VisitAll(func(f *flag.Flag) { own[f.Name] = true })
	}
	var errs []error
	str := func(p *string, name, usage string) {
		if v := getenv(envName(name)); v != "" {
			*p = v
		}
		fs.StringVar(p, name, *p, usage)
	}
	num := func(p *int, name, usage string) {
		if v := getenv(envName(name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a whole number", envName(name), v))
			}
			*p = n
		}
		fs.IntVar(p, name, *p, usage)
	}
	size := func(p *int64, name, usage string) {
		if v := getenv(envName(name)); v != "" {
			n, err := ParseSize(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(name), err))
			}
			*p = n
		}
		fs.Func(name, usage+" (bytes, or with KB/MB/GB/KiB/MiB/GiB)", func(s string) error {
			n, err := ParseSize(s)
			*p = n
			return err
		})
		fs.Lookup(name).DefValue = strconv.FormatInt(*p, 10)
	}
	dur := func(p *time.Duration, name, usage string) {
		if v := getenv(envName(name)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration like 72h", envName(name), v))
			}
			*p = d
		}
		fs.DurationVar(p, name, *p, usage)
	}
	str(&c.Data, "data", "data directory")
	str(&c.Listen, "listen", "address to serve on")
	str(&c.BaseURL, "base-url", "public URL of this instance (default http://LISTEN)")
	str(&c.Database, "database", `database: empty for SQLite in the data directory, or postgres://…`)
	str(&c.DatabaseOwner, "database-owner", "PostgreSQL URL of the schema owner: migrations run as it, the service as MEDBOX_DATABASE's role, which cannot change the audit log")
	str(&c.Blobs, "blobs", "file storage: empty for the data directory, or s3://BUCKET?endpoint=URL&region=R&path_style=true")
	str(&c.SMTPURL, "smtp-url", "mail server smtp://host:port or smtps://user:pass@host:port; empty writes mail to DATA/outbox")
	str(&c.MailFrom, "mail-from", "sender address of mail")
	str(&c.MasterKeyFile, "master-key-file", "master key file (default DATA/master.key)")
	str(&c.TLSCert, "tls-cert", "TLS certificate file (PEM)")
	str(&c.TLSKey, "tls-key", "TLS private key file (PEM)")
	str(&c.UploadTLSCert, "upload-tls-cert", "TLS certificate file (PEM) for the upload host names of upload-origins, given to them by SNI; keep them off the main certificate (see docs/deploy.md)")
	str(&c.UploadTLSKey, "upload-tls-key", "TLS private key file (PEM) of upload-tls-cert")
	str(&c.ACMEDomains, "acme-domains", "get TLS certificates automatically (ACME) for these comma-separated names")
	str(&c.ACMEEmail, "acme-email", "contact address given to the ACME certificate authority")
	str(&c.ACMEDirectory, "acme-directory", "ACME directory URL (default Let's Encrypt)")
	str(&c.HTTPListen, "http-listen", "plain-HTTP address that redirects to HTTPS, e.g. :80 (also serves ACME challenges)")
	str(&c.LogLevel, "log-level", "debug, info, warn or error")
	boolean := func(p *bool, name, usage string) {
		if v := getenv(envName(name)); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not true or false", envName(name), v))
			}
			*p = b
		}
		fs.BoolVar(p, name, *p, usage)
	}
	boolean(&c.HTTP2, "http2", "offer HTTP/2 over TLS for the pages and the main origin's API (off: a browser then sends chunks on six connections, not one; upload hosts always speak HTTP/1.1)")
	proxies := ""
	str(&proxies, "trusted-proxies", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is trusted")
	num(&c.Auth.LockAfter, "lock-after", "wrong passwords in a row before an account locks")
	dur(&c.Auth.LockFor, "lock-for", "how long the first lock lasts; doubles on each repeat")
	dur(&c.Auth.IdleTimeout, "session-idle", "sign out after this long without activity")
	dur(&c.Auth.AbsoluteTimeout, "session-max", "sign out this long after signing in")
	num(&c.Auth.AddrFailures, "addr-failures", "failed sign-ins from one address per window before it is throttled")
	dur(&c.Auth.AddrWindow, "addr-window", "window for addr-failures")
	boolean(&c.Auth.RequireSecondFactor, "require-2fa", "every member must enrol a second factor (TOTP or passkey); administrators always must")
	num(&c.Limits.MaxFiles, "max-files", "files per send")
	size(&c.Limits.MaxSendBytes, "max-send-bytes", "bytes per send")
	size(&c.Limits.QuotaBytes, "quota-bytes", "bytes of live files a member may have sent")
	dur(&c.Limits.DefaultExpiry, "expiry-default", "default lifetime of a box")
	dur(&c.Limits.MinExpiry, "expiry-min", "shortest lifetime a sender may choose")
	dur(&c.Limits.MaxExpiry, "expiry-max", "longest lifetime a sender may choose")
	size(&c.Limits.ChunkSize, "chunk-size", "upload chunk size")
	dur(&c.Notify.Window, "notify-window", "news within this window goes out as one mail")
	dur(&c.Notify.RemindAfter, "remind-after", "remind a member of something unread after this long")
	dur(&c.Notify.ExpiringLead, "expiring-lead", "warn this long before an unread box is deleted")
	num(&c.Alert.StuffingAccounts, "alert-stuffing-accounts", "alert when one address fails to sign in to this many accounts in 10 minutes")
	size(&c.Alert.DownloadBytes, "alert-download-bytes", "alert when one member downloads more than this in an hour")
	uploadListen, uploadOrigins := "", ""
	str(&uploadListen, "upload-listen", "extra addresses that take chunk uploads over HTTP/1.1 (comma-separated host:port, or host:first-last)")
	str(&uploadOrigins, "upload-origins", "comma-separated origins (https://host:port) the browser spreads chunk uploads over (default: base URL host at each upload-listen port)")
	num(&c.Transfer.UploadConcurrency, "upload-concurrency", "chunk uploads a page keeps in flight (0 = the client's default)")
	str(&c.Transfer.TCPCongestion, "tcp-congestion", `TCP congestion control of the server's sockets on Linux, e.g. bbr; "system" keeps the system's`)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(w, cmd, fs, own)
				return Config{}, nil, flag.ErrHelp
			}
			return Config{}, nil, fmt.Errorf("medbox %s: %w (medbox %s --help lists the flags)", cmd.Name, err, cmd.Name)
		}
		if fs.NArg() == 0 {
			break
		}
		positional, args = append(positional, fs.Arg(0)), fs.Args()[1:]
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, nil, err
	}
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pre, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return Config{}, nil, fmt.Errorf("MEDBOX_TRUSTED_PROXIES: %q is not an address or CIDR", p)
			}
			pre = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, pre.Masked())
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.Data, "master.key")
	}
	if c.BaseURL == "" {
		scheme := "http"
		if c.TLSCert != "" || c.ACMEDomains != "" {
			scheme = "https"
		}
		c.BaseURL = scheme + "://" + c.Listen
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if err := c.Transfer.load(uploadListen, uploadOrigins, c.BaseURL); err != nil {
		return Config{}, nil, err
	}
	c.BaseURLGiven = getenv("MEDBOX_BASE_URL") != "" || flagSet(fs, "base-url")
	return c, positional, c.validate()
}

func (c *Config) validate() error {
	var errs []error
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("MEDBOX_BASE_URL: %q is not an http(s) URL", c.BaseURL))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("MEDBOX_TLS_CERT and MEDBOX_TLS_KEY go together"))
	}
	if (c.UploadTLSCert == "") != (c.UploadTLSKey == "") {
		errs = append(errs, errors.New("MEDBOX_UPLOAD_TLS_CERT and MEDBOX_UPLOAD_TLS_KEY go together"))
	}
	if c.UploadTLSCert != "" && c.TLSCert == "" {
		errs = append(errs, errors.New("MEDBOX_UPLOAD_TLS_CERT goes with MEDBOX_TLS_CERT (with ACME every name gets its own certificate)"))
	}
	if c.TLSCert != "" && c.ACMEDomains != "" {
		errs = append(errs, errors.New("choose MEDBOX_TLS_CERT or MEDBOX_ACME_DOMAINS, not both"))
	}
	if c.HTTPListen != "" && c.TLSCert == "" && c.ACMEDomains == "" {
		errs = append(errs, errors.New("MEDBOX_HTTP_LISTEN redirects to HTTPS and needs MEDBOX_TLS_CERT or MEDBOX_ACME_DOMAINS"))
	}
	if c.Auth.LockAfter < 1 {
		errs = append(errs, errors.New("MEDBOX_LOCK_AFTER must be at least 1"))
	}
	l := c.Limits
	switch {
	case l.MaxFiles < 1:
		errs = append(errs, errors.New("MEDBOX_MAX_FILES must be at least 1"))
	case l.MaxSendBytes < 1 || l.QuotaBytes < 1:
		errs = append(errs, errors.New("MEDBOX_MAX_SEND_BYTES and MEDBOX_QUOTA_BYTES must be positive"))
	case l.MinExpiry <= 0 || l.MinExpiry > l.DefaultExpiry || l.DefaultExpiry > l.MaxExpiry:
		errs = append(errs, errors.New("expiry bounds must satisfy 0 < MEDBOX_EXPIRY_MIN ≤ MEDBOX_EXPIRY_DEFAULT ≤ MEDBOX_EXPIRY_MAX"))
	case l.ChunkSize < 256<<10 || l.ChunkSize > 64<<20:
		errs = append(errs, errors.New("MEDBOX_CHUNK_SIZE must be between 256 KiB and 64 MiB"))
	}
	return errors.Join(errs...)
}

// envName maps a flag name to its variable: "lock-after" → "MEDBOX_LOCK_AFTER".
// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// printUsage writes a command's synopsis and every flag: the command's own first,
// then the instance's, each with its MEDBOX_* variable and its default.
func printUsage(w io.Writer, cmd Command, fs *flag.FlagSet, own map[string]bool) {
	fmt.Fprintf(w, "usage: medbox %s", cmd.Name)
	if cmd.Args != "" {
		fmt.Fprintf(w, " %s", cmd.Args)
	}
	fmt.Fprintf(w, " [flags]\n")
	if cmd.Summary != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.Summary)
	}
	line := func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if name != "" {
			head += " " + name
		}
		fmt.Fprintf(w, "%s\n      %s", head, usage)
		var notes []string
		if !own[f.Name] {
			notes = append(notes, envName(f.Name))
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			notes = append(notes, "default "+f.DefValue)
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(notes, "; "))
		}
		fmt.Fprintln(w)
	}
	if len(own) > 0 {
		fmt.Fprintf(w, "\nflags of this command:\n")
		fs.VisitAll(func(f *flag.Flag) {
			if own[f.Name] {
				line(f)
			}
		})
	}
	fmt.Fprintf(w, "\nflags of the instance (each also a MEDBOX_* variable; a flag wins over its variable):\n")
	fs.VisitAll(func(f *flag.Flag) {
		if !own[f.Name] {
			line(f)
		}
	})
}

func envName(flag string) string {
	return "MEDBOX_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ParseSize reads a byte count such as "1GB", "2 GiB", "8MiB" or "1000".
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size like 1GB or 8MiB", s)
	}
	return n * mult, nil
}

// TLS reports whether the instance serves HTTPS itself.
func (c *Config) TLS() bool { return c.TLSCert != "" || c.ACMEDomains != "" }
