//go:build bench

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// squidConf is a hospital's explicit proxy as it is usually set up for HTTPS:
// CONNECT to port 443 only, nothing cached, for the clients on its own network
// (here the client namespace's loopback). It resolves the bench's host names
// from a hosts file of its own, as a hospital's proxy would from its DNS.
const squidConf = `http_port 127.0.0.1:%[2]d
acl SSL_ports port 443
acl CONNECT method CONNECT
http_access deny CONNECT !SSL_ports
http_access allow localhost
http_access deny all
hosts_file %[1]s/hosts
cache deny all
cache_mem 8 MB
access_log stdio:%[1]s/access.log
cache_log %[1]s/cache.log
pid_filename %[1]s/squid.pid
coredump_dir %[1]s
shutdown_lifetime 1 seconds
`

// startProxy starts Debian's squid in the client's namespace and waits until
// it tunnels to the server. Chromium is then pointed at it with --proxy-server:
// every connection, to the page and to each upload host, is a CONNECT tunnel
// that squid opens to the server, so the TCP connections on the long link are
// squid's.
func (b *bench) startProxy(ctx context.Context, s *server) (*exec.Cmd, error) {
	dir := filepath.Join(b.logs, "squid")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o777) // squid drops to its own user (proxy) and writes its logs here
	hosts := fmt.Sprintf("%s %s\n", s.addr, pageHost)
	for _, h := range uploadHostNames(maxHosts) {
		hosts += fmt.Sprintf("%s %s\n", s.addr, h)
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(hosts), 0o644); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(squidConf, dir, proxyPort)), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "squid.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := inNS(clientNS, "squid", "-N", "-f", conf)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b.procs = append(b.procs, cmd)
	favour(cmd.Process.Pid)
	proxy := fmt.Sprintf("http://127.0.0.1:%d", proxyPort)
	for i := 0; ; i++ {
		err := inNS(clientNS, "curl", "-sf", "-o", "/dev/null", "-x", proxy, "--cacert", b.certs.cert, s.base+"/readyz").Run()
		if err == nil {
			return cmd, nil
		}
		if i > 100 || ctx.Err() != nil {
			b.stop(cmd)
			return nil, fmt.Errorf("squid does not tunnel to %s (see %s)", s.base, dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// proxyTunnels reads squid's access log: how many CONNECT tunnels to the
// bench's host names it carried, and the most open at once (a browser may cap
// its connections to one proxy).
func proxyTunnels(logs string) (total, most int) {
	f, err := os.Open(filepath.Join(logs, "squid", "access.log"))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	type edge struct {
		t float64
		d int
	}
	var edges []edge
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// time (end, s) elapsed (ms) client code/status bytes method URL …
		fl := strings.Fields(sc.Text())
		if len(fl) < 7 || fl[5] != "CONNECT" || !strings.Contains(fl[6], pageHost) {
			continue
		}
		end, err1 := strconv.ParseFloat(fl[0], 64)
		ms, err2 := strconv.ParseFloat(fl[1], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		total++
		edges = append(edges, edge{end - ms/1000, 1}, edge{end, -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		return edges[i].t < edges[j].t || edges[i].t == edges[j].t && edges[i].d < edges[j].d
	})
	open := 0
	for _, e := range edges {
		open += e.d
		most = max(most, open)
	}
	return total, most
}
