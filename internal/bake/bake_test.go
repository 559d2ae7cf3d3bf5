package bake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

const (
	deploymentARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"
	greenRevision = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/9313423515462893900"
	greenTG       = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/orders-b/73e2d6bc24d8a067"
	blueTG        = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/orders-a/2453ed029918f21f"
)

// fakeSources answers as CloudWatch would, from fields a test sets; it
// records what it was asked.
type fakeSources struct {
	mu        sync.Mutex
	alarms    []Alarm
	alarmsErr error
	green     Stats
	blue      Stats
	statsErr  error
	expr      []float64
	exprErr   error
	asked     []string // "green 09:00-09:04", "blue 08:50-09:00"
}

func (f *fakeSources) Alarms(ctx context.Context, names, prefixes []string) ([]Alarm, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, "alarms")
	return append([]Alarm(nil), f.alarms...), f.alarmsErr
}

func (f *fakeSources) TargetStats(ctx context.Context, t Target, start, end time.Time) (Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, fmt.Sprintf("%s %s %s-%s", t.Name, t.TargetGroup, start.Format("15:04"), end.Format("15:04")))
	if f.statsErr != nil {
		return Stats{}, f.statsErr
	}
	if t.Name == Blue {
		return f.blue, nil
	}
	return f.green, nil
}

func (f *fakeSources) Expression(ctx context.Context, expr string, metrics map[string]Metric, start, end time.Time) ([]float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, "expression "+expr)
	return f.expr, f.exprErr
}

func (f *fakeSources) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.asked {
		if strings.HasPrefix(a, prefix) {
			n++
		}
	}
	return n
}

// fakeLocator answers as elbv2.Finder would: green's and blue's target
// groups with the production rule's weights (all to green unless set), told
// by the test listener when byTest is set, else by the larger weight.
type fakeLocator struct {
	calls  int
	err    error
	gw, bw int32
	byTest bool
}

func (l *fakeLocator) Locate(ctx context.Context, rev string) (Traffic, error) {
	l.calls++
	if rev != greenRevision {
		return Traffic{}, fmt.Errorf("asked for revision %s", rev)
	}
	t := Traffic{LoadBalancer: "app/orders/50dc6c495c0c9188", Green: greenTG, Blue: blueTG,
		ProductionRule: "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
		GreenWeight:    100, ByTestListener: l.byTest}
	if l.gw != 0 || l.bw != 0 {
		t.GreenWeight, t.BlueWeight = l.gw, l.bw
		if !l.byTest && l.bw > l.gw {
			// Told by the larger weight, as Finder does.
			t.Green, t.Blue, t.GreenWeight, t.BlueWeight = blueTG, greenTG, l.bw, l.gw
		}
	}
	return t, l.err
}

func healthySources() *fakeSources {
	o := healthy()
	return &fakeSources{alarms: o.Alarms, green: o.Green, blue: *o.Baseline, expr: []float64{0.004}}
}

// deployment plays ECS for one hook in one deployment: it sends the
// configured hookDetails merged with what the last IN_PROGRESS answer
// returned, merging the way merge says.
type deployment struct {
	t       *testing.T
	h       hook.Handler
	details json.RawMessage
	merge   func(dst, src any) any
	stage   hook.Stage
}

func (d *deployment) call() hook.Response {
	d.t.Helper()
	req := hook.Request{
		ExecutionID:    "e",
		LifecycleStage: cmpStage(d.stage),
		ResourceARN:    deploymentARN,
		ExecutionDetails: hook.ExecutionDetails{
			ServiceARN:               "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders",
			TargetServiceRevisionARN: greenRevision,
		},
		HookDetails: d.details,
	}
	res, err := d.h(context.Background(), req)
	if err != nil {
		// A refused run: hook.Wrap answers FAILED with the error, unless it
		// is transient, which the bake must judge itself.
		if hook.IsTransient(err) {
			d.t.Fatalf("handler returned transient error %v; the bake judges transient errors itself", err)
		}
		res = hook.Response{HookStatus: hook.StatusFailed, Reason: err.Error()}
	}
	if res.HookStatus == hook.StatusInProgress {
		var dst, src any
		if err := json.Unmarshal(d.details, &dst); err != nil {
			d.t.Fatal(err)
		}
		if err := json.Unmarshal(res.HookDetails, &src); err != nil {
			d.t.Fatalf("IN_PROGRESS hookDetails %s: %v", res.HookDetails, err)
		}
		merged, err := json.Marshal(d.merge(dst, src))
		if err != nil {
			d.t.Fatal(err)
		}
		d.details = merged
	}
	return res
}

func cmpStage(s hook.Stage) hook.Stage {
	if s == "" {
		return hook.StagePostProductionTrafficShift
	}
	return s
}

// The merges ECS might do; it documents only that it merges.
var merges = map[string]func(dst, src any) any{
	// shallow: top-level keys of the answer replace those of the details.
	"shallow": func(dst, src any) any {
		out := map[string]any{}
		for k, v := range dst.(map[string]any) {
			out[k] = v
		}
		for k, v := range src.(map[string]any) {
			out[k] = v
		}
		return out
	},
	// deep: objects merged key by key, arrays index by index, null kept.
	"deep": deepMerge,
	// RFC 7386 JSON merge patch: objects merged, null deletes, arrays replaced.
	"merge-patch": mergePatch,
}

func deepMerge(dst, src any) any {
	switch s := src.(type) {
	case map[string]any:
		d, ok := dst.(map[string]any)
		if !ok {
			return s
		}
		out := map[string]any{}
		for k, v := range d {
			out[k] = v
		}
		for k, v := range s {
			out[k] = deepMerge(d[k], v)
		}
		return out
	case []any:
		d, ok := dst.([]any)
		if !ok {
			return s
		}
		out := make([]any, max(len(d), len(s)))
		copy(out, d)
		for i, v := range s {
			var old any
			if i < len(d) {
				old = d[i]
			}
			out[i] = deepMerge(old, v)
		}
		return out
	}
	return src
}

func mergePatch(dst, src any) any {
	s, ok := src.(map[string]any)
	if !ok {
		return src
	}
	d, ok := dst.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	out := map[string]any{}
	for k, v := range d {
		out[k] = v
	}
	for k, v := range s {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = mergePatch(d[k], v)
	}
	return out
}

func newChecker(src *fakeSources, loc *fakeLocator, reports Reports, now *time.Time) *Checker {
	c := &Checker{Alarms: src, Targets: src, Expressions: src, Reports: reports,
		Now: func() time.Time { return *now }, Log: slog.New(slog.DiscardHandler)}
	if loc != nil {
		c.Locator = loc
	}
	return c
}

// TestBakeRunsItsWindow drives a whole bake, call by call, under each way
// ECS might merge the returned hookDetails: a transient error in the middle
// is recorded and then cleared, the target groups are located once, blue's
// baseline is kept once settled, the callback never overshoots the window,
// and the verdict is stored once.
func TestBakeRunsItsWindow(t *testing.T) {
	for name, merge := range merges {
		t.Run(name, func(t *testing.T) {
			now := t0
			src, loc, reports := healthySources(), &fakeLocator{}, store.NewMemory()
			d := &deployment{t: t, h: HookHandler(newChecker(src, loc, reports, &now), DefaultConfig()), details: json.RawMessage(issueConfig), merge: merge}

			steps := []struct {
				at        time.Duration
				fail      error
				want      hook.Status
				wantDelay int
				wantErrAt bool
			}{
				{at: 0, want: hook.StatusInProgress, wantDelay: 60},
				{at: time.Minute, want: hook.StatusInProgress, wantDelay: 60},
				{at: 2 * time.Minute, fail: hook.Transient(errors.New("throttled")), want: hook.StatusInProgress, wantDelay: retryDelay, wantErrAt: true},
				{at: 3 * time.Minute, fail: hook.Transient(errors.New("throttled")), want: hook.StatusInProgress, wantDelay: retryDelay, wantErrAt: true},
				{at: 4 * time.Minute, want: hook.StatusInProgress, wantDelay: 60},
				{at: 9*time.Minute + 40*time.Second, want: hook.StatusInProgress, wantDelay: 20},
				{at: 10 * time.Minute, want: hook.StatusSucceeded},
			}
			var last State
			for i, s := range steps {
				now = t0.Add(s.at)
				src.statsErr = s.fail
				res := d.call()
				if res.HookStatus != s.want || res.CallBackDelay != s.wantDelay {
					t.Fatalf("call %d at +%s = %s (delay %d) %q, want %s (delay %d)", i, s.at, res.HookStatus, res.CallBackDelay, res.Reason, s.want, s.wantDelay)
				}
				if res.HookStatus != hook.StatusInProgress {
					break
				}
				st, ok, err := decodeState(d.details)
				if err != nil || !ok {
					t.Fatalf("call %d: state in %s: ok %v, err %v", i, d.details, ok, err)
				}
				if !st.Start.Equal(t0) {
					t.Errorf("call %d: state start %v, want the first call's time %v", i, st.Start, t0)
				}
				if got := st.FirstErrorAt != nil; got != s.wantErrAt {
					t.Errorf("call %d: firstErrorAt = %v, want set: %v", i, st.FirstErrorAt, s.wantErrAt)
				}
				if s.wantErrAt && !st.FirstErrorAt.Equal(t0.Add(2*time.Minute)) {
					t.Errorf("call %d: firstErrorAt = %v, want the first error's time", i, st.FirstErrorAt)
				}
				if len(st.History) != i+1 {
					t.Errorf("call %d: %d history entries, want %d", i, len(st.History), i+1)
				}
				last = st
			}
			if loc.calls != 1 {
				t.Errorf("Locate called %d times, want once: the target groups travel in the state", loc.calls)
			}
			// Blue's baseline: read while unsettled (+0, +1m; the calls at
			// +2m and +3m fail before it), then once more at +4m and kept.
			if n := src.count("blue"); n != 3 {
				t.Errorf("blue baseline read %d times, want 3 (+0, +1m, +4m): %v", n, src.asked)
			}
			if last.Baseline == nil || last.Baseline.Requests != 1500 {
				t.Errorf("state baseline = %+v, want blue's 1500 requests", last.Baseline)
			}
			if !strings.Contains(strings.Join(src.asked, ","), "blue "+blueTG+" 08:50-09:00") {
				t.Errorf("sources asked %v, want blue's target group for the window's length before the start", src.asked)
			}

			obj, err := reports.Get(context.Background(), "reports/123456789012/us-west-2/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28/bake-POST_PRODUCTION_TRAFFIC_SHIFT.json")
			if err != nil {
				t.Fatalf("report: %v", err)
			}
			var rep Report
			if err := json.Unmarshal(obj.Body, &rep); err != nil {
				t.Fatalf("decode report: %v\n%s", err, obj.Body)
			}
			if rep.HookStatus != hook.StatusSucceeded || !rep.WindowStart.Equal(t0) || !rep.WindowEnd.Equal(t0.Add(10*time.Minute)) ||
				rep.Green == nil || rep.Green.Requests != 1200 || rep.BlueBaseline == nil || rep.Traffic == nil || rep.Traffic.Green != greenTG ||
				len(rep.Checks) != 5 || len(rep.History) != 7 || rep.Config == nil || len(rep.Config.Metrics) != 3 ||
				strings.Join(rep.Alarms, ",") != "orders-5xx,orders-p99" {
				t.Errorf("report = %s", obj.Body)
			}
		})
	}
}

func TestBakeFailsOnBreachAndStoresOnce(t *testing.T) {
	now := t0
	src, reports := healthySources(), store.NewMemory()
	d := &deployment{t: t, h: HookHandler(newChecker(src, &fakeLocator{}, reports, &now), DefaultConfig()), details: json.RawMessage(issueConfig), merge: merges["shallow"]}
	if res := d.call(); res.HookStatus != hook.StatusInProgress {
		t.Fatalf("first call = %s %q", res.HookStatus, res.Reason)
	}
	now = now.Add(2 * time.Minute)
	src.green.Errors5xx = 90
	res := d.call()
	if res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "5xx rate: 0.075 > max 0.01") {
		t.Fatalf("breach = %s %q, want FAILED naming the 5xx rate", res.HookStatus, res.Reason)
	}
	// A duplicate call after the verdict (a retry) keeps the first report.
	key := Key(mustARN(t), hook.StagePostProductionTrafficShift)
	first, err := reports.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	src.green.Errors5xx = 0
	now = now.Add(10 * time.Minute)
	if res := d.call(); res.HookStatus != hook.StatusSucceeded {
		t.Fatalf("duplicate call = %s %q", res.HookStatus, res.Reason)
	}
	again, err := reports.Get(context.Background(), key)
	if err != nil || again.ETag != first.ETag {
		t.Errorf("report replaced (%v): a stored verdict must be kept", err)
	}
}

func mustARN(t *testing.T) hook.DeploymentARN {
	t.Helper()
	d, err := hook.ParseDeploymentARN(deploymentARN)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBakeTransientErrorsFailClosed(t *testing.T) {
	now := t0
	src := healthySources()
	src.alarmsErr = hook.Transient(errors.New("connection refused"))
	d := &deployment{t: t, h: HookHandler(newChecker(src, &fakeLocator{}, nil, &now), DefaultConfig()), details: json.RawMessage(issueConfig), merge: merges["deep"]}
	for i := range 6 {
		now = t0.Add(time.Duration(i) * time.Minute)
		res := d.call()
		want := hook.StatusInProgress
		if i == 5 {
			want = hook.StatusFailed
		}
		if res.HookStatus != want {
			t.Fatalf("call at +%dm = %s %q, want %s", i, res.HookStatus, res.Reason, want)
		}
		if i == 5 && !strings.Contains(res.Reason, "checks failing for 5m (since 2026-11-25T09:00:00Z), failing closed: alarms: connection refused") {
			t.Errorf("reason = %q, want it to say how long and why", res.Reason)
		}
	}
}

func TestBakeExtendsOnceForLackOfTraffic(t *testing.T) {
	now := t0
	src := healthySources()
	src.green = Stats{Requests: 30, Latency: &Percentiles{P99: 100}}
	d := &deployment{t: t, h: HookHandler(newChecker(src, &fakeLocator{}, nil, &now), DefaultConfig()), details: json.RawMessage(issueConfig), merge: merges["merge-patch"]}
	for _, s := range []struct {
		at   time.Duration
		want hook.Status
		why  string
	}{
		{0, hook.StatusInProgress, "waiting for traffic: 30 requests on green, want at least 100"},
		{10 * time.Minute, hook.StatusInProgress, "extended once by 10m"},
		{15 * time.Minute, hook.StatusInProgress, "baking 15m of 20m"},
		{20 * time.Minute, hook.StatusFailed, "no evidence after 20m of 20m (extended once): traffic: 30 requests on green, want at least 100 (onNoTraffic: fail)"},
	} {
		now = t0.Add(s.at)
		res := d.call()
		if res.HookStatus != s.want || !strings.Contains(res.Reason, s.why) {
			t.Fatalf("call at +%s = %s %q, want %s with %q", s.at, res.HookStatus, res.Reason, s.want, s.why)
		}
	}
}

func TestBakeRefusals(t *testing.T) {
	tests := []struct {
		name    string
		stage   hook.Stage
		details string
		checker func(*Checker)
		want    string
	}{
		{name: "bad configuration names the field", details: `{"window": "soon", "metrics": [{"kind": "targetGroupLatencyP99", "max": 800}]}`,
			want: `invalid bake configuration: hookDetails.metrics[0].max: not for a latency: use maxMs, in milliseconds; hookDetails.metrics[0]: set a limit: maxMs or maxRelativeToBlue; hookDetails.window: want a duration like "10m"`},
		{name: "no checks", details: `{"window": "5m"}`, want: "no checks configured"},
		{name: "wrong stage", stage: hook.StagePostTestTrafficShift, details: issueConfig,
			want: "register it at POST_PRODUCTION_TRAFFIC_SHIFT (the bake) or, for a linear or canary deployment, at PRE_PRODUCTION_TRAFFIC_SHIFT (the step check), not POST_TEST_TRAFFIC_SHIFT"},
		{name: "corrupt state", details: `{"metrics": [{"kind": "targetGroup5xxRate", "max": 0.01}], "bakeState": {"v": 1, "start": "yesterday"}}`,
			want: "hookDetails.bakeState: corrupt run state"},
		{name: "no alarm source", details: issueConfig, checker: func(c *Checker) { c.Alarms = nil },
			want: "cannot check: alarms: no source of CloudWatch alarms here: not supported"},
		{name: "no metric-math source", details: issueConfig, checker: func(c *Checker) { c.Expressions = nil },
			want: "orders errors: no source of metric math here"},
		{name: "no target statistics", details: `{"metrics": [{"kind": "targetGroup5xxRate", "max": 0.01}]}`, checker: func(c *Checker) { c.Targets = nil },
			want: "cannot check: traffic, targetGroup5xxRate: no source of target-group statistics here (needed by minRequests and target-group kinds)"},
		{name: "target groups not found", details: issueConfig, checker: func(c *Checker) { c.Locator = &fakeLocator{err: errors.New("no blue/green target groups")} },
			want: "cannot check: traffic, 5xx rate, p99 latency: locate target groups: no blue/green target groups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			reports := store.NewMemory()
			c := newChecker(healthySources(), &fakeLocator{}, reports, &now)
			if tt.checker != nil {
				tt.checker(c)
			}
			d := &deployment{t: t, h: HookHandler(c, DefaultConfig()), details: json.RawMessage(tt.details), merge: merges["shallow"], stage: tt.stage}
			res := d.call()
			if res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("answer = %s %q, want FAILED with %q", res.HookStatus, res.Reason, tt.want)
			}
			stage := cmpStage(tt.stage)
			if _, err := reports.Get(context.Background(), Key(mustARN(t), stage)); err != nil {
				t.Errorf("verdict not stored: %v", err)
			}
		})
	}
}

// TestLocalSource: a source that tells green and blue apart by name, with
// no locator and no alarms, as the local mode's listener does.
func TestLocalSource(t *testing.T) {
	now := t0
	src := healthySources()
	c := &Checker{Targets: src, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	cfg := mustConfig(t, `{"window": "2m", "minRequests": 10, "metrics": [{"kind": "targetGroup5xxRate", "max": 0.05}, {"kind": "targetGroupLatencyP99", "maxRelativeToBlue": 2}]}`)
	d := &deployment{t: t, h: HookHandler(c, cfg), details: json.RawMessage(`{}`), merge: merges["shallow"]}
	if res := d.call(); res.HookStatus != hook.StatusInProgress {
		t.Fatalf("first call = %s %q", res.HookStatus, res.Reason)
	}
	now = now.Add(2 * time.Minute)
	if res := d.call(); res.HookStatus != hook.StatusSucceeded {
		t.Fatalf("at the end = %s %q, want SUCCEEDED", res.HookStatus, res.Reason)
	}
	want := []string{"green  09:00-09:00", "blue  08:58-09:00", "green  09:00-09:02", "blue  08:58-09:00"}
	if diff := cmp.Diff(want, src.asked); diff != "" {
		t.Errorf("sources asked (-want +got):\n%s", diff)
	}
}

// TestWrapped runs the handler behind hook.Wrap with a sample payload: the
// answer carries the state and the log line of the outcome.
func TestWrapped(t *testing.T) {
	payload, err := os.ReadFile("../../events/post-production-traffic-shift.json")
	if err != nil {
		t.Fatal(err)
	}
	var req map[string]any
	if err := json.Unmarshal(payload, &req); err != nil {
		t.Fatal(err)
	}
	req["hookDetails"] = issueConfig // as CloudFormation writes it: a JSON string
	payload, _ = json.Marshal(req)
	now := t0
	var logs bytes.Buffer
	h := hook.Wrap(HookHandler(newChecker(healthySources(), &fakeLocator{}, nil, &now), DefaultConfig()),
		hook.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	res, err := h(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if res.HookStatus != hook.StatusInProgress || res.CallBackDelay != 60 || !bytes.Contains(res.HookDetails, []byte(`"bakeState":{"v":2,"start":"2026-11-25T09:00:00Z","deployment":"arn:aws:ecs:`)) {
		t.Errorf("answer = %+v (%s), want IN_PROGRESS after 60s with the state", res, res.HookDetails)
	}
	if !strings.Contains(logs.String(), `"hook_status":"IN_PROGRESS"`) {
		t.Errorf("log = %s, want the outcome", logs.String())
	}
}

func TestStateSurvivesConcatenatedHistory(t *testing.T) {
	st := State{Version: StateVersion, Start: t0}
	for i := range MaxHistory + 3 {
		st.record(Sample{At: t0.Add(time.Duration(i) * time.Minute), Status: StatusOK, Values: []*float64{}})
	}
	if len(st.History) != MaxHistory || !st.History[0].At.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("history after %d records: %d entries from %v, want the last %d", MaxHistory+3, len(st.History), st.History[0].At, MaxHistory)
	}
	details, err := st.details()
	if err != nil {
		t.Fatal(err)
	}
	// A merge that concatenated the history arrays, out of order.
	var doc map[string]map[string]any
	if err := json.Unmarshal(details, &doc); err != nil {
		t.Fatal(err)
	}
	h := doc[StateKey]["history"].([]any)
	doc[StateKey]["history"] = append(append([]any{}, h[4:]...), h...)
	merged, _ := json.Marshal(doc)
	got, ok, err := decodeState(merged)
	if err != nil || !ok {
		t.Fatalf("decodeState = %v, %v", ok, err)
	}
	if diff := cmp.Diff(st.History, got.History); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// TestSampleEvent: the bake sample in events/ carries a valid configuration.
func TestSampleEvent(t *testing.T) {
	data, err := os.ReadFile("../../events/post-production-traffic-shift-bake-hookdetails.json")
	if err != nil {
		t.Fatal(err)
	}
	var req hook.Request
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	got, err := Apply(DefaultConfig(), req.HookDetails)
	if err != nil {
		t.Fatalf("Apply(sample hookDetails) = %v", err)
	}
	if diff := cmp.Diff(mustConfig(t, issueConfig), got); diff != "" {
		t.Errorf("sample configuration (-issue +sample):\n%s", diff)
	}
}

// blockingAlarms never answers: it waits for its context to end.
type blockingAlarms struct{}

func (blockingAlarms) Alarms(ctx context.Context, names, prefixes []string) ([]Alarm, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// deadlines records the deadline and liveness of each call's context.
type deadlines struct {
	*fakeSources
	mu   sync.Mutex
	seen []time.Time
	errs []error
}

func (d *deadlines) record(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dl, _ := ctx.Deadline()
	d.seen = append(d.seen, dl)
	d.errs = append(d.errs, ctx.Err())
}

func (d *deadlines) Alarms(ctx context.Context, names, prefixes []string) ([]Alarm, error) {
	d.record(ctx)
	return d.fakeSources.Alarms(ctx, names, prefixes)
}

func (d *deadlines) TargetStats(ctx context.Context, t Target, start, end time.Time) (Stats, error) {
	d.record(ctx)
	return d.fakeSources.TargetStats(ctx, t, start, end)
}

func (d *deadlines) Expression(ctx context.Context, expr string, metrics map[string]Metric, start, end time.Time) ([]float64, error) {
	d.record(ctx)
	return d.fakeSources.Expression(ctx, expr, metrics, start, end)
}

// TestHungCallDoesNotStarveTheRest: a source call that never answers ends
// at its own timeout, as a transient error naming the check, and the other
// sources are still asked with live contexts.
func TestHungCallDoesNotStarveTheRest(t *testing.T) {
	now := t0
	src := &deadlines{fakeSources: healthySources()}
	c := newChecker(src.fakeSources, &fakeLocator{}, nil, &now)
	c.Alarms, c.Targets, c.Expressions = blockingAlarms{}, src, src
	c.CallTimeout = time.Millisecond
	d := &deployment{t: t, h: HookHandler(c, DefaultConfig()), details: json.RawMessage(issueConfig), merge: merges["shallow"]}
	res := d.call()
	if res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "transient error, will retry") ||
		!strings.Contains(res.Reason, "alarms: no answer within 1ms: context deadline exceeded") {
		t.Fatalf("answer = %s %q, want IN_PROGRESS for the hung alarms call", res.HookStatus, res.Reason)
	}
	if len(src.errs) != 3 { // green, blue, expression
		t.Fatalf("%d other calls, want 3", len(src.errs))
	}
	for i, err := range src.errs {
		if err != nil {
			t.Errorf("call %d got a spent context (%v): the hung call starved it", i, err)
		}
	}
}

// TestCallTimeoutWithinTheInvocation: each call gets its own deadline,
// never past the invocation's.
func TestCallTimeoutWithinTheInvocation(t *testing.T) {
	for _, tt := range []struct {
		name       string
		callTO     time.Duration
		invocation time.Duration
		wantParent bool // the call's deadline is the invocation's
	}{
		{name: "default timeout, long invocation", invocation: time.Hour},
		{name: "long timeout, short invocation", callTO: 2 * time.Hour, invocation: time.Hour, wantParent: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			src := &deadlines{fakeSources: healthySources()}
			c := newChecker(src.fakeSources, &fakeLocator{}, nil, &now)
			c.Alarms, c.Targets, c.Expressions = src, src, src
			c.CallTimeout = tt.callTO
			ctx, cancel := context.WithTimeout(context.Background(), tt.invocation)
			defer cancel()
			parent, _ := ctx.Deadline()
			res, err := c.Check(ctx, hook.Request{LifecycleStage: hook.StagePostProductionTrafficShift, ResourceARN: deploymentARN,
				ExecutionDetails: hook.ExecutionDetails{TargetServiceRevisionARN: greenRevision}, HookDetails: json.RawMessage(issueConfig)}, DefaultConfig())
			if err != nil || res.HookStatus != hook.StatusInProgress {
				t.Fatalf("answer = %s %q, %v", res.HookStatus, res.Reason, err)
			}
			if len(src.seen) != 4 {
				t.Fatalf("%d calls, want 4", len(src.seen))
			}
			for i, dl := range src.seen {
				switch {
				case dl.IsZero() || dl.After(parent):
					t.Errorf("call %d: deadline %v, want one no later than the invocation's %v", i, dl, parent)
				case tt.wantParent && !dl.Equal(parent):
					t.Errorf("call %d: deadline %v, want the invocation's %v", i, dl, parent)
				case !tt.wantParent && !dl.Before(parent):
					t.Errorf("call %d: deadline %v, want its own, before the invocation's %v", i, dl, parent)
				}
			}
		})
	}
}

// TestNonFiniteStats: what JSON cannot carry is missing, not 0; requests
// that are not a number fail the check.
func TestNonFiniteStats(t *testing.T) {
	now := t0
	src := healthySources()
	src.green.Errors5xx = math.NaN()
	d := &deployment{t: t, h: HookHandler(newChecker(src, &fakeLocator{}, nil, &now), DefaultConfig()), details: json.RawMessage(issueConfig), merge: merges["deep"]}
	if res := d.call(); res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "waiting for 5xx rate: no data for green: 5xx count missing") {
		t.Errorf("NaN 5xx count: answer = %s %q, want waiting for data", res.HookStatus, res.Reason)
	}
	src.green.Requests = math.Inf(1)
	now = now.Add(time.Minute)
	if res := d.call(); res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "green: the source gave +Inf requests") {
		t.Errorf("infinite requests: answer = %s %q, want FAILED", res.HookStatus, res.Reason)
	}
}

// TestIncompleteBaselineNotKept: a baseline missing a value is not kept in
// the state: it is read again until whole.
func TestIncompleteBaselineNotKept(t *testing.T) {
	now := t0
	src := healthySources()
	src.blue.Latency = nil
	d := &deployment{t: t, h: HookHandler(newChecker(src, &fakeLocator{}, nil, &now), DefaultConfig()), details: json.RawMessage(issueConfig), merge: merges["deep"]}
	for _, at := range []time.Duration{0, 4 * time.Minute, 5 * time.Minute} {
		now = t0.Add(at)
		if res := d.call(); res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "no blue baseline") {
			t.Fatalf("call at +%s = %s %q, want waiting for the baseline", at, res.HookStatus, res.Reason)
		}
		if st, _, _ := decodeState(d.details); st.Baseline != nil {
			t.Fatalf("call at +%s kept baseline %+v", at, st.Baseline)
		}
	}
	src.blue = *healthy().Baseline
	now = t0.Add(6 * time.Minute)
	if res := d.call(); res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "every check within limits") {
		t.Fatalf("with a whole baseline = %s %q", res.HookStatus, res.Reason)
	}
	if st, _, _ := decodeState(d.details); st.Baseline == nil || st.Baseline.Latency == nil {
		t.Errorf("whole baseline not kept: %+v", st.Baseline)
	}
	if n := src.count("blue"); n != 4 {
		t.Errorf("blue read %d times, want 4", n)
	}
}
