package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

const (
	deploymentARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"
	greenARN      = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/9313423515462893900"
	// secret appears in response bodies and header values; it must never
	// reach a reason, a report or a log line.
	secret = "s3cr3t-b0dy-t0ken"
)

// clock is a test clock: Sleep advances it instead of waiting.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// app is the service under test: a handful of endpoints that behave well or
// badly, counting requests per path.
type app struct {
	mu    sync.Mutex
	hits  map[string]int
	flaky int // /flaky fails this many times, then answers ok
}

func (a *app) count(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hits[path]
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	if a.hits == nil {
		a.hits = map[string]int{}
	}
	a.hits[r.URL.Path]++
	n := a.hits[r.URL.Path]
	a.mu.Unlock()
	switch r.URL.Path {
	case "/health":
		io.WriteString(w, "ok "+secret)
	case "/broken":
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "boom "+secret)
	case "/flaky":
		if n <= a.flaky {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "warming up")
			return
		}
		io.WriteString(w, "ok")
	case "/slow":
		// Blocks until the client gives up (bounded, should it not).
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	case "/sluggish":
		time.Sleep(150 * time.Millisecond)
		io.WriteString(w, "ok")
	case "/wrong":
		io.WriteString(w, "maintenance "+secret)
	case "/login":
		http.Redirect(w, r, "/sso", http.StatusFound)
	case "/sso":
		io.WriteString(w, "sign in")
	case "/needs-header":
		if r.Header.Get("x-amzn-ecs-bluegreen-test") != "true" || r.Host != "green.internal" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "green")
	case "/version":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"version":"2.4.1","token":%q,"build":{"number":42}}`, secret)
	case "/echo-method":
		io.WriteString(w, r.Method)
	default:
		http.NotFound(w, r)
	}
}

// refusedURL returns a 127.0.0.1 URL nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

func deployment(t *testing.T) hook.DeploymentARN {
	t.Helper()
	d, err := hook.ParseDeploymentARN(deploymentARN)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustConfig(t *testing.T, js string) Config {
	t.Helper()
	c, err := ParseConfig([]byte(js))
	if err != nil {
		t.Fatalf("ParseConfig(%s) = %v", js, err)
	}
	return c
}

// logBuffer is a logger whose output the test can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }
func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestChecks runs one configuration per case against the app, as one call
// with no deadline pressure, and checks the verdict and the reason.
func TestChecks(t *testing.T) {
	tests := []struct {
		name       string
		checks     string // the checks list
		extra      string // more top-level settings
		base       string // "refused" for a dead URL
		flaky      int
		status     hook.Status
		reason     []string
		attempts   []int
		notVisited string
	}{
		{name: "healthy", checks: `[{"name":"health","path":"/health","bodyContains":"ok"}]`,
			status: hook.StatusSucceeded, reason: []string{"smoke checks passed: 1 of 1"}, attempts: []int{1}},
		{name: "500", checks: `[{"name":"api","path":"/broken"}]`, extra: `"retries":2`,
			status: hook.StatusFailed, reason: []string{"smoke checks failed: api [3 attempts]: status 500, want 200"}, attempts: []int{3}},
		{name: "flaky then healthy", checks: `[{"name":"warm","path":"/flaky"}]`, flaky: 2,
			status: hook.StatusSucceeded, reason: []string{"passed: 1 of 1"}, attempts: []int{3}},
		{name: "flaky beyond retries", checks: `[{"name":"warm","path":"/flaky"}]`, flaky: 5, extra: `"retries":1`,
			status: hook.StatusFailed, reason: []string{"warm [2 attempts]: status 503, want 200"}, attempts: []int{2}},
		{name: "consecutive successes", checks: `[{"name":"warm","path":"/flaky"}]`, flaky: 1, extra: `"consecutiveSuccesses":3`,
			status: hook.StatusSucceeded, attempts: []int{4}},
		{name: "slow: no response within the timeout", checks: `[{"name":"slow","path":"/slow"}]`, extra: `"timeoutMs":200,"retries":0`,
			status: hook.StatusFailed, reason: []string{"slow [1 attempt]: no response within 200ms"}, attempts: []int{1}},
		{name: "slow: over maxLatency", checks: `[{"name":"slow","path":"/sluggish","maxLatencyMs":20}]`, extra: `"retries":0`,
			status: hook.StatusFailed, reason: []string{"slow [1 attempt]: took ", "want at most 20ms"}, attempts: []int{1}},
		{name: "wrong body", checks: `[{"name":"health","path":"/wrong","bodyContains":"ok"}]`, extra: `"retries":1`,
			status: hook.StatusFailed, reason: []string{`health [2 attempts]: body does not contain "ok"`}},
		{name: "wrong body regex", checks: `[{"name":"health","path":"/wrong","bodyRegex":"^ok"}]`, extra: `"retries":0`,
			status: hook.StatusFailed, reason: []string{"health [1 attempt]: body does not match bodyRegex"}},
		{name: "redirect is a status, not followed", checks: `[{"name":"login page","path":"/login","expectStatus":[200,302]}]`,
			status: hook.StatusSucceeded, attempts: []int{1}, notVisited: "/sso"},
		{name: "redirect where 200 is expected", checks: `[{"name":"login page","path":"/login"}]`, extra: `"retries":0`,
			status: hook.StatusFailed, reason: []string{"login page [1 attempt]: status 302, want 200"}, notVisited: "/sso"},
		{name: "redirect followed when asked", checks: `[{"name":"login page","path":"/login","followRedirects":true,"bodyContains":"sign in"}]`,
			status: hook.StatusSucceeded},
		{name: "connection refused", checks: `[{"name":"health","path":"/health"}]`, base: "refused", extra: `"retries":2`,
			status: hook.StatusFailed, reason: []string{"health [3 attempts]: ", "connection refused"}, attempts: []int{3}},
		{name: "needs a header", checks: `[{"name":"green","path":"/needs-header"}]`,
			extra:  `"headers":{"x-amzn-ecs-bluegreen-test":"true","Host":"green.internal"}`,
			status: hook.StatusSucceeded},
		{name: "needs a header, not sent", checks: `[{"name":"green","path":"/needs-header"}]`, extra: `"retries":0`,
			status: hook.StatusFailed, reason: []string{"green [1 attempt]: status 404, want 200"}},
		{name: "check header overrides run header", checks: `[{"name":"green","path":"/needs-header","headers":{"x-amzn-ecs-bluegreen-test":"true"}}]`,
			extra:  `"headers":{"x-amzn-ecs-bluegreen-test":"false","host":"green.internal"}`,
			status: hook.StatusSucceeded},
		{name: "jsonPath equals", checks: `[{"name":"v","path":"/version","jsonPath":"$.version","equals":"2.4.1"},
			{"name":"n","path":"/version","jsonPath":"$.build.number","equals":42.0},{"name":"exists","path":"/version","jsonPath":"$.token"}]`,
			status: hook.StatusSucceeded, reason: []string{"passed: 3 of 3"}},
		{name: "jsonPath mismatch", checks: `[{"name":"v","path":"/version","jsonPath":"$.version","equals":"2.5.0"}]`, extra: `"retries":0`,
			status: hook.StatusFailed, reason: []string{`v [1 attempt]: $.version does not equal the string "2.5.0"`}},
		{name: "jsonPath wrong type", checks: `[{"name":"v","path":"/version","jsonPath":"$.token","equals":7}]`, extra: `"retries":0`,
			status: hook.StatusFailed, reason: []string{"v [1 attempt]: $.token is a string, want the number 7"}},
		{name: "jsonPath missing", checks: `[{"name":"v","path":"/version","jsonPath":"$.build.sha"}]`, extra: `"retries":0`,
			status: hook.StatusFailed, reason: []string{`v [1 attempt]: $.build has no member "sha"`}},
		{name: "jsonPath on a non-JSON body", checks: `[{"name":"v","path":"/health","jsonPath":"$.version"}]`, extra: `"retries":0`,
			status: hook.StatusFailed, reason: []string{"v [1 attempt]: body is not JSON"}},
		{name: "non-critical failure does not fail the hook",
			checks: `[{"name":"health","path":"/health"},{"name":"api version","path":"/broken","critical":false}]`, extra: `"retries":1`,
			status: hook.StatusSucceeded, reason: []string{"passed: 1 of 2 (1 critical)", "non-critical failed: api version [2 attempts]: status 500, want 200"},
			attempts: []int{1, 2}},
		{name: "critical failure among passes names only it",
			checks: `[{"name":"health","path":"/health"},{"name":"api","path":"/broken"},{"name":"login page","path":"/login","expectStatus":[302]}]`,
			extra:  `"retries":0`,
			status: hook.StatusFailed, reason: []string{"smoke checks failed: api [1 attempt]: status 500"}},
		{name: "method and body are sent", checks: `[{"name":"post","method":"POST","path":"/echo-method","body":"{}","bodyContains":"POST"}]`,
			status: hook.StatusSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &app{flaky: tt.flaky}
			srv := httptest.NewServer(a)
			defer srv.Close()
			base := srv.URL
			if tt.base == "refused" {
				base = refusedURL(t)
			}
			js := fmt.Sprintf(`{"baseUrl":%q,"checks":%s`, base, tt.checks)
			if tt.extra != "" {
				js += "," + tt.extra
			}
			cfg := mustConfig(t, js+"}")
			var logs logBuffer
			clk := newClock()
			r := &Runner{Client: srv.Client(), Now: clk.Now, Sleep: clk.Sleep, Rand: func() float64 { return 0.5 }, Log: logs.logger()}
			res, err := r.Poll(context.Background(), Poll{Deployment: deployment(t), Stage: hook.StagePostTestTrafficShift,
				TargetRevisionARN: greenARN, Config: cfg})
			if err != nil {
				t.Fatalf("Poll = %v", err)
			}
			if res.Status != tt.status {
				t.Errorf("Poll status = %s (%s), want %s", res.Status, res.Reason, tt.status)
			}
			for _, w := range tt.reason {
				if !strings.Contains(res.Reason, w) {
					t.Errorf("Poll reason = %q, want it to contain %q", res.Reason, w)
				}
			}
			if tt.attempts != nil {
				var got []int
				for _, c := range res.Report.Checks {
					got = append(got, c.Attempts)
				}
				if diff := cmp.Diff(tt.attempts, got); diff != "" {
					t.Errorf("attempts per check (-want +got):\n%s", diff)
				}
			}
			if tt.notVisited != "" && a.count(tt.notVisited) != 0 {
				t.Errorf("%s was requested %d times, want none", tt.notVisited, a.count(tt.notVisited))
			}
			report := string(res.Report.EncodeJSON()) + res.Report.Text()
			for name, s := range map[string]string{"reason": res.Reason, "report": report, "log": logs.String()} {
				if strings.Contains(s, secret) {
					t.Errorf("the %s contains a response body or header value:\n%s", name, s)
				}
			}
		})
	}
}

// TestBackoffSchedule checks the waits between attempts of a failing check:
// exponential, capped, with the jitter the Rand source gives.
func TestBackoffSchedule(t *testing.T) {
	srv := httptest.NewServer(&app{})
	defer srv.Close()
	cfg := mustConfig(t, fmt.Sprintf(`{"baseUrl":%q,"checks":[{"name":"api","path":"/broken"}],
		"retries":4,"retryDelayMs":1000,"maxRetryDelayMs":5000}`, srv.URL))
	clk := newClock()
	r := &Runner{Client: srv.Client(), Now: clk.Now, Sleep: clk.Sleep, Rand: func() float64 { return 0 }, Log: slog.New(slog.DiscardHandler)}
	res, err := r.Poll(context.Background(), Poll{Deployment: deployment(t), Stage: hook.StagePostTestTrafficShift, Config: cfg})
	if err != nil || res.Status != hook.StatusFailed {
		t.Fatalf("Poll = %+v, %v, want FAILED", res, err)
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 2500 * time.Millisecond}
	if diff := cmp.Diff(want, clk.Slept()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

// TestCriticalFailureCancelsOthers: once a critical check fails the verdict
// is known; checks still retrying are cancelled, not waited for.
func TestCriticalFailureCancelsOthers(t *testing.T) {
	srv := httptest.NewServer(&app{})
	defer srv.Close()
	// warm passes once, then must wait a minute for its second pass; api
	// fails at once.
	cfg := mustConfig(t, fmt.Sprintf(`{"baseUrl":%q,"checks":[{"name":"api","path":"/broken"},{"name":"warm","path":"/health","critical":false}],
		"retries":0,"consecutiveSuccesses":2,"retryDelayMs":60000,"maxRetryDelayMs":60000}`, srv.URL))
	clk := newClock()
	r := &Runner{Client: srv.Client(), Now: clk.Now, Sleep: func(ctx context.Context, d time.Duration) error {
		<-ctx.Done() // a real wait, ended only by the cancellation
		return ctx.Err()
	}, Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := r.Poll(ctx, Poll{Deployment: deployment(t), Stage: hook.StagePostTestTrafficShift, Config: cfg})
	if err != nil || res.Status != hook.StatusFailed {
		t.Fatalf("Poll = %+v, %v, want FAILED", res, err)
	}
	if got := res.Report.Checks[1].Outcome; got != OutcomeCancelled {
		t.Errorf("warm outcome = %s, want cancelled", got)
	}
	if ctx.Err() != nil {
		t.Error("Poll waited for the cancelled check until the test's deadline")
	}
}

// TestConcurrencyIsBounded: checks run concurrently, as many at a time as
// the configuration allows and no more. Each request waits at a barrier
// that opens once the expected number are in flight together, so a runner
// that runs fewer at a time (one by one, say) never opens it; the wait is
// bounded so that such a runner fails the test instead of hanging it.
func TestConcurrencyIsBounded(t *testing.T) {
	tests := []struct {
		checks, concurrency int
	}{
		{checks: 8, concurrency: 3},
		{checks: 5, concurrency: 2},
		{checks: 4, concurrency: 4},
		{checks: 3, concurrency: 16},
		{checks: 3, concurrency: 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d checks, concurrency %d", tt.checks, tt.concurrency), func(t *testing.T) {
			want := min(tt.checks, tt.concurrency)
			// gaveUp ends every wait at the barrier should it never open.
			gaveUp, stop := context.WithTimeout(context.Background(), 5*time.Second)
			defer stop()
			var (
				mu                    sync.Mutex
				inFlight, most, total int
				opened                bool
			)
			full := make(chan struct{}) // closed when want requests are in flight together
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				inFlight++
				total++
				most = max(most, inFlight)
				if inFlight == want && !opened {
					opened = true
					close(full)
				}
				mu.Unlock()
				// The handler leaves the count before its response is
				// sent, so before the runner can start another request.
				defer func() {
					mu.Lock()
					inFlight--
					mu.Unlock()
				}()
				select {
				case <-full:
				case <-gaveUp.Done():
				case <-r.Context().Done():
				}
			}))
			defer srv.Close()
			var checks []string
			for i := range tt.checks {
				checks = append(checks, fmt.Sprintf(`{"name":"c%d","path":"/c%d"}`, i, i))
			}
			cfg := mustConfig(t, fmt.Sprintf(`{"baseUrl":%q,"concurrency":%d,"timeoutMs":10000,"retries":0,"checks":[%s]}`,
				srv.URL, tt.concurrency, strings.Join(checks, ",")))
			r := &Runner{Client: srv.Client(), Log: slog.New(slog.DiscardHandler)}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := r.Poll(ctx, Poll{Deployment: deployment(t), Stage: hook.StagePostTestTrafficShift, Config: cfg})
			if err != nil || res.Status != hook.StatusSucceeded {
				t.Errorf("Poll = %s %q (%v), want SUCCEEDED", res.Status, res.Reason, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if most != want {
				t.Errorf("at most %d requests in flight, want exactly %d", most, want)
			}
			if gaveUp.Err() != nil {
				t.Errorf("the barrier never opened: %d requests never ran together", want)
			}
			if total != tt.checks {
				t.Errorf("%d requests, want %d (one per check)", total, tt.checks)
			}
		})
	}
}

func TestNoTimeForRequests(t *testing.T) {
	cfg := mustConfig(t, `{"baseUrl":"http://127.0.0.1:1","checks":[{"name":"h","path":"/h"}]}`)
	r := &Runner{Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := r.Poll(ctx, Poll{Deployment: deployment(t), Stage: hook.StagePostTestTrafficShift, Config: cfg})
	if err == nil || !strings.Contains(err.Error(), "raise the function's timeout") || hook.IsTransient(err) {
		t.Errorf("Poll with 50ms left = %v, want a non-transient error asking for a longer timeout", err)
	}
}

// merge functions: how ECS might merge the hookDetails a hook returns into
// those of its next call. The documentation does not say; the state must
// survive any of them.
var merges = map[string]func(t *testing.T, base, returned json.RawMessage) json.RawMessage{
	"shallow":            func(t *testing.T, b, r json.RawMessage) json.RawMessage { return mergeJSON(t, b, r, false, false) },
	"deep":               func(t *testing.T, b, r json.RawMessage) json.RawMessage { return mergeJSON(t, b, r, true, false) },
	"deep, lists merged": func(t *testing.T, b, r json.RawMessage) json.RawMessage { return mergeJSON(t, b, r, true, true) },
}

func mergeJSON(t *testing.T, base, returned json.RawMessage, deep, lists bool) json.RawMessage {
	t.Helper()
	var b, r any
	if len(base) > 0 {
		if err := json.Unmarshal(base, &b); err != nil {
			t.Fatal(err)
		}
	}
	if err := json.Unmarshal(returned, &r); err != nil {
		t.Fatal(err)
	}
	var merge func(b, r any, top bool) any
	merge = func(b, r any, top bool) any {
		switch rv := r.(type) {
		case map[string]any:
			bv, ok := b.(map[string]any)
			if !ok {
				return rv
			}
			out := map[string]any{}
			for k, v := range bv {
				out[k] = v
			}
			for k, v := range rv {
				if deep || top {
					out[k] = merge(bv[k], v, false)
				} else {
					out[k] = v
				}
			}
			return out
		case []any:
			bv, ok := b.([]any)
			if !lists || !ok {
				return rv
			}
			out := append([]any(nil), bv...)
			for i, v := range rv {
				if i < len(out) {
					out[i] = merge(out[i], v, false)
				} else {
					out = append(out, v)
				}
			}
			return out
		}
		return r
	}
	out, err := json.Marshal(merge(b, r, true))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRunContinuesOverCalls: a check whose retry does not fit into the
// call's deadline parks the run; the hook answers IN_PROGRESS with the state
// and a callback delay, and the next call resumes where it stopped, whatever
// way ECS merges the state back in. Discovery happens once per run.
func TestRunContinuesOverCalls(t *testing.T) {
	for name, merge := range merges {
		t.Run(name, func(t *testing.T) {
			a := &app{flaky: 2}
			srv := httptest.NewServer(a)
			defer srv.Close()
			var discoveries atomic.Int32
			reports := newReports()
			clk := newClock()
			r := &Runner{
				Client: srv.Client(), Now: clk.Now, Sleep: clk.Sleep, Rand: func() float64 { return 0.5 }, Log: slog.New(slog.DiscardHandler),
				Reports: reports,
				Discoverer: DiscoverFunc(func(ctx context.Context, arn string) (Target, error) {
					discoveries.Add(1)
					if arn != greenARN {
						t.Errorf("Discover(%q), want the target revision", arn)
					}
					return Target{BaseURL: srv.URL, Headers: map[string]string{"Host": "green.internal", "x-amzn-ecs-bluegreen-test": "true"},
						Source: "test listener rule arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/a/1/2/3"}, nil
				}),
			}
			h := HookHandler(r, DefaultConfig())
			// The configured hookDetails: a minute between retries does not
			// fit into a call with a few seconds left.
			configured := json.RawMessage(`{"checks":[{"name":"warm","path":"/flaky"},{"name":"green","path":"/needs-header"}],
				"retryDelayMs":8000,"maxRetryDelayMs":60000,"timeoutMs":1000}`)
			details := configured
			var delays []int
			var last hook.Response
			for call := 1; call <= 6; call++ {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				res, err := h(ctx, hook.Request{ExecutionID: "e", LifecycleStage: hook.StagePostTestTrafficShift, ResourceARN: deploymentARN,
					ExecutionDetails: hook.ExecutionDetails{TargetServiceRevisionARN: greenARN}, HookDetails: details})
				cancel()
				if err != nil {
					t.Fatalf("call %d: %v", call, err)
				}
				last = res
				if res.HookStatus != hook.StatusInProgress {
					break
				}
				if !strings.Contains(res.Reason, "retrying warm [") || !strings.Contains(res.Reason, "status 503, want 200") {
					t.Errorf("call %d: reason %q, want it to say warm is being retried", call, res.Reason)
				}
				delays = append(delays, res.CallBackDelay)
				rep, err := LoadReport(context.Background(), reports, deployment(t), hook.StagePostTestTrafficShift)
				if err != nil || rep.Verdict != VerdictRunning || !rep.Finished.IsZero() {
					t.Errorf("call %d: report %+v, %v, want one that is running", call, rep, err)
				}
				clk.Add(time.Duration(res.CallBackDelay) * time.Second)
				details = merge(t, details, res.HookDetails)
			}
			if last.HookStatus != hook.StatusSucceeded {
				t.Fatalf("last answer %+v, want SUCCEEDED", last)
			}
			// 8 s·½-jittered = 6 s; then 16 s → 12 s.
			if diff := cmp.Diff([]int{6, 12}, delays); diff != "" {
				t.Errorf("callback delays (-want +got):\n%s", diff)
			}
			if n := discoveries.Load(); n != 1 {
				t.Errorf("discovered %d times, want once per run", n)
			}
			if a.count("/flaky") != 3 || a.count("/needs-header") != 1 {
				t.Errorf("requests: /flaky %d, /needs-header %d, want 3 and 1", a.count("/flaky"), a.count("/needs-header"))
			}
			rep, err := LoadReport(context.Background(), reports, deployment(t), hook.StagePostTestTrafficShift)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != VerdictPassed || rep.Calls != 3 || rep.Checks[0].Attempts != 3 || rep.Finished.IsZero() ||
				!strings.HasPrefix(rep.Source, "test listener rule") || rep.BaseURL != srv.URL {
				t.Errorf("final report = %+v, want passed after 3 calls", rep)
			}
		})
	}
}

func TestStateOfAnotherConfigurationIsIgnored(t *testing.T) {
	a := &app{}
	srv := httptest.NewServer(a)
	defer srv.Close()
	cfg := mustConfig(t, fmt.Sprintf(`{"baseUrl":%q,"checks":[{"name":"h","path":"/health"}]}`, srv.URL))
	clk := newClock()
	r := &Runner{Client: srv.Client(), Now: clk.Now, Sleep: clk.Sleep, Log: slog.New(slog.DiscardHandler)}
	other := newState(mustConfig(t, `{"checks":[{"name":"h","path":"/other"}]}`), clk.Now())
	other.Checks[0].Outcome = OutcomeFailed
	for name, state := range map[string]json.RawMessage{
		"other configuration": other.encode(),
		"corrupt":             json.RawMessage(`{"v":1,"checks":"x"}`),
		"unknown version":     json.RawMessage(`{"v":99}`),
		"not an object":       json.RawMessage(`"x"`),
	} {
		res, err := r.Poll(context.Background(), Poll{Deployment: deployment(t), Stage: hook.StagePostTestTrafficShift, Config: cfg, State: state})
		if err != nil || res.Status != hook.StatusSucceeded {
			t.Errorf("%s: Poll = %+v, %v, want a fresh run that succeeds", name, res, err)
		}
	}
	if a.count("/health") != 4 {
		t.Errorf("/health requested %d times, want 4 fresh runs", a.count("/health"))
	}
}

func TestResumeRefusesImpossibleState(t *testing.T) {
	cfg := mustConfig(t, `{"baseUrl":"http://x","checks":[{"name":"h","path":"/h"}],"retries":1}`)
	now := newClock().Now()
	tests := map[string]func(s *runState){
		"too many attempts":     func(s *runState) { s.Checks[0].Attempts, s.Checks[0].Failures = 9, 9 },
		"unknown outcome":       func(s *runState) { s.Checks[0].Outcome = "maybe" },
		"next far ahead":        func(s *runState) { s.Checks[0].Next = now.Add(24 * time.Hour).UnixMilli() },
		"renamed check":         func(s *runState) { s.Checks[0].Name = "other" },
		"bad base URL":          func(s *runState) { s.BaseURL = "ftp://x" },
		"more failures":         func(s *runState) { s.Checks[0].Failures = 1 },
		"negative calls":        func(s *runState) { s.Calls = -1 },
		"bad discovered header": func(s *runState) { s.Headers = []header{{Name: "a b", Value: "x"}} },
	}
	for name, spoil := range tests {
		s := newState(cfg, now)
		spoil(&s)
		if _, err := resume(s.encode(), cfg, now); err == nil {
			t.Errorf("resume(%s) = nil error, want one", name)
		}
	}
	s := newState(cfg, now)
	if _, err := resume(s.encode(), cfg, now); err != nil {
		t.Errorf("resume(fresh state) = %v", err)
	}
}

// TestStateHasNoNulls: a merge patch deletes keys whose value is null, and
// a deep merge keeps keys the new state lacks; the state has neither.
func TestStateHasNoNulls(t *testing.T) {
	cfg := mustConfig(t, `{"checks":[{"name":"h","path":"/h"}]}`)
	s := newState(cfg, newClock().Now())
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case nil:
			t.Errorf("state has null at %s", path)
		case map[string]any:
			for k, x := range v {
				walk(path+"."+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), x)
			}
		}
	}
	var v any
	if err := json.Unmarshal(s.encode(), &v); err != nil {
		t.Fatal(err)
	}
	walk("$", v)
	if !strings.Contains(string(s.encode()), `"problem":""`) || !strings.Contains(string(s.encode()), `"headers":[]`) {
		t.Errorf("state %s, want every field written", s.encode())
	}
}

// TestStateKeepsNoHeaderValues: configured headers may carry credentials,
// and the state travels in hookDetails.
func TestStateKeepsNoHeaderValues(t *testing.T) {
	cfg := mustConfig(t, `{"baseUrl":"http://127.0.0.1:1","headers":{"Authorization":"Bearer `+secret+`"},
		"checks":[{"name":"h","path":"/h","headers":{"x-api-key":"`+secret+`"}}]}`)
	other := mustConfig(t, `{"baseUrl":"http://127.0.0.1:1","headers":{"Authorization":"Bearer rotated"},
		"checks":[{"name":"h","path":"/h","headers":{"x-api-key":"rotated"}}]}`)
	if fingerprint(cfg) != fingerprint(other) {
		t.Error("the fingerprint depends on header values")
	}
	if cfg.Headers["Authorization"] != "Bearer "+secret || cfg.Checks[0].Headers["x-api-key"] != secret {
		t.Error("fingerprint changed the configuration's headers")
	}
	s := newState(cfg, newClock().Now())
	s.setTarget(Target{BaseURL: cfg.BaseURL, Source: SourceConfig}, true)
	if strings.Contains(string(s.encode()), secret) {
		t.Errorf("state %s holds a header value", s.encode())
	}
}

// TestDiscoveryTroubleIsBounded: transient errors discovering the test
// listener are answered IN_PROGRESS with the run state, so the run keeps its
// start over calls; once they have lasted maxDiscoveryWait the run fails,
// naming the error, and a discovery that recovers in time goes on.
func TestDiscoveryTroubleIsBounded(t *testing.T) {
	for name, merge := range merges {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(&app{})
			defer srv.Close()
			for _, recoverAt := range []int{0, 3} {
				clk := newClock()
				started := clk.Now()
				reports := newReports()
				var calls int
				r := &Runner{Client: srv.Client(), Now: clk.Now, Sleep: clk.Sleep, Log: slog.New(slog.DiscardHandler), Reports: reports,
					Discoverer: DiscoverFunc(func(context.Context, string) (Target, error) {
						calls++
						if recoverAt > 0 && calls >= recoverAt {
							return Target{BaseURL: srv.URL, Headers: map[string]string{"x-amzn-ecs-bluegreen-test": "true", "Host": "green.internal"}}, nil
						}
						return Target{}, hook.Transient(errors.New("Throttling: rate exceeded"))
					})}
				h := HookHandler(r, DefaultConfig())
				details := json.RawMessage(`{"checks":[{"name":"green","path":"/needs-header"}]}`)
				var last hook.Response
				var inProgress int
				for call := 1; call <= maxDiscoveryCalls+1; call++ {
					res, err := h(context.Background(), hook.Request{ExecutionID: "e", LifecycleStage: hook.StagePostTestTrafficShift, ResourceARN: deploymentARN,
						ExecutionDetails: hook.ExecutionDetails{TargetServiceRevisionARN: greenARN}, HookDetails: details})
					if err != nil {
						t.Fatalf("call %d: %v", call, err)
					}
					last = res
					if res.HookStatus != hook.StatusInProgress {
						break
					}
					inProgress++
					if res.CallBackDelay != TransientCallBackDelay || !strings.Contains(res.Reason, "Throttling") {
						t.Errorf("call %d: %+v, want IN_PROGRESS after %d s naming the error", call, res, TransientCallBackDelay)
					}
					clk.Add(time.Minute)
					details = merge(t, details, res.HookDetails)
				}
				if recoverAt > 0 {
					if last.HookStatus != hook.StatusSucceeded || inProgress != recoverAt-1 {
						t.Errorf("recovering at call %d: last %+v after %d IN_PROGRESS, want SUCCEEDED after %d", recoverAt, last, inProgress, recoverAt-1)
					}
					continue
				}
				// Calls at 0, 1, ... 4 minutes answer IN_PROGRESS; the one at
				// 5 minutes fails.
				if last.HookStatus != hook.StatusFailed || inProgress != 5 ||
					!strings.Contains(last.Reason, "gave up after 6 calls over 5m0s") || !strings.Contains(last.Reason, "Throttling: rate exceeded") {
					t.Errorf("last %+v after %d IN_PROGRESS, want FAILED after 5 naming the calls, the time and the error", last, inProgress)
				}
				rep, err := LoadReport(context.Background(), reports, deployment(t), hook.StagePostTestTrafficShift)
				if err != nil || rep.Verdict != VerdictFailed || rep.Calls != 6 || !rep.Started.Equal(started) {
					t.Errorf("report %+v, %v; want FAILED with the run's 6 calls and its start", rep, err)
				}
			}
		})
	}
}

// TestDiscoveryTroubleCallBound: at the 10 s callbacks the hook asks for,
// the bound on calls is reached before the bound on time.
func TestDiscoveryTroubleCallBound(t *testing.T) {
	clk := newClock()
	r := &Runner{Now: clk.Now, Sleep: clk.Sleep, Log: slog.New(slog.DiscardHandler),
		Discoverer: DiscoverFunc(func(context.Context, string) (Target, error) {
			return Target{}, hook.Transient(errors.New("ServiceUnavailable"))
		})}
	h := HookHandler(r, DefaultConfig())
	details := json.RawMessage(`{"checks":[{"name":"green","path":"/"}]}`)
	for call := 1; call <= maxDiscoveryCalls+1; call++ {
		res, err := h(context.Background(), hook.Request{ExecutionID: "e", LifecycleStage: hook.StagePostTestTrafficShift, ResourceARN: deploymentARN,
			ExecutionDetails: hook.ExecutionDetails{TargetServiceRevisionARN: greenARN}, HookDetails: details})
		if err != nil {
			t.Fatalf("call %d: %v", call, err)
		}
		if res.HookStatus != hook.StatusInProgress {
			if call != maxDiscoveryCalls || !strings.Contains(res.Reason, fmt.Sprintf("gave up after %d calls over 3m10s", maxDiscoveryCalls)) {
				t.Errorf("call %d answered %+v, want FAILED at call %d after 3m10s", call, res, maxDiscoveryCalls)
			}
			return
		}
		clk.Add(time.Duration(res.CallBackDelay) * time.Second)
		details = merges["deep"](t, details, res.HookDetails)
	}
	t.Fatalf("no verdict after %d calls", maxDiscoveryCalls+1)
}
