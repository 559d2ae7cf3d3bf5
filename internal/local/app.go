package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/simulator"
)

// Mode is how a revision of the sample service behaves.
type Mode string

// The modes green can be given.
const (
	// Healthy answers every request well.
	Healthy Mode = "healthy"
	// Broken fails its health check and its pages: smoke checks fail.
	Broken Mode = "broken"
	// Slow answers correctly, but takes 1.5 s.
	Slow Mode = "slow"
	// Degrading is healthy until it takes production traffic, then fails
	// a third of its requests: the bake checks catch it.
	Degrading Mode = "degrading"
)

// ParseMode parses a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Healthy, Broken, Slow, Degrading:
		return m, nil
	}
	return "", fmt.Errorf("green mode %q: want healthy, broken, slow or degrading", s)
}

// revision is one revision of the sample service: a real HTTP server on
// 127.0.0.1.
type revision struct {
	version  string
	mode     Mode
	url      string
	srv      *http.Server
	degraded atomic.Bool
	stopped  atomic.Bool
	served   atomic.Int64
}

func startRevision(side simulator.Side, version string, mode Mode) (*revision, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start %s revision: %w", side, err)
	}
	r := &revision{version: version, mode: mode, url: "http://" + ln.Addr().String()}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *revision) close() { _ = r.srv.Close() }

// ServeHTTP is the sample service: /health, /api/version and a page.
func (r *revision) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n := r.served.Add(1)
	if r.stopped.Load() {
		http.Error(w, "task stopped", http.StatusServiceUnavailable)
		return
	}
	if r.mode == Slow {
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-req.Context().Done():
			return
		}
	}
	broken := r.mode == Broken
	if r.degraded.Load() && req.URL.Path != "/health" && n%3 == 0 {
		http.Error(w, "upstream connection reset", http.StatusServiceUnavailable)
		return
	}
	switch req.URL.Path {
	case "/health":
		if broken {
			http.Error(w, "unhealthy: cannot reach the database", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	case "/api/version":
		if broken {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"version": r.version})
	case "/":
		if broken {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>demo %s</title><h1>demo %s</h1>\n", r.version, r.version)
	default:
		http.NotFound(w, req)
	}
}

// sample is one request seen by a listener.
type sample struct {
	at      time.Time
	side    simulator.Side
	status  int
	latency time.Duration
}

// Listener is a load-balancer listener: a reverse proxy on 127.0.0.1 that
// forwards to the revision it currently targets and, for production,
// records what every request got, per revision.
type Listener struct {
	Name string
	URL  string

	mu         sync.Mutex
	target     *revision
	targetSide simulator.Side
	// During a linear or canary step, split is green's share in percent,
	// other the revision that takes the rest (blue), and credit spreads
	// the requests exactly: each adds split, and one of 100 goes to green.
	split   float64
	other   *revision
	credit  float64
	samples []sample
	now     func() time.Time
	srv     *http.Server
}

// maxSamples bounds what a listener remembers.
const maxSamples = 200_000

func newListener(name string, now func() time.Time) (*Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start %s listener: %w", name, err)
	}
	l := &Listener{Name: name, URL: "http://" + ln.Addr().String(), now: now}
	l.srv = &http.Server{Handler: l, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = l.srv.Serve(ln) }()
	return l, nil
}

func (l *Listener) route(r *revision, side simulator.Side) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.target, l.targetSide, l.split, l.other = r, side, 0, nil
	if r == nil {
		l.targetSide = ""
	}
}

// weigh sends green percent of the requests to green and the rest to blue.
func (l *Listener) weigh(green, blue *revision, percent float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.target, l.targetSide, l.other, l.split, l.credit = green, simulator.Green, blue, percent, 0
}

// GreenShare is the share of requests the listener sends to green, in
// percent.
func (l *Listener) GreenShare() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.other != nil:
		return l.split
	case l.targetSide == simulator.Green:
		return 100
	}
	return 0
}

// Serving is the version of the revisions the listener forwards to, the
// one taking most requests first: "2.4.1", or "2.4.1 and 2.4.0" during a
// linear or canary step; "" for none.
func (l *Listener) Serving() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.target == nil:
		return ""
	case l.other != nil && l.split < 50:
		return l.other.version + " and " + l.target.version
	case l.other != nil:
		return l.target.version + " and " + l.other.version
	}
	return l.target.version
}

// Target returns the side the listener forwards to, or "" for none.
func (l *Listener) Target() simulator.Side {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.targetSide
}

// ServeHTTP forwards the request and records the answer.
func (l *Listener) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	l.mu.Lock()
	target, side := l.target, l.targetSide
	if l.other != nil {
		l.credit += l.split
		if l.credit >= 100 {
			l.credit -= 100
		} else {
			target, side = l.other, simulator.Blue
		}
	}
	l.mu.Unlock()
	if target == nil {
		http.Error(w, "no target group is attached to this listener", http.StatusServiceUnavailable)
		return
	}
	u, _ := url.Parse(target.url)
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}
	proxy.ServeHTTP(rec, req)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.samples = append(l.samples, sample{at: l.now(), side: side, status: rec.status, latency: time.Since(start)})
	if len(l.samples) > maxSamples {
		l.samples = slices.Clone(l.samples[len(l.samples)-maxSamples/2:])
	}
}

// Stats are the requests a listener forwarded to one side in a period.
type Stats struct {
	Requests  int
	Errors5xx int
	// Latencies in milliseconds at the 50th, 90th and 99th percentiles.
	P50, P90, P99 float64
}

// Stats returns what side got between start and end (simulated time).
func (l *Listener) Stats(side simulator.Side, start, end time.Time) Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	var st Stats
	var lat []float64
	for _, s := range l.samples {
		if s.side != side || s.at.Before(start) || !s.at.Before(end) {
			continue
		}
		st.Requests++
		if s.status >= 500 {
			st.Errors5xx++
		}
		lat = append(lat, float64(s.latency)/float64(time.Millisecond))
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		pct := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		st.P50, st.P90, st.P99 = pct(0.50), pct(0.90), pct(0.99)
	}
	return st
}

func (l *Listener) close() { _ = l.srv.Close() }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// App is the sample blue/green service: two revisions behind a production
// and a test listener. It implements simulator.Environment.
type App struct {
	Production *Listener
	Test       *Listener

	mu        sync.Mutex
	blue      *revision
	green     *revision
	greenMode Mode
	version   int
	stopLoad  context.CancelFunc
}

// NewApp starts blue (version 2.4.0) behind both listeners, and a load
// generator that keeps production busy, as users would: about 50 requests a
// simulated minute (50 a second of real time at speed 60, more when time
// runs faster), so that the bake, and a canary's 10% share over its two
// minutes, see as much traffic at any speed up to MaxSpeed.
func NewApp(now func() time.Time) (*App, error) {
	return NewAppAt(now, 60, 0)
}

// NewAppAt is NewApp with simulated time running speed times real time, and
// blue at version 2.4.<deployed>: deployed earlier deployments succeeded.
func NewAppAt(now func() time.Time, speed float64, deployed int) (*App, error) {
	blue, err := startRevision(simulator.Blue, fmt.Sprintf("2.4.%d", deployed), Healthy)
	if err != nil {
		return nil, err
	}
	prod, err := newListener("production", now)
	if err != nil {
		blue.close()
		return nil, err
	}
	test, err := newListener("test", now)
	if err != nil {
		blue.close()
		prod.close()
		return nil, err
	}
	prod.route(blue, simulator.Blue)
	test.route(blue, simulator.Blue)
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{Production: prod, Test: test, blue: blue, version: deployed, stopLoad: cancel}
	interval := max(time.Duration(float64(20*time.Millisecond)*60/max(speed, 1)), 4*time.Millisecond)
	go a.load(ctx, interval)
	return a, nil
}

// Prepare readies a new green revision with mode for the next deployment.
func (a *App) Prepare(mode Mode) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.greenMode = mode
}

// Versions returns blue's and the next green's version.
func (a *App) Versions() (blue, green string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.blue.version, fmt.Sprintf("2.4.%d", a.version+1)
}

// Serving is the version production serves.
func (a *App) Serving() string { return a.Production.Serving() }

// StartGreen starts the green revision (SCALE_UP).
func (a *App) StartGreen(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.green != nil {
		return nil
	}
	mode := a.greenMode
	if mode == "" {
		mode = Healthy
	}
	g, err := startRevision(simulator.Green, fmt.Sprintf("2.4.%d", a.version+1), mode)
	if err != nil {
		return err
	}
	a.green = g
	return nil
}

// RouteTest points the test listener at side.
func (a *App) RouteTest(side simulator.Side) { a.Test.route(a.side(side), side) }

// RouteProduction points the production listener at side. A degrading green
// starts failing once it takes production traffic.
func (a *App) RouteProduction(side simulator.Side) {
	r := a.side(side)
	if r != nil && side == simulator.Green && r.mode == Degrading {
		r.degraded.Store(true)
	}
	a.Production.route(r, side)
}

// WeighProduction sends green percent of production traffic to green and
// the rest to blue: a linear or canary step. A degrading green starts
// failing once it takes production traffic.
func (a *App) WeighProduction(green float64) {
	g, b := a.side(simulator.Green), a.side(simulator.Blue)
	if g == nil {
		return
	}
	if g.mode == Degrading {
		g.degraded.Store(true)
	}
	a.Production.weigh(g, b, green)
}

func (a *App) side(s simulator.Side) *revision {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s == simulator.Green {
		return a.green
	}
	return a.blue
}

// StopGreen stops green after a rollback; blue carries on.
func (a *App) StopGreen() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.green != nil {
		a.green.stopped.Store(true)
		g := a.green
		a.green = nil
		time.AfterFunc(time.Second, g.close)
	}
}

// StopBlue retires blue after a successful deployment: green becomes the
// new blue.
func (a *App) StopBlue() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.green == nil {
		return
	}
	old := a.blue
	old.stopped.Store(true)
	time.AfterFunc(time.Second, old.close)
	a.blue = a.green
	a.green = nil
	a.version++
	// The green revision is now the service's only one: both listeners
	// forward to it, and it is called blue from here on.
	a.Production.route(a.blue, simulator.Blue)
	a.Test.route(a.blue, simulator.Blue)
}

// Close stops everything.
func (a *App) Close() {
	a.stopLoad()
	a.Production.close()
	a.Test.close()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range []*revision{a.blue, a.green} {
		if r != nil {
			r.close()
		}
	}
}

// maxLoadInFlight bounds the load generator's requests in flight: a slow
// revision (1.5 s an answer) at the highest speed takes about 190.
const maxLoadInFlight = 256

// load sends production traffic, one request per interval, until ctx ends.
// Requests do not wait for each other, as users do not: a slow revision
// gets as many requests as a fast one, and its latency shows in the bake's
// metrics rather than starving it of evidence. At most maxLoadInFlight are
// in flight; a tick finding them all busy is skipped.
func (a *App) load(ctx context.Context, interval time.Duration) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: maxLoadInFlight}}
	defer client.CloseIdleConnections()
	paths := []string{"/", "/api/version", "/"}
	slots := make(chan struct{}, maxLoadInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case slots <- struct{}{}:
		default:
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.Production.URL+paths[i%len(paths)], nil)
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if res, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
			}
		}()
	}
}
