package web

import (
	"crypto/subtle"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// chunkRoute is the API's chunk upload route (package api), whose completed
// requests are upload goodput.
const chunkRoute = "PUT /api/v1/uploads/{id}/chunks/{n}"

// Metrics measure every request and serve GET /metrics from the instance's
// registry (R-R3). Create them once per registry; every Server of the instance
// shares them.
type Metrics struct {
	gatherer   prometheus.Gatherer
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	inFlight   prometheus.Gauge
	chunkBytes prometheus.Counter
	goodput    prometheus.Histogram
}

// NewMetrics registers the HTTP metrics on reg, which GET /metrics then serves.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		gatherer: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "medbox_http_requests_total",
			Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "medbox_http_request_duration_seconds",
			Help: "Time to answer a request, by route pattern.", Buckets: prometheus.ExponentialBuckets(0.002, 4, 9)}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "medbox_http_requests_in_flight",
			Help: "Requests being answered now."}),
		chunkBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "medbox_upload_chunk_bytes_total",
			Help: "Bytes of upload chunks stored and acknowledged."}),
		goodput: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "medbox_upload_chunk_goodput_bytes_per_second",
			Help:    "Goodput of each acknowledged chunk PUT: its bytes over the time from request to answer.",
			Buckets: prometheus.ExponentialBuckets(64<<10, 2, 14)}), // 64 KiB/s … 512 MiB/s
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.chunkBytes, m.goodput)
	return m
}

// measure counts and times each request under the route pattern that served it.
// The pattern is read after the handler returns: each ServeMux on the way (the
// API's inside this one) sets it on the request it was given, and nothing between
// here and the muxes replaces the request.
func (m *Metrics) measure(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		sw := &statusWriter{ResponseWriter: w}
		body := &countingBody{ReadCloser: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "none" // no route matched (the catch-all "/" answers the error page); the path itself would be unbounded
		}
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		if route == chunkRoute && sw.status == http.StatusNoContent && body.n > 0 {
			m.chunkBytes.Add(float64(body.n))
			m.goodput.Observe(float64(body.n) / max(elapsed.Seconds(), 1e-6))
		}
	})
}

// countingBody counts the bytes a handler read from a request body.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// handler serves the metrics to whoever may read them, and answers 404 to
// anyone else, as for a page that does not exist.
//
// With a token, only a request bearing it may read them. Without one, only a
// client on this machine connecting directly: a request relayed by a proxy (it
// carries X-Forwarded-For, Forwarded or X-Real-IP) may come from anywhere, so
// it is refused even when the proxy itself is local.
func (m *Metrics) handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !mayReadMetrics(r, token) {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func mayReadMetrics(r *http.Request, token string) bool {
	if token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
	}
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
