package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
)

// stepClock is a simulated clock whose Sleep returns at once after moving
// time on.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

type fakeEnv struct {
	mu    sync.Mutex
	calls []string
}

func (e *fakeEnv) record(s string) { e.mu.Lock(); defer e.mu.Unlock(); e.calls = append(e.calls, s) }
func (e *fakeEnv) StartGreen(context.Context) error {
	e.record("start green")
	return nil
}
func (e *fakeEnv) RouteTest(s Side)              { e.record("test->" + string(s)) }
func (e *fakeEnv) RouteProduction(s Side)        { e.record("prod->" + string(s)) }
func (e *fakeEnv) WeighProduction(green float64) { e.record(fmt.Sprintf("prod->green %g%%", green)) }
func (e *fakeEnv) StopGreen()                    { e.record("stop green") }
func (e *fakeEnv) StopBlue()                     { e.record("stop blue") }

func newSim(hooks ...Hook) (*Simulator, *fakeEnv, *stepClock) {
	env := &fakeEnv{}
	clock := &stepClock{now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	return &Simulator{
		Service:  Service{Partition: "aws", Region: "us-west-2", Account: "123456789012", Cluster: "prod-cluster", Name: "orders"},
		Hooks:    hooks,
		Env:      env,
		Clock:    clock,
		BakeTime: 5 * time.Minute,
	}, env, clock
}

// answers returns an Invoker that answers from a script and records the
// requests it got.
type scripted struct {
	mu   sync.Mutex
	reqs []hook.Request
	next func(n int, req hook.Request) (hook.Response, error)
}

func (s *scripted) invoke(ctx context.Context, payload json.RawMessage) (hook.Response, error) {
	var req hook.Request
	if err := json.Unmarshal(payload, &req); err != nil {
		return hook.Response{}, err
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	n := len(s.reqs)
	s.mu.Unlock()
	return s.next(n, req)
}

func succeed(int, hook.Request) (hook.Response, error) {
	return hook.Response{HookStatus: hook.StatusSucceeded}, nil
}

func TestHappyPath(t *testing.T) {
	gate := &scripted{next: func(n int, req hook.Request) (hook.Response, error) {
		if n < 3 {
			return hook.Response{HookStatus: hook.StatusInProgress, CallBackDelay: 60, HookDetails: json.RawMessage(fmt.Sprintf(`{"polls":%d}`, n))}, nil
		}
		return hook.Response{HookStatus: hook.StatusSucceeded}, nil
	}}
	every := &scripted{next: succeed}
	sim, env, clock := newSim(
		Hook{Name: "gate", Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Details: json.RawMessage(`{"timeout":"4h"}`), Invoke: gate.invoke},
		Hook{Name: "every", Stages: hook.Stages, Invoke: every.invoke},
	)
	// Merge, so the configured keys stay (replacement: TestBehaviourNext).
	sim.Behaviour = Behaviour{HookDetails: HookDetailsMerge}
	start := clock.Now()
	d := sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusSuccessful {
		t.Fatalf("Run = %s, want SUCCESSFUL (%s)", got, d.Snapshot().Reason)
	}
	want := []string{"start green", "test->green", "prod->green", "stop blue"}
	if diff := cmp.Diff(want, env.calls); diff != "" {
		t.Errorf("environment calls (-want +got):\n%s", diff)
	}
	if len(gate.reqs) != 3 {
		t.Fatalf("gate called %d times, want 3", len(gate.reqs))
	}
	// Returned hookDetails are merged into the next call's.
	if got := string(gate.reqs[2].HookDetails); got != `{"polls":2,"timeout":"4h"}` {
		t.Errorf("third call's hookDetails = %s, want the configured ones merged with the last returned", got)
	}
	// Two callbacks of 60 s and a 5 min bake passed on the simulated clock.
	if got := clock.Now().Sub(start); got != 2*time.Minute+5*time.Minute {
		t.Errorf("simulated time passed = %s, want 7m", got)
	}
	var stages []hook.Stage
	for _, r := range every.reqs {
		stages = append(stages, r.LifecycleStage)
	}
	// RECONCILE_SERVICE only runs with more than one active revision.
	if diff := cmp.Diff(hook.Stages[1:], stages); diff != "" {
		t.Errorf("stages invoked (-want +got):\n%s", diff)
	}
	for _, r := range every.reqs {
		if r.ResourceARN != d.ARN || r.IsRollback() {
			t.Errorf("%s: resourceArn %s rollback %v", r.LifecycleStage, r.ResourceARN, r.IsRollback())
		}
	}
}

func TestFailureRollsBack(t *testing.T) {
	shift := &scripted{next: succeed}
	gate := &scripted{next: func(int, hook.Request) (hook.Response, error) {
		return hook.Response{HookStatus: hook.StatusFailed, Reason: "rejected by bob"}, nil
	}}
	sim, env, _ := newSim(
		Hook{Name: "shift", Stages: []hook.Stage{hook.StageTestTrafficShift, hook.StageProductionTrafficShift}, Invoke: shift.invoke},
		Hook{Name: "gate", Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Invoke: gate.invoke},
	)
	d := sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusRollbackSuccessful {
		t.Fatalf("Run = %s, want ROLLBACK_SUCCESSFUL", got)
	}
	if s := d.Snapshot(); !strings.Contains(s.Reason, "rejected by bob") {
		t.Errorf("reason = %q, want the hook's", s.Reason)
	}
	want := []string{"start green", "test->green", "prod->blue", "test->blue", "stop green"}
	if diff := cmp.Diff(want, env.calls); diff != "" {
		t.Errorf("environment calls (-want +got):\n%s", diff)
	}
	// The traffic-shift hook ran forward once, then for the rollback at
	// both shift stages with reversed weights.
	var got []string
	for _, r := range shift.reqs {
		got = append(got, fmt.Sprintf("%s rollback=%v", r.LifecycleStage, r.IsRollback()))
	}
	wantCalls := []string{"TEST_TRAFFIC_SHIFT rollback=false", "PRODUCTION_TRAFFIC_SHIFT rollback=true", "TEST_TRAFFIC_SHIFT rollback=true"}
	if diff := cmp.Diff(wantCalls, got); diff != "" {
		t.Errorf("traffic-shift hook calls (-want +got):\n%s", diff)
	}
}

func TestParallelHooksFirstFailureCancels(t *testing.T) {
	slow := &scripted{next: func(int, hook.Request) (hook.Response, error) {
		return hook.Response{HookStatus: hook.StatusInProgress, CallBackDelay: 30}, nil
	}}
	fail := &scripted{next: func(int, hook.Request) (hook.Response, error) {
		return hook.Response{HookStatus: hook.StatusFailed, Reason: "smoke: health failed"}, nil
	}}
	sim, _, _ := newSim(
		Hook{Name: "approval", Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Invoke: slow.invoke},
		Hook{Name: "smoke", Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Invoke: fail.invoke},
	)
	d := sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusRollbackSuccessful {
		t.Fatalf("Run = %s, want ROLLBACK_SUCCESSFUL", got)
	}
	if n := len(slow.reqs); n > 1000 {
		t.Errorf("the slow hook was called %d times after the other failed", n)
	}
}

func TestTimeouts(t *testing.T) {
	for _, tt := range []struct {
		action string
		want   Status
	}{{TimeoutRollback, StatusRollbackSuccessful}, {"", StatusRollbackSuccessful}, {TimeoutContinue, StatusSuccessful}} {
		never := &scripted{next: func(int, hook.Request) (hook.Response, error) {
			return hook.Response{HookStatus: hook.StatusInProgress, CallBackDelay: 60}, nil
		}}
		sim, _, _ := newSim(Hook{Name: "never", Stages: []hook.Stage{hook.StagePostScaleUp}, Timeout: 10 * time.Minute, OnTimeout: tt.action, Invoke: never.invoke})
		d := sim.NewDeployment("")
		if got := sim.Run(context.Background(), d); got != tt.want {
			t.Errorf("timeout action %q: Run = %s, want %s", tt.action, got, tt.want)
		}
		if n := len(never.reqs); n != 10 {
			t.Errorf("timeout action %q: %d calls in 10 minutes at 60 s, want 10", tt.action, n)
		}
	}
}

func TestInvokeErrorRollsBack(t *testing.T) {
	broken := &scripted{next: func(int, hook.Request) (hook.Response, error) { return hook.Response{}, errors.New("runtime exited") }}
	invalid := &scripted{next: func(int, hook.Request) (hook.Response, error) { return hook.Response{HookStatus: "DONE"}, nil }}
	for name, s := range map[string]*scripted{"error": broken, "invalid status": invalid} {
		sim, _, _ := newSim(Hook{Name: name, Stages: []hook.Stage{hook.StagePreScaleUp}, Invoke: s.invoke})
		if got := sim.Run(context.Background(), sim.NewDeployment("")); got != StatusRollbackSuccessful {
			t.Errorf("%s: Run = %s, want ROLLBACK_SUCCESSFUL", name, got)
		}
	}
}

// TestPayloadsMatchEvents compares the simulator's payloads with the samples
// in events/, so that the two cannot drift: the same keys, and the same
// weights for the target and source revisions.
func TestPayloadsMatchEvents(t *testing.T) {
	sim, _, _ := newSim()
	d := sim.NewDeployment("")
	cases := map[string]struct {
		stage    hook.Stage
		rollback bool
	}{}
	for _, s := range hook.Stages {
		cases[strings.ReplaceAll(strings.ToLower(string(s)), "_", "-")+".json"] = struct {
			stage    hook.Stage
			rollback bool
		}{s, false}
	}
	cases["rollback-test-traffic-shift.json"] = struct {
		stage    hook.Stage
		rollback bool
	}{hook.StageTestTrafficShift, true}
	cases["rollback-production-traffic-shift.json"] = struct {
		stage    hook.Stage
		rollback bool
	}{hook.StageProductionTrafficShift, true}
	for file, c := range cases {
		sample, err := os.ReadFile(filepath.Join("..", "..", "events", file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := sim.Payload(d, c.stage, "exec", nil, c.rollback)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(shape(t, sample), shape(t, got)); diff != "" {
			t.Errorf("%s: payload shape differs from the sample (-sample +simulator):\n%s", file, diff)
		}
	}
}

// shape reduces a payload to its structure: key paths, and each weight map
// as the weights of the target and of the other revision.
func shape(t *testing.T, payload []byte) []string {
	t.Helper()
	var req hook.Request
	if err := json.Unmarshal(payload, &req); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok || strings.HasSuffix(prefix, "Weights") {
			out = append(out, prefix)
			return
		}
		for k, v := range m {
			walk(prefix+"."+k, v)
		}
	}
	walk("", raw)
	weights := func(w map[string]float64) string {
		target := w[req.ExecutionDetails.TargetServiceRevisionARN]
		var others []float64
		for arn, x := range w {
			if arn != req.ExecutionDetails.TargetServiceRevisionARN {
				others = append(others, x)
			}
		}
		return fmt.Sprintf("target=%v others=%v n=%d", target, others, len(w))
	}
	out = append(out, "test "+weights(req.ExecutionDetails.TestTrafficWeights), "prod "+weights(req.ExecutionDetails.ProductionTrafficWeights),
		"stage "+string(req.LifecycleStage))
	slices.Sort(out)
	return out
}

func TestMerge(t *testing.T) {
	got, err := merge(json.RawMessage(`{"a":1,"s":{"x":1}}`), json.RawMessage(`{"s":{"y":2},"b":true}`))
	if err != nil || string(got) != `{"a":1,"b":true,"s":{"y":2}}` {
		t.Errorf("merge = %s, %v", got, err)
	}
	if got, _ := merge(nil, json.RawMessage(`{"b":1}`)); string(got) != `{"b":1}` {
		t.Errorf("merge(nil) = %s", got)
	}
	if _, err := merge(nil, json.RawMessage(`[1]`)); err == nil {
		t.Error("merge of a list = nil error, want one")
	}
}

func TestFastClock(t *testing.T) {
	c := NewFastClock(1000)
	start := c.Now()
	if err := c.Sleep(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := c.Now().Sub(start); got < 10*time.Second {
		t.Errorf("after sleeping 10 s of simulated time, %s passed", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err == nil {
		t.Error("Sleep with a cancelled context = nil, want an error")
	}
}

func TestResume(t *testing.T) {
	calls := 0
	gate := &scripted{next: func(n int, req hook.Request) (hook.Response, error) {
		calls++
		return hook.Response{HookStatus: hook.StatusSucceeded}, nil
	}}
	early := &scripted{next: succeed}
	sim, env, _ := newSim(
		Hook{Name: "early", Stages: []hook.Stage{hook.StagePreScaleUp}, Invoke: early.invoke},
		Hook{Name: "gate", Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Invoke: gate.invoke},
	)
	d := sim.NewDeployment("")
	snap := d.Snapshot()
	snap.Status, snap.Stage = StatusInProgress, hook.StagePostTestTrafficShift
	restored := sim.Restore(snap)
	if got := sim.Run(context.Background(), restored); got != StatusSuccessful {
		t.Fatalf("Run(restored) = %s", got)
	}
	if len(early.reqs) != 0 || calls != 1 {
		t.Errorf("resumed run called the earlier hook %d times and the gate %d times, want 0 and 1", len(early.reqs), calls)
	}
	if want := []string{"start green", "test->green", "prod->green", "stop blue"}; !slices.Equal(env.calls, want) {
		t.Errorf("environment calls = %v, want %v", env.calls, want)
	}
}

// TestLinearAndCanarySteps: the per-step stages run once per step with that
// step's production weights, the step bake passes between steps (not after
// the last), POST_PRODUCTION_TRAFFIC_SHIFT runs once after the last, and a
// failure mid-way sends all production traffic back to blue.
func TestLinearAndCanarySteps(t *testing.T) {
	tests := []struct {
		name     string
		strategy rollout.Strategy
		weights  []float64
		env      []string
		baked    time.Duration // step bakes plus the 5m bake time
	}{
		{"linear", rollout.Strategy{Kind: rollout.Linear, StepPercent: 25, StepBake: time.Minute},
			[]float64{25, 50, 75, 100},
			[]string{"start green", "test->green", "prod->green 25%", "prod->green 50%", "prod->green 75%", "prod->green", "stop blue"},
			3*time.Minute + 5*time.Minute},
		{"canary", rollout.Strategy{Kind: rollout.Canary, CanaryPercent: 10, CanaryBake: 2 * time.Minute},
			[]float64{10, 100},
			[]string{"start green", "test->green", "prod->green 10%", "prod->green", "stop blue"},
			2*time.Minute + 5*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre, prod, post := &scripted{next: succeed}, &scripted{next: succeed}, &scripted{next: succeed}
			sim, env, clock := newSim(
				Hook{Name: "pre", Stages: []hook.Stage{hook.StagePreProductionTrafficShift}, Invoke: pre.invoke},
				Hook{Name: "prod", Stages: []hook.Stage{hook.StageProductionTrafficShift}, Invoke: prod.invoke},
				Hook{Name: "post", Stages: []hook.Stage{hook.StagePostProductionTrafficShift}, Invoke: post.invoke},
			)
			sim.Strategy = tt.strategy
			start := clock.Now()
			d := sim.NewDeployment("")
			if got := sim.Run(context.Background(), d); got != StatusSuccessful {
				t.Fatalf("Run = %s (%s)", got, d.Snapshot().Reason)
			}
			if len(pre.reqs) != len(tt.weights) || len(prod.reqs) != len(tt.weights) || len(post.reqs) != 1 {
				t.Errorf("calls: pre %d, prod %d, post %d; want %d, %d, 1", len(pre.reqs), len(prod.reqs), len(post.reqs), len(tt.weights), len(tt.weights))
			}
			for i, r := range prod.reqs {
				w := r.ExecutionDetails.ProductionTrafficWeights
				if w[d.TargetRevision] != tt.weights[i] || w[d.SourceRevision] != 100-tt.weights[i] {
					t.Errorf("step %d weights %v, want green %g", i+1, w, tt.weights[i])
				}
			}
			if diff := cmp.Diff(tt.env, env.calls); diff != "" {
				t.Errorf("environment calls (-want +got):\n%s", diff)
			}
			if got := clock.Now().Sub(start); got != tt.baked {
				t.Errorf("simulated time = %v, want %v", got, tt.baked)
			}
		})
	}

	// A failure at the second step: production goes back to blue at once.
	prod := &scripted{next: func(n int, req hook.Request) (hook.Response, error) {
		if n == 2 {
			return hook.Response{HookStatus: hook.StatusFailed, Reason: "step 2 is bad"}, nil
		}
		return hook.Response{HookStatus: hook.StatusSucceeded}, nil
	}}
	sim, env, _ := newSim(Hook{Name: "prod", Stages: []hook.Stage{hook.StageProductionTrafficShift}, Invoke: prod.invoke})
	sim.Strategy = rollout.Strategy{Kind: rollout.Linear, StepPercent: 25, StepBake: time.Minute}
	d := sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusRollbackSuccessful {
		t.Fatalf("Run = %s, want ROLLBACK_SUCCESSFUL", got)
	}
	want := []string{"start green", "test->green", "prod->green 25%", "prod->green 50%", "prod->blue", "test->blue", "stop green"}
	if diff := cmp.Diff(want, env.calls); diff != "" {
		t.Errorf("environment calls (-want +got):\n%s", diff)
	}
}

// TestOperatorRollback: a rollback an operator requests while the bake hook
// still runs (StopServiceDeployment, stopType ROLLBACK) stops the stage,
// sends production back to blue at once, re-runs the traffic-shift hooks
// as a rollback, and ends ROLLBACK_SUCCESSFUL; a finished deployment cannot
// be rolled back.
func TestOperatorRollback(t *testing.T) {
	var sim *Simulator
	var d *Deployment
	bake := &scripted{next: func(n int, req hook.Request) (hook.Response, error) {
		if n == 2 {
			if err := sim.RequestRollback(d, "rolled back by ops@example.com"); err != nil {
				t.Errorf("RequestRollback = %v", err)
			}
		}
		return hook.Response{HookStatus: hook.StatusInProgress, CallBackDelay: 60}, nil
	}}
	prod := &scripted{next: succeed}
	sim, env, _ := newSim(
		Hook{Name: "prod", Stages: []hook.Stage{hook.StageProductionTrafficShift}, Invoke: prod.invoke},
		Hook{Name: "bake", Stages: []hook.Stage{hook.StagePostProductionTrafficShift}, Invoke: bake.invoke},
	)
	d = sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusRollbackSuccessful {
		t.Fatalf("Run = %s, want ROLLBACK_SUCCESSFUL", got)
	}
	snap := d.Snapshot()
	if snap.Reason != "rolled back by ops@example.com" || snap.RollbackRequestedAt.IsZero() || snap.BlueAgainAt.Before(snap.RollbackRequestedAt) {
		t.Errorf("snapshot %+v", snap)
	}
	want := []string{"start green", "test->green", "prod->green", "prod->blue", "test->blue", "stop green"}
	if diff := cmp.Diff(want, env.calls); diff != "" {
		t.Errorf("environment calls (-want +got):\n%s", diff)
	}
	if len(prod.reqs) != 2 || !prod.reqs[1].IsRollback() {
		t.Errorf("the PRODUCTION_TRAFFIC_SHIFT hook was called %d times, want twice, the second as a rollback", len(prod.reqs))
	}
	if len(bake.reqs) > 3 {
		t.Errorf("the bake hook was called %d times after the request", len(bake.reqs))
	}
	if err := sim.RequestRollback(d, "again"); !errors.Is(err, ErrNotInProgress) {
		t.Errorf("RequestRollback of a finished deployment = %v", err)
	}
}

// TestDeploymentAlarmDuringBakeTime: a deployment alarm that goes into
// ALARM during BAKE_TIME rolls back while blue still runs.
func TestDeploymentAlarmDuringBakeTime(t *testing.T) {
	sim, env, clock := newSim()
	start := clock.Now()
	sim.DeploymentAlarms = func(now time.Time) (string, bool) {
		return "demo-5xx", now.Sub(start) >= 2*time.Minute
	}
	d := sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusRollbackSuccessful {
		t.Fatalf("Run = %s, want ROLLBACK_SUCCESSFUL", got)
	}
	if r := d.Snapshot().Reason; r != "deployment alarm demo-5xx is in ALARM during BAKE_TIME" {
		t.Errorf("reason %q", r)
	}
	if got := clock.Now().Sub(start); got != 2*time.Minute {
		t.Errorf("rolled back after %v of bake, want 2m", got)
	}
	want := []string{"start green", "test->green", "prod->green", "prod->blue", "test->blue", "stop green"}
	if diff := cmp.Diff(want, env.calls); diff != "" {
		t.Errorf("environment calls (-want +got):\n%s", diff)
	}
}

// TestReconcileService: with more than one active revision at the start,
// the RECONCILE_SERVICE hooks run first, and their failure rolls back.
func TestReconcileService(t *testing.T) {
	for _, tt := range []struct {
		active int
		fail   bool
		calls  int
		want   Status
	}{{1, false, 0, StatusSuccessful}, {2, false, 1, StatusSuccessful}, {3, true, 1, StatusRollbackSuccessful}} {
		rec := &scripted{next: func(int, hook.Request) (hook.Response, error) {
			if tt.fail {
				return hook.Response{HookStatus: hook.StatusFailed, Reason: "two revisions disagree"}, nil
			}
			return hook.Response{HookStatus: hook.StatusSucceeded}, nil
		}}
		sim, _, _ := newSim(Hook{Name: "reconcile", Stages: []hook.Stage{hook.StageReconcileService}, Invoke: rec.invoke})
		sim.ActiveRevisions = func() int { return tt.active }
		d := sim.NewDeployment("")
		if got := sim.Run(context.Background(), d); got != tt.want || len(rec.reqs) != tt.calls {
			t.Errorf("%d active: Run = %s with %d RECONCILE_SERVICE calls, want %s and %d", tt.active, got, len(rec.reqs), tt.want, tt.calls)
		}
		if tt.calls > 0 && rec.reqs[0].LifecycleStage != hook.StageReconcileService {
			t.Errorf("stage %s", rec.reqs[0].LifecycleStage)
		}
	}
}

// TestFunctionTimeoutRollsBack: an invocation that outlasts the function's
// own timeout is a function error to ECS, which rolls back, even though the
// function would have answered SUCCEEDED.
func TestFunctionTimeoutRollsBack(t *testing.T) {
	var clock *stepClock
	slow := &scripted{next: func(int, hook.Request) (hook.Response, error) {
		_ = clock.Sleep(context.Background(), 2*time.Minute)
		return hook.Response{HookStatus: hook.StatusSucceeded}, nil
	}}
	sim, _, c := newSim(Hook{Name: "slow", Stages: []hook.Stage{hook.StagePreScaleUp}, Invoke: slow.invoke, FunctionTimeout: time.Minute})
	clock = c
	d := sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusRollbackSuccessful || !strings.Contains(d.Snapshot().Reason, "the function timed out after 2m (its timeout is 1m)") {
		t.Errorf("Run = %s (%s), want ROLLBACK_SUCCESSFUL for the timeout", got, d.Snapshot().Reason)
	}
}
