//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/sys/unix"

	"github.com/medbox-jp/medbox/internal/dicom"
)

// TestViewerPhoneSlowLink opens a 1760×2140 chest radiograph (one 7.5 MB
// 16-bit frame) in the phone viewer on a slow link: the screen-sized rendition
// (at most 1024 px a side, 1.7 MB) is drawn first and the whole frame after it,
// in the same place. The times from navigation start are logged.
//
// The link is Chromium's network emulation, 20 Mbit/s each way with 80 ms
// added to every request. With MEDBOX_VIEWER_WANEM=client-ns,server-ns,server-addr
// (root; namespaces made by bench/wanem/netns-up.sh with that model, e.g.
// -rate 20mbit -delay 40ms -loss 0.5%) the browser runs in client-ns instead,
// and its connections cross the emulated link to a relay in server-ns (with
// BBR, as the server's sockets) that passes them on to this instance: real TCP
// with slow start and loss, without TLS.
func TestViewerPhoneSlowLink(t *testing.T) {
	wanem := os.Getenv("MEDBOX_VIEWER_WANEM")
	in := startInstance(t, instanceOptions{})
	x := newExchange(t, in)
	chest := x.sender.upload(x.box, "chest_cr.dcm", dicomFile(t, "cr_chest_mono1_implicit.dcm"))
	in.previewsMade()
	if wanem != "" {
		viaWANEM(t, wanem, strings.TrimPrefix(in.url, "http://"))
	}

	b := newBrowser(t, phone)
	b.signIn(in, x.rcpt.user, x.rcpt.pass)
	link := "20 Mbit/s, 80 ms per request (Chromium's emulation)"
	if wanem == "" {
		b.do("slow link", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
				MatchedNetworkConditions: []*network.Conditions{{Latency: 80, DownloadThroughput: 20e6 / 8, UploadThroughput: 20e6 / 8}}})
			return err
		}))
	} else {
		link = "the emulated link of " + wanem
	}
	for run := range 2 { // the second time, the page's scripts and styles are cached
		start := time.Now()
		b.do("open the radiograph", chromedp.Navigate(in.url+"/boxes/"+x.box+"/files/"+chest))
		b.waitJS("first image", `document.getElementById('viewer')?.dataset.firstImageMs !== undefined`, 30*time.Second)
		if level := eval[string](b, `document.getElementById('viewer').dataset.level`); level != "screen" && run == 0 {
			t.Errorf("first image drawn from the %s frame, want the screen-sized rendition", level)
		}
		b.waitJS("whole frame", `document.getElementById('viewer')?.dataset.fullImageMs !== undefined`, 60*time.Second)
		first := eval[string](b, `document.getElementById('viewer').dataset.firstImageMs`)
		full := eval[string](b, `document.getElementById('viewer').dataset.fullImageMs`)
		t.Logf("run %d on %s: screen-sized image at %s ms after navigation start, whole frame at %s ms; %v wall clock",
			run+1, link, first, full, time.Since(start).Round(time.Millisecond))
		if run == 0 {
			b.screenshot("radiograph-slow-link")
		}
		if os.Getenv("MEDBOX_VIEWER_TIMELINE") != "" {
			t.Log(eval[string](b, `[performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')].map(e => e.name.replace(/^.*\/\/[^/]*/, '') + ' ' + Math.round(e.startTime) + '–' + Math.round(e.responseEnd) + ' ms ' + e.encodedBodySize + ' B').join('\n')`))
			t.Log("first paint (server JPEG): ", eval[string](b, `document.getElementById('viewer').dataset.firstPaintMs || ''`))
		}
	}
	if level := eval[string](b, `document.getElementById('viewer').dataset.level`); level != "full" {
		t.Errorf("level at the end = %q, want full", level)
	}
}

// viaWANEM runs the browser in the client namespace of spec
// ("client-ns,server-ns,server-addr") and relays its connections to addr (this
// instance, on loopback here) across the emulated link: the browser connects to
// addr in its namespace, a relay there connects to server-addr in the server
// namespace, and a relay there connects to addr here.
func viaWANEM(t *testing.T, spec, addr string) {
	parts := strings.Split(spec, ",")
	if len(parts) != 3 {
		t.Fatalf("MEDBOX_VIEWER_WANEM=%q: want client-ns,server-ns,server-addr", spec)
	}
	clientNS, serverNS, serverAddr := parts[0], parts[1], parts[2]
	_, port, _ := net.SplitHostPort(addr)
	hop := net.JoinHostPort(serverAddr, port)
	far := listenIn(t, serverNS, hop)
	if rc, err := far.(*net.TCPListener).SyscallConn(); err == nil {
		var serr error
		if err := rc.Control(func(fd uintptr) { // BBR, as the server's own sockets (MEDBOX_TCP_CONGESTION)
			serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, "bbr")
		}); err != nil || serr != nil {
			t.Logf("relay: no BBR: %v %v", err, serr)
		}
	}
	go relay(far, func() (net.Conn, error) { return net.Dial("tcp", addr) })
	near := listenIn(t, clientNS, addr)
	go relay(near, func() (net.Conn, error) { return dialIn(clientNS, hop) })
	wrapper := filepath.Join(t.TempDir(), "chromium")
	script := fmt.Sprintf("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n", clientNS, chromiumPath(t))
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil { // #nosec G306 -- a script the test runs
		t.Fatal(err)
	}
	t.Setenv("MEDBOX_CHROMIUM", wrapper)
}

// inNetns runs fn on a thread in network namespace ns, so that the sockets it
// makes belong there.
func inNetns(ns string, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	here, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	defer here.Close()
	there, err := os.Open(filepath.Join("/run/netns", ns))
	if err != nil {
		return err
	}
	defer there.Close()
	if err := unix.Setns(int(there.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter %s: %w", ns, err)
	}
	ferr := fn()
	if err := unix.Setns(int(here.Fd()), unix.CLONE_NEWNET); err != nil {
		panic(err) // a thread left in the other namespace must not run anything else
	}
	return ferr
}

func listenIn(t *testing.T, ns, addr string) net.Listener {
	var ln net.Listener
	err := inNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dialIn(ns, addr string) (c net.Conn, err error) {
	err = inNetns(ns, func() error {
		c, err = net.Dial("tcp", addr)
		return err
	})
	return c, err
}

// relay passes every connection ln accepts on to a connection dial makes.
func relay(ln net.Listener, dial func() (net.Conn, error)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			d, err := dial()
			if err != nil {
				return
			}
			defer d.Close()
			done := make(chan struct{}, 2)
			pass := func(to, from net.Conn) {
				io.Copy(to, from)
				if tc, ok := to.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				done <- struct{}{}
			}
			go pass(d, c)
			go pass(c, d)
			<-done
			<-done
		}()
	}
}

// wideDICOM is an 8-bit MONOCHROME2 image of cols×rows whose pixel (x, y) is
// (x/8 + y) mod 256: fine detail that scaling down blurs.
func wideDICOM(cols, rows int) []byte {
	var meta []byte
	meta = append(meta, dicomElement(0x0002, 0x0001, "OB", []byte{0, 1})...)
	meta = append(meta, dicomElement(0x0002, 0x0002, "UI", []byte("1.2.840.10008.5.1.4.1.1.7"))...)
	meta = append(meta, dicomElement(0x0002, 0x0003, "UI", []byte("1.2.3.4.5.6.7.8.10"))...)
	meta = append(meta, dicomElement(0x0002, 0x0010, "UI", []byte("1.2.840.10008.1.2.1"))...)
	b := make([]byte, 128, 2048+cols*rows)
	b = append(b, "DICM"...)
	b = append(b, dicomElement(0x0002, 0x0000, "UL", binary.LittleEndian.AppendUint32(nil, uint32(len(meta))))...)
	b = append(b, meta...)
	b = append(b, dicomElement(0x0008, 0x0060, "CS", []byte("OT"))...)
	b = append(b, dicomElement(0x0010, 0x0010, "PN", []byte("Wide^Image"))...)
	b = append(b, dicomElement(0x0028, 0x0002, "US", us(1))...)
	b = append(b, dicomElement(0x0028, 0x0004, "CS", []byte("MONOCHROME2"))...)
	b = append(b, dicomElement(0x0028, 0x0010, "US", us(uint16(rows)))...)
	b = append(b, dicomElement(0x0028, 0x0011, "US", us(uint16(cols)))...)
	b = append(b, dicomElement(0x0028, 0x0100, "US", us(8))...)
	b = append(b, dicomElement(0x0028, 0x0101, "US", us(8))...)
	b = append(b, dicomElement(0x0028, 0x0102, "US", us(7))...)
	b = append(b, dicomElement(0x0028, 0x0103, "US", us(0))...)
	px := make([]byte, cols*rows)
	for y := range rows {
		for x := range cols {
			px[y*cols+x] = byte(x/8 + y)
		}
	}
	return append(b, dicomElement(0x7FE0, 0x0010, "OB", px)...)
}

// TestViewerRegion: a 5000×300 image, beyond the 4096 px of a viewer frame,
// is sent scaled down (with a screen-sized rendition first); a region of it
// comes at full resolution with its own pixels, and the viewer asks for the part
// in view when zoomed in past the scaled frame's pixels. Bad regions are refused.
func TestViewerRegion(t *testing.T) {
	in := startInstance(t, instanceOptions{})
	x := newExchange(t, in)
	const cols, rows = 5000, 300
	wide := x.sender.upload(x.box, "wide.dcm", wideDICOM(cols, rows))
	small := x.sender.upload(x.box, "mr.dcm", dicomFile(t, "mr_10frame_native.dcm"))
	in.previewsMade()

	frame := func(file, query string) dicom.ViewerFrame {
		t.Helper()
		status, body, _ := x.rcpt.do("GET", "/api/v1/files/"+file+"/preview?frame=0&format=raw"+query, nil, nil)
		var v dicom.ViewerFrame
		if err := v.UnmarshalBinary(body); status != http.StatusOK || err != nil {
			t.Fatalf("frame%s: %d %v %.200s", query, status, err, body)
		}
		return v
	}
	if v := frame(wide, ""); v.Width != 4096 || v.SourceWidth != cols || v.Region != [4]int{0, 0, cols, rows} {
		t.Errorf("viewer frame %d×%d of %d, region %v", v.Width, v.Height, v.SourceWidth, v.Region)
	}
	if v := frame(wide, "&size=screen"); v.Width != 1024 || v.SourceWidth != cols {
		t.Errorf("screen frame %d×%d of %d", v.Width, v.Height, v.SourceWidth)
	}
	if v := frame(small, "&size=screen"); v.Width != 64 || v.SourceWidth != 64 {
		t.Errorf("screen frame of a 64×64 image: %d×%d", v.Width, v.Height)
	}
	v := frame(wide, "&region=4500,100,64,32")
	if v.Width != 64 || v.Height != 32 || v.Region != [4]int{4500, 100, 64, 32} {
		t.Fatalf("region %d×%d %v", v.Width, v.Height, v.Region)
	}
	for y := range 32 {
		for x := range 64 {
			if got, want := float64(v.Pixels[y*64+x])*v.Slope+v.Intercept, float64(byte((4500+x)/8+100+y)); got != want {
				t.Fatalf("region pixel (%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
	for q, want := range map[string]int{"&region=1,2,3": 400, "&region=0,0,0,10": 400, "&region=0,0,5000,10": 400,
		"&region=-1,0,10,10": 400, "&region=6000,0,10,10": 404} {
		if status, body, _ := x.rcpt.do("GET", "/api/v1/files/"+wide+"/preview?frame=0&format=raw"+q, nil, nil); status != want {
			t.Errorf("region %s: %d %.100s, want %d", q, status, body, want)
		}
	}
	for _, q := range []string{"&size=screen", "&region=0,0,10,10"} {
		if status, _, _ := x.outside.do("GET", "/api/v1/files/"+wide+"/preview?frame=0&format=raw"+q, nil, nil); status != http.StatusNotFound {
			t.Errorf("outsider%s: %d", q, status)
		}
	}

	b := newBrowser(t, desktop)
	b.signIn(in, x.rcpt.user, x.rcpt.pass)
	b.open(in.url + "/boxes/" + x.box + "/files/" + wide)
	b.waitJS("whole frame", `document.getElementById('viewer')?.dataset.level === 'full'`, 20*time.Second)
	if got := eval[string](b, `document.getElementById('viewer').dataset.region || ''`); got != "" {
		t.Errorf("a region %s fetched before zooming in", got)
	}
	before := eval[float64](b, canvasSum)
	b.do("zoom in", chromedp.Evaluate[chromedp.Void](`(() => {
		const st = document.getElementById('dv-stage');
		for (let i = 0; i < 3; i++) st.dispatchEvent(new WheelEvent('wheel', {deltaY: -200, ctrlKey: true, cancelable: true, bubbles: true}));
	})()`))
	b.waitJS("region drawn", `document.getElementById('viewer').dataset.region !== undefined`, 20*time.Second)
	region := eval[string](b, `document.getElementById('viewer').dataset.region`)
	var rx, ry, rw, rh int
	if _, err := fmt.Sscanf(region, "%d,%d,%d,%d", &rx, &ry, &rw, &rh); err != nil || rw > 4096 || rx+rw > cols || ry+rh > rows || rx > cols/2 || rx+rw < cols/2 {
		t.Errorf("region %q: not the middle of the image in view", region)
	}
	if eval[float64](b, canvasSum) == before {
		t.Error("zooming in left the canvas as it was")
	}
	b.screenshot("viewer-region")
}
