package bake

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

const blueRevision = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/1111111111111111111"

// fakeRollouts answers as ECS's DescribeServiceDeployments would.
type fakeRollouts struct {
	r     Rollout
	err   error
	calls int
}

func (f *fakeRollouts) Rollout(ctx context.Context, arn string) (Rollout, error) {
	f.calls++
	if arn != deploymentARN {
		return Rollout{}, errors.New("asked about deployment " + arn)
	}
	return f.r, f.err
}

func share(v float64) *float64 { return &v }

// canary is a canary deployment with a 10-minute canary bake, ECS saying
// green has green percent.
func canary(green *float64) *fakeRollouts {
	return &fakeRollouts{r: Rollout{Stepped: true, Strategy: "CANARY", StepBake: 10 * time.Minute, GreenShare: green}}
}

// stepRun plays ECS calling the step check of one step: the configured
// hookDetails merged (shallow, as documented) with what the last
// IN_PROGRESS answer returned.
type stepRun struct {
	t       *testing.T
	c       *Checker
	details string
	weights map[string]float64
}

func newStepRun(t *testing.T, c *Checker, details string, weights map[string]float64) *stepRun {
	return &stepRun{t: t, c: c, details: details, weights: weights}
}

func (r *stepRun) call() (hook.Response, error) {
	r.t.Helper()
	res, err := HookHandler(r.c, DefaultConfig())(context.Background(), hook.Request{
		ExecutionID:    "e",
		LifecycleStage: hook.StagePreProductionTrafficShift,
		ResourceARN:    deploymentARN,
		ExecutionDetails: hook.ExecutionDetails{
			ServiceARN:               "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders",
			TargetServiceRevisionARN: greenRevision,
			ProductionTrafficWeights: r.weights,
		},
		HookDetails: json.RawMessage(r.details),
	})
	if err == nil && res.HookStatus == hook.StatusInProgress {
		var dst, src any
		if err := json.Unmarshal([]byte(r.details), &dst); err != nil {
			r.t.Fatal(err)
		}
		if err := json.Unmarshal(res.HookDetails, &src); err != nil {
			r.t.Fatal(err)
		}
		merged, err := json.Marshal(merges["shallow"](dst, src))
		if err != nil {
			r.t.Fatal(err)
		}
		r.details = string(merged)
	}
	return res, err
}

// stepCall is one call, the first of its run.
func stepCall(t *testing.T, c *Checker, details string, weights map[string]float64) (hook.Response, error) {
	t.Helper()
	return newStepRun(t, c, details, weights).call()
}

func stepReport(t *testing.T, reports Reports, green float64) Report {
	t.Helper()
	obj, err := reports.Get(context.Background(), StepKey(mustARN(t), green))
	if err != nil {
		t.Fatalf("no report for the step with %g%% on green: %v", green, err)
	}
	var rep Report
	if err := json.Unmarshal(obj.Body, &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, obj.Body)
	}
	return rep
}

// TestStepCheckJudgesTheStepJustBaked: before the first step it passes
// without asking a source; at the next it judges green's share over the
// step bake just ended, blue beside it over the same window, holds the
// step StepSettle for CloudWatch's last minutes, and stores a report per
// step; a breach fails at once.
func TestStepCheckJudgesTheStepJustBaked(t *testing.T) {
	now := t0
	src, reports, loc := healthySources(), store.NewMemory(), &fakeLocator{gw: 0, bw: 100, byTest: true}
	c := newChecker(src, loc, reports, &now)
	ro := canary(share(0))
	c.Rollouts = ro

	res, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 0, blueRevision: 100})
	if err != nil || res.HookStatus != hook.StatusSucceeded || !strings.Contains(res.Reason, "no production traffic on green yet") {
		t.Fatalf("before the first step = %s %q %v, want SUCCEEDED without a verdict", res.HookStatus, res.Reason, err)
	}
	if len(src.asked) != 0 {
		t.Errorf("sources asked %v before the first step, want nothing", src.asked)
	}
	if rep := stepReport(t, reports, 0); rep.HookStatus != hook.StatusSucceeded || rep.GreenShare == nil || *rep.GreenShare != 0 {
		t.Errorf("first step's report = %+v", rep)
	}

	ro.r.GreenShare, loc.gw, loc.bw = share(10), 10, 90
	now = t0.Add(12 * time.Minute)
	run := newStepRun(t, c, issueConfig, map[string]float64{greenRevision: 10, blueRevision: 90})
	res, err = run.call()
	if err != nil || res.HookStatus != hook.StatusInProgress {
		t.Fatalf("healthy step, first call = %s %q %v, want IN_PROGRESS until CloudWatch has the step's last minutes", res.HookStatus, res.Reason, err)
	}
	asked := strings.Join(src.asked, ",")
	for _, want := range []string{"green " + greenTG + " 09:02-09:12", "blue " + blueTG + " 09:02-09:12"} {
		if !strings.Contains(asked, want) {
			t.Errorf("sources asked %s, want %q: both sides over the step bake just ended", asked, want)
		}
	}
	now = t0.Add(14 * time.Minute)
	res, err = run.call()
	if err != nil || res.HookStatus != hook.StatusSucceeded || !strings.Contains(res.Reason, "step with 10% of production on green: bake passed") {
		t.Fatalf("healthy step, settled = %s %q %v, want SUCCEEDED", res.HookStatus, res.Reason, err)
	}
	rep := stepReport(t, reports, 10)
	if rep.HookStatus != hook.StatusSucceeded || *rep.GreenShare != 10 || !rep.WindowStart.Equal(t0.Add(2*time.Minute)) ||
		rep.Config == nil || rep.Config.Window != 12*time.Minute || rep.BlueBaseline == nil || rep.Green == nil || rep.Traffic == nil || rep.Traffic.Green != greenTG {
		t.Errorf("step report = %+v", rep)
	}

	// A linear deployment's next step, green now failing: at once.
	ro.r.GreenShare, loc.gw, loc.bw = share(25), 25, 75
	src.green.Errors5xx = 300
	res, err = stepCall(t, c, issueConfig, map[string]float64{greenRevision: 25, blueRevision: 75})
	if err != nil || res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "step with 25% of production on green") || !strings.Contains(res.Reason, "5xx rate") {
		t.Fatalf("failing step = %s %q %v, want FAILED naming the step and the check", res.HookStatus, res.Reason, err)
	}
	if rep := stepReport(t, reports, 25); rep.HookStatus != hook.StatusFailed {
		t.Errorf("failing step's report = %+v", rep)
	}
}

// TestStepCheckGreenByTheListener: in AWS the production listener's own
// weight of green's target group is green's share. The test listener
// tells green; without one, the larger weight is taken for green, and
// turned round when the event and ECS say green has the smaller share (a
// canary's first step), so blue is never judged as green. Without a test
// listener and without a hint, green cannot be told.
func TestStepCheckGreenByTheListener(t *testing.T) {
	for _, tt := range []struct {
		name    string
		loc     *fakeLocator
		ro      *fakeRollouts
		weights map[string]float64
		status  hook.Status
		want    string
	}{
		{"the test listener on green, the event says the step to come", &fakeLocator{gw: 0, bw: 100, byTest: true}, canary(nil),
			map[string]float64{greenRevision: 10}, hook.StatusSucceeded, "nothing to judge"},
		{"the test listener on green at 10%", &fakeLocator{gw: 10, bw: 90, byTest: true}, canary(nil), nil, hook.StatusInProgress, "green " + greenTG},
		{"no test listener: the smaller weight is green's", &fakeLocator{gw: 10, bw: 90}, canary(share(10)), nil, hook.StatusInProgress, "green " + greenTG},
		{"no test listener, no hint", &fakeLocator{gw: 10, bw: 90}, canary(nil), nil, hook.StatusFailed, "cannot tell green's target group"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(12 * time.Minute)
			src := healthySources()
			c := newChecker(src, tt.loc, store.NewMemory(), &now)
			c.Rollouts = tt.ro
			res, err := stepCall(t, c, issueConfig, tt.weights)
			if err != nil {
				res = hook.Response{HookStatus: hook.StatusFailed, Reason: err.Error()}
			}
			got := res.Reason + " " + strings.Join(src.asked, ",")
			if res.HookStatus != tt.status || !strings.Contains(got, tt.want) {
				t.Errorf("answer = %s %q, want %s with %q", res.HookStatus, got, tt.status, tt.want)
			}
		})
	}
}

// TestStepCheckReadings: without a listener to read (local mode), ECS's
// documents leave open whether the weights at PRE_PRODUCTION_TRAFFIC_SHIFT
// are production as it stands or the step about to be made: the lower of
// the event's and ECS's record counts, so a share green never had is not
// judged; nothing to tell by fails; a rolling-back deployment is never
// held; a share on green without a linear or canary configuration cannot
// be judged.
func TestStepCheckReadings(t *testing.T) {
	for _, tt := range []struct {
		name    string
		ro      *fakeRollouts
		weights map[string]float64
		status  hook.Status
		reason  string
	}{
		{"weights of the step to come", canary(share(0)), map[string]float64{greenRevision: 10, blueRevision: 90}, hook.StatusSucceeded, "nothing to judge"},
		{"weights as they stand", canary(nil), map[string]float64{greenRevision: 0, blueRevision: 100}, hook.StatusSucceeded, "nothing to judge"},
		{"ECS alone", canary(share(0)), nil, hook.StatusSucceeded, "nothing to judge"},
		{"nothing to tell by", canary(nil), map[string]float64{}, hook.StatusFailed, "cannot tell green's share of production"},
		{"blue/green", &fakeRollouts{r: Rollout{Strategy: "BLUE_GREEN"}}, map[string]float64{greenRevision: 0}, hook.StatusSucceeded, "nothing to judge"},
		{"no strategy, yet green has a share", &fakeRollouts{r: Rollout{}}, map[string]float64{greenRevision: 10}, hook.StatusFailed, "cannot tell the step's bake"},
		{"rolling back", &fakeRollouts{r: Rollout{Over: true, Status: "ROLLBACK_IN_PROGRESS", Stepped: true}}, map[string]float64{greenRevision: 10}, hook.StatusSucceeded, "ROLLBACK_IN_PROGRESS"},
		{"no source", nil, map[string]float64{greenRevision: 10}, hook.StatusFailed, "no source of the deployment's strategy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			src := healthySources()
			c := newChecker(src, nil, store.NewMemory(), &now)
			if tt.ro != nil {
				c.Rollouts = tt.ro
			}
			res, err := stepCall(t, c, issueConfig, tt.weights)
			if err != nil {
				res = hook.Response{HookStatus: hook.StatusFailed, Reason: err.Error()}
			}
			if res.HookStatus != tt.status || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("answer = %s %q, want %s with %q", res.HookStatus, res.Reason, tt.status, tt.reason)
			}
			if len(src.asked) != 0 {
				t.Errorf("sources asked %v, want nothing: there is no step to judge", src.asked)
			}
		})
	}
}

// TestStepCheckTransientECS: ECS or ELB failing transiently is retried
// (IN_PROGRESS by hook.Wrap) within hook.Wrap's bound on uncertainty,
// never a verdict.
func TestStepCheckTransientECS(t *testing.T) {
	now := t0
	c := newChecker(healthySources(), &fakeLocator{gw: 10, bw: 90, byTest: true}, store.NewMemory(), &now)
	ro := canary(share(10))
	ro.err = hook.Transient(errors.New("ThrottlingException"))
	c.Rollouts = ro
	if _, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 10}); !hook.IsUncertain(err) {
		t.Errorf("ECS throttled: err = %v, want an uncertain error for hook.Wrap to retry within its bound", err)
	}
	ro.err = nil
	c.Locator = &fakeLocator{err: hook.Transient(errors.New("Throttling"))}
	if _, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 10}); !hook.IsUncertain(err) {
		t.Errorf("ELB throttled: err = %v, want an uncertain error", err)
	}
}

// TestStepCheckKeepsSmokeOut: a smoke run that reached green through the
// test listener during the step's window moves its start past the run,
// and the step is held until a whole window of production evidence is in;
// one still running (beside the step check, at the same stage) holds the
// window's start at the call.
func TestStepCheckKeepsSmokeOut(t *testing.T) {
	for _, tt := range []struct {
		name, smoke string
		stage       hook.Stage
		from        string
	}{
		{"finished", `{"version": 1, "verdict": "passed", "started": "2026-11-25T09:04:00Z", "updated": "2026-11-25T09:06:00Z", "finished": "2026-11-25T09:06:00Z"}`, hook.StageProductionTrafficShift, "09:06"},
		{"running", `{"version": 1, "verdict": "running", "started": "2026-11-25T09:11:00Z", "updated": "2026-11-25T09:11:30Z"}`, hook.StagePreProductionTrafficShift, "09:12"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(12 * time.Minute)
			src, reports := healthySources(), store.NewMemory()
			if _, err := reports.Create(context.Background(), layout.SmokeReport(mustARN(t), tt.stage, "json"), []byte(tt.smoke)); err != nil {
				t.Fatal(err)
			}
			c := newChecker(src, &fakeLocator{gw: 10, bw: 90, byTest: true}, reports, &now)
			c.Rollouts = canary(share(10))
			res, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 10})
			if err != nil || res.HookStatus != hook.StatusInProgress {
				t.Fatalf("answer = %s %q %v, want IN_PROGRESS: the window starts after the smoke run", res.HookStatus, res.Reason, err)
			}
			st, ok, err := decodeState(res.HookDetails)
			if err != nil || !ok || st.Start.Format("15:04") != tt.from || st.Step != "10" {
				t.Errorf("state = %+v (ok %v, err %v), want the window from %s for the step at 10%%", st, ok, err, tt.from)
			}
		})
	}
}

// TestStepMinRequests: a step asks for stepMinRequests, the bake for
// minRequests; the suite's floor holds for steps too.
func TestStepMinRequests(t *testing.T) {
	now := t0.Add(12 * time.Minute)
	src := healthySources()
	src.green.Requests, src.green.Errors5xx = 40, 0
	c := newChecker(src, &fakeLocator{gw: 10, bw: 90, byTest: true}, store.NewMemory(), &now)
	c.Rollouts = canary(share(10))
	cfg := strings.Replace(issueConfig, `"minRequests": 100`, `"minRequests": 100, "stepMinRequests": 30`, 1)
	settled := func(details string) (hook.Response, error) {
		now = t0.Add(12 * time.Minute)
		run := newStepRun(t, c, details, map[string]float64{greenRevision: 10})
		if _, err := run.call(); err != nil {
			return hook.Response{}, err
		}
		now = now.Add(StepSettle)
		return run.call()
	}
	if res, err := settled(cfg); err != nil || res.HookStatus != hook.StatusSucceeded {
		t.Errorf("40 requests against stepMinRequests 30 = %s %q %v, want SUCCEEDED", res.HookStatus, res.Reason, err)
	}
	if res, err := settled(issueConfig); err != nil || res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "extended once") {
		t.Errorf("40 requests against minRequests 100 = %s %q %v, want the window extended once", res.HookStatus, res.Reason, err)
	}

	if _, err := Apply(suiteBake(t, ""), json.RawMessage(`{"stepMinRequests": 50}`)); err == nil || !strings.Contains(err.Error(), "hookDetails.stepMinRequests: 50 is below the suite's 500") {
		t.Errorf("a service's stepMinRequests below the suite's minRequests: %v, want refused", err)
	}
	if _, err := Apply(suiteBake(t, `{"bake": {"loosen": {"stepMinRequests": true}}}`), json.RawMessage(`{"stepMinRequests": 50}`)); err != nil {
		t.Errorf("loosened by the policy: %v", err)
	}
}

// TestStepWindows: a step bake of 0 is held a minute for evidence, from
// the call on, and then StepSettle; a step bake over MaxWindow is judged
// over its last MaxWindow.
func TestStepWindows(t *testing.T) {
	now := t0
	src := healthySources()
	c := newChecker(src, &fakeLocator{gw: 10, bw: 90, byTest: true}, store.NewMemory(), &now)
	ro := canary(share(10))
	ro.r.StepBake = 0
	c.Rollouts = ro
	run := newStepRun(t, c, issueConfig, map[string]float64{greenRevision: 10})
	if res, err := run.call(); err != nil || res.HookStatus != hook.StatusInProgress {
		t.Fatalf("first call = %s %q %v, want IN_PROGRESS for a minute of evidence", res.HookStatus, res.Reason, err)
	}
	now = t0.Add(MinStepWindow + StepSettle)
	if res, err := run.call(); err != nil || res.HookStatus != hook.StatusSucceeded {
		t.Errorf("a minute and the settle later = %s %q %v, want SUCCEEDED", res.HookStatus, res.Reason, err)
	}

	ro.r.StepBake, ro.r.GreenShare = 24*time.Hour, share(20)
	c.Locator = &fakeLocator{gw: 20, bw: 80, byTest: true}
	src.asked = nil
	now = t0.Add(30 * time.Hour)
	if _, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 20}); err != nil {
		t.Fatal(err)
	}
	if asked := strings.Join(src.asked, ","); !strings.Contains(asked, "green "+greenTG+" 07:00-15:00") {
		t.Errorf("sources asked %s, want green over the last 8h of the step", asked)
	}
}

// TestStepCheckGreenWithoutATestListener: without a test listener rule,
// the first step's check records green's target group (the one production
// does not reach yet), and later steps go by that record; without it, the
// shares must match what the event and ECS say, or green cannot be told
// (the coming step's share matches neither side): blue is never judged as
// green.
func TestStepCheckGreenWithoutATestListener(t *testing.T) {
	now := t0
	src, reports := healthySources(), store.NewMemory()
	// Production all on blue: Locate takes the one it reaches (blue) for green.
	loc := &fakeLocator{gw: 0, bw: 100}
	c := newChecker(src, loc, reports, &now)
	ro := canary(share(50))
	c.Rollouts = ro

	// The event and ECS both give the coming step's share (50), which
	// matches neither side of 75/25.
	loc.gw, loc.bw = 25, 75
	res, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 50})
	if err == nil || !strings.Contains(err.Error(), "cannot tell green's target group") {
		t.Errorf("no record, the coming step's share: %s %q %v, want FAILED: green cannot be told", res.HookStatus, res.Reason, err)
	}

	loc.gw, loc.bw, ro.r.GreenShare = 0, 100, share(0)
	res, err = stepCall(t, c, issueConfig, map[string]float64{greenRevision: 0})
	if err != nil || res.HookStatus != hook.StatusSucceeded {
		t.Fatalf("before the first step: %s %q %v", res.HookStatus, res.Reason, err)
	}
	if rep := stepReport(t, reports, 0); rep.Traffic == nil || rep.Traffic.Green != greenTG {
		t.Fatalf("the first step's report records green as %+v, want %s", rep.Traffic, greenTG)
	}

	// Later: 25% on green (told by the larger weight, blue), the event and
	// ECS saying the coming 50%: the record tells green.
	loc.gw, loc.bw, ro.r.GreenShare = 25, 75, share(50)
	now = t0.Add(20 * time.Minute)
	src.asked = nil
	res, err = stepCall(t, c, issueConfig, map[string]float64{greenRevision: 50})
	if err != nil || res.HookStatus != hook.StatusInProgress || !strings.Contains(strings.Join(src.asked, ","), "green "+greenTG) {
		t.Errorf("by the record: %s %q %v, asked %v; want green's own target group judged", res.HookStatus, res.Reason, err, src.asked)
	}
}

// TestStepSmokeAfterAMarkerResume: a call without its run state resumes
// the window from the start marker, and still keeps out a smoke run that
// reached green since; a smoke run long without a report (its final one
// never written) does not hold the step.
func TestStepSmokeAfterAMarkerResume(t *testing.T) {
	now := t0.Add(12 * time.Minute)
	src, reports := healthySources(), store.NewMemory()
	c := newChecker(src, &fakeLocator{gw: 10, bw: 90, byTest: true}, reports, &now)
	c.Rollouts = canary(share(10))
	weights := map[string]float64{greenRevision: 10}
	if res, err := stepCall(t, c, issueConfig, weights); err != nil || res.HookStatus != hook.StatusInProgress {
		t.Fatalf("first call: %s %v", res.HookStatus, err)
	}
	smoke := `{"version": 1, "verdict": "passed", "started": "2026-11-25T09:12:30Z", "updated": "2026-11-25T09:13:30Z", "finished": "2026-11-25T09:13:30Z"}`
	if _, err := reports.Create(context.Background(), layout.SmokeReport(mustARN(t), hook.StagePreProductionTrafficShift, "json"), []byte(smoke)); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(14*time.Minute + 10*time.Second)
	// No run state: ECS passed none back.
	res, err := stepCall(t, c, issueConfig, weights)
	if err != nil || res.HookStatus != hook.StatusInProgress {
		t.Errorf("resumed from the marker after a smoke run: %s %q %v, want IN_PROGRESS: the window starts after the smoke run", res.HookStatus, res.Reason, err)
	}

	stale := store.NewMemory()
	running := `{"version": 1, "verdict": "running", "started": "2026-11-25T08:00:00Z", "updated": "2026-11-25T08:01:00Z"}`
	if _, err := stale.Create(context.Background(), layout.SmokeReport(mustARN(t), hook.StagePreProductionTrafficShift, "json"), []byte(running)); err != nil {
		t.Fatal(err)
	}
	c2 := newChecker(healthySources(), &fakeLocator{gw: 10, bw: 90, byTest: true}, stale, &now)
	c2.Rollouts = canary(share(10))
	res, err = stepCall(t, c2, issueConfig, weights)
	if st, _, _ := decodeState(res.HookDetails); err != nil || !st.Start.Equal(now.Add(-10*time.Minute)) {
		t.Errorf("a smoke run silent for an hour moved the window to %v (err %v), want the step bake's start", st.Start, err)
	}
}

// TestStepCheckReadingTheComingStep: with the event and ECS both giving
// the step about to be made, and no test listener, the step before the
// first is keyed by that share (as its approval names it) and still
// records green; the next step is judged on green's own target group.
func TestStepCheckReadingTheComingStep(t *testing.T) {
	now := t0
	src, reports := healthySources(), store.NewMemory()
	loc := &fakeLocator{gw: 0, bw: 100}
	c := newChecker(src, loc, reports, &now)
	ro := canary(share(10))
	c.Rollouts = ro
	if res, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 10}); err != nil || res.HookStatus != hook.StatusSucceeded {
		t.Fatalf("before the first step: %s %q %v", res.HookStatus, res.Reason, err)
	}
	if rep := stepReport(t, reports, 10); rep.GreenShare == nil || *rep.GreenShare != 0 || rep.Traffic == nil || rep.Traffic.Green != greenTG {
		t.Fatalf("the first step's report, keyed by the coming share: %+v", rep)
	}
	loc.gw, loc.bw, ro.r.GreenShare = 10, 90, share(100)
	now = t0.Add(12 * time.Minute)
	res, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 100})
	if err != nil || res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "step with 10% of production on green") ||
		!strings.Contains(strings.Join(src.asked, ","), "green "+greenTG+" 09:02-09:12") {
		t.Errorf("the canary step: %s %q %v, asked %v; want green's own target group judged", res.HookStatus, res.Reason, err, src.asked)
	}
}

// TestStepCheckWithAlarmsAlone: a configuration of alarms alone needs no
// target groups, so the step check reads no load balancer (a service
// without one is judged too): the event's and ECS's share tell the step.
func TestStepCheckWithAlarmsAlone(t *testing.T) {
	now := t0.Add(12 * time.Minute)
	loc := &fakeLocator{err: errors.New("service revision: no blue/green target groups")}
	c := newChecker(healthySources(), loc, store.NewMemory(), &now)
	c.Rollouts = canary(share(10))
	res, err := stepCall(t, c, `{"alarms": {"names": ["orders-5xx"]}, "minRequests": 0}`, map[string]float64{greenRevision: 10})
	if err != nil || res.HookStatus != hook.StatusInProgress || loc.calls != 0 {
		t.Errorf("alarms alone: %s %q %v, %d Locate calls; want the step judged without the load balancer", res.HookStatus, res.Reason, err, loc.calls)
	}
}

// TestStepCheckUncertainIsBounded: through hook.Wrap, ECS failing to
// describe the deployment is answered IN_PROGRESS, and FAILED once it has
// lasted hook.Wrap's bound: a step is never passed for want of an answer.
func TestStepCheckUncertainIsBounded(t *testing.T) {
	payload, err := os.ReadFile("../../events/pre-production-traffic-shift.json")
	if err != nil {
		t.Fatal(err)
	}
	var req map[string]any
	if err := json.Unmarshal(payload, &req); err != nil {
		t.Fatal(err)
	}
	req["hookDetails"] = json.RawMessage(issueConfig)
	now := t0
	c := newChecker(healthySources(), &fakeLocator{gw: 10, bw: 90, byTest: true}, nil, &now)
	ro := canary(share(10))
	ro.err = hook.Transient(errors.New("ThrottlingException: rate exceeded"))
	c.Rollouts = ro
	h := hook.Wrap(HookHandler(c, DefaultConfig()), hook.Options{Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
	var last hook.Response
	for i := 0; i < 40; i++ {
		body, _ := json.Marshal(req)
		last, err = h(context.Background(), body)
		if err != nil {
			t.Fatal(err)
		}
		if last.HookStatus != hook.StatusInProgress {
			break
		}
		// ECS passes the returned hookDetails back, merged.
		var details map[string]any
		_ = json.Unmarshal([]byte(issueConfig), &details)
		var got map[string]any
		_ = json.Unmarshal(last.HookDetails, &got)
		for k, v := range got {
			details[k] = v
		}
		req["hookDetails"] = details
		now = now.Add(time.Minute)
	}
	if last.HookStatus != hook.StatusFailed || !strings.Contains(last.Reason, "describe the deployment") || now.Sub(t0) > 20*time.Minute {
		t.Errorf("after %s of ECS failing: %s %q, want FAILED within hook.Wrap's bound", now.Sub(t0), last.HookStatus, last.Reason)
	}
}

// TestStepCheckEvenSplit: a linear step of 50% without a test listener
// (the load balancer's even split tells neither side) is told by the
// record from before the first step; without it, it cannot be.
func TestStepCheckEvenSplit(t *testing.T) {
	now := t0
	src, reports := healthySources(), store.NewMemory()
	loc := &fakeLocator{gw: 0, bw: 100}
	c := newChecker(src, loc, reports, &now)
	ro := &fakeRollouts{r: Rollout{Stepped: true, Strategy: "LINEAR", StepBake: 10 * time.Minute, GreenShare: share(50)}}
	c.Rollouts = ro
	loc.gw, loc.bw = 50, 50
	if _, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 50}); err == nil || !strings.Contains(err.Error(), "cannot tell green's target group") {
		t.Errorf("an even split with no record: %v, want FAILED", err)
	}
	loc.gw, loc.bw, ro.r.GreenShare = 0, 100, share(0)
	if res, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 0}); err != nil || res.HookStatus != hook.StatusSucceeded {
		t.Fatalf("before the first step: %s %v", res.HookStatus, err)
	}
	loc.gw, loc.bw, ro.r.GreenShare = 50, 50, share(50)
	now = t0.Add(20 * time.Minute)
	src.asked = nil
	if res, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 50}); err != nil || res.HookStatus != hook.StatusInProgress ||
		!strings.Contains(strings.Join(src.asked, ","), "green "+greenTG) {
		t.Errorf("an even split with the record: %s %q %v, asked %v; want green's own target group judged", res.HookStatus, res.Reason, err, src.asked)
	}
}

// TestStepMinRequestsNeedsTheLoadBalancer: stepMinRequests, not the
// bake's minRequests, decides whether a step reads the target groups.
func TestStepMinRequestsNeedsTheLoadBalancer(t *testing.T) {
	now := t0.Add(12 * time.Minute)
	loc := &fakeLocator{gw: 10, bw: 90, byTest: true}
	c := newChecker(healthySources(), loc, store.NewMemory(), &now)
	c.Rollouts = canary(share(10))
	if _, err := stepCall(t, c, `{"alarms": {"names": ["orders-5xx"]}, "minRequests": 0, "stepMinRequests": 50}`, map[string]float64{greenRevision: 10}); err != nil || loc.calls == 0 {
		t.Errorf("stepMinRequests 50 over minRequests 0: %v, %d Locate calls; want the target groups located by the step check", err, loc.calls)
	}
	loc.calls, loc.err = 0, errors.New("no blue/green target groups")
	if res, err := stepCall(t, c, `{"alarms": {"names": ["orders-5xx"]}, "minRequests": 100, "stepMinRequests": 0}`, map[string]float64{greenRevision: 10}); err != nil || res.HookStatus != hook.StatusInProgress || loc.calls != 0 {
		t.Errorf("stepMinRequests 0, alarms alone: %s %v, %d Locate calls; want no load balancer read", res.HookStatus, err, loc.calls)
	}
}

// TestStepReportNamedByECS: the step check names its report by ECS's
// record (as an approval of the step names it, also in pause mode, which
// has no event weights), and judges the lower share.
func TestStepReportNamedByECS(t *testing.T) {
	now := t0.Add(12 * time.Minute)
	reports := store.NewMemory()
	src := healthySources()
	src.green.Errors5xx = 300
	c := newChecker(src, nil, reports, &now)
	c.Rollouts = canary(share(25))
	res, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 10})
	if err != nil || res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "step with 10% of production on green") {
		t.Fatalf("answer = %s %q %v", res.HookStatus, res.Reason, err)
	}
	if rep := stepReport(t, reports, 25); rep.GreenShare == nil || *rep.GreenShare != 10 {
		t.Errorf("report named 25 = %+v, want green's 10%%", rep)
	}
}

// TestVerdictsReadTheStepReports: what an approval of a step reads is the
// step check's own report: its summary and reason, and whether it passed;
// none yet is store.ErrNotFound.
func TestVerdictsReadTheStepReports(t *testing.T) {
	now := t0.Add(12 * time.Minute)
	src, reports := healthySources(), store.NewMemory()
	c := newChecker(src, &fakeLocator{gw: 10, bw: 90, byTest: true}, reports, &now)
	c.Rollouts = canary(share(10))
	src.green.Errors5xx = 300
	if res, err := stepCall(t, c, issueConfig, map[string]float64{greenRevision: 10}); err != nil || res.HookStatus != hook.StatusFailed {
		t.Fatalf("step: %s %v", res.HookStatus, err)
	}
	v := Verdicts{Reader: reports}
	got, passed, err := v.StepVerdict(context.Background(), deploymentARN, "10")
	if err != nil || passed || !strings.HasPrefix(got, "10% on green: FAILED over 10m; green 1200 requests, 25.00% 5xx") || !strings.Contains(got, "(step with 10% of production on green: bake failed") {
		t.Errorf("StepVerdict = %q, %v, %v", got, passed, err)
	}
	if _, _, err := v.StepVerdict(context.Background(), deploymentARN, "25"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a step not judged yet: %v, want ErrNotFound", err)
	}
}
