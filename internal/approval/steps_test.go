package approval

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// fakeSteps answers the step check's verdicts by green's share.
type fakeSteps map[float64]string

func (f fakeSteps) StepVerdict(ctx context.Context, arn, share string) (string, bool, error) {
	n, err := strconv.ParseFloat(share, 64)
	if err != nil {
		return "", false, err
	}
	if v, ok := f[n]; ok {
		return v, strings.HasPrefix(v, "SUCCEEDED"), nil
	}
	return "", false, store.ErrNotFound
}

// TestStepsEachInLambdaMode: with steps: each, the approval hook at
// PRE_PRODUCTION_TRAFFIC_SHIFT keeps a request per step, named by green's
// share before it (the event's weights), each sent to the approvers anew
// and saying its step and the step check's verdict; the first step's
// approval does not pass the next. With steps: first (the default) the
// first request covers every step. A call without the target's weight
// cannot tell the step and fails, saying so.
func TestStepsEachInLambdaMode(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	steps := fakeSteps{10: "SUCCEEDED: step with 10% of production on green: bake passed"}
	f.gate.Steps = steps
	defaults := f.poll.Settings
	defaults.Steps = StepsEach
	h := HookHandler(f.gate, defaults)
	call := func(weights map[string]float64) (hook.Response, error) {
		return h(context.Background(), hook.Request{ExecutionID: "e", LifecycleStage: hook.StagePreProductionTrafficShift, ResourceARN: deploymentARN,
			ExecutionDetails: hook.ExecutionDetails{ServiceARN: f.poll.ServiceARN, TargetServiceRevisionARN: "rev-green", ProductionTrafficWeights: weights},
			HookDetails:      json.RawMessage(`{}`)})
	}
	d := f.poll.Deployment
	for i, share := range []float64{0, 10} {
		res, err := call(map[string]float64{"rev-green": share, "rev-blue": 100 - share})
		if err != nil || res.HookStatus != hook.StatusInProgress {
			t.Fatalf("step %d: %s %q %v, want IN_PROGRESS: asked anew", i+1, res.HookStatus, res.Reason, err)
		}
		msgs := reviewsOf(f.n.sent())
		if len(msgs) != i+1 {
			t.Fatalf("step %d: %d review messages in all, want one a step", i+1, len(msgs))
		}
		body := msgs[i].Body
		if want := "Step:        " + []string{"0", "10"}[i] + "% of production on green so far"; !strings.Contains(body, want) {
			t.Errorf("step %d's message lacks %q:\n%s", i+1, want, body)
		}
		if i == 1 && !strings.Contains(body, "Step check:  SUCCEEDED: step with 10% of production on green") {
			t.Errorf("step 2's message lacks the step check's verdict:\n%s", body)
		}
		key := GateKey(d, hook.StagePreProductionTrafficShift, StepGate("", share))
		f.key = key
		f.vote(t, "alice@example.com", Approve)
		if res, err := call(map[string]float64{"rev-green": share, "rev-blue": 100 - share}); err != nil || res.HookStatus != hook.StatusSucceeded {
			t.Fatalf("step %d approved: %s %q %v", i+1, res.HookStatus, res.Reason, err)
		}
	}
	if res, err := call(map[string]float64{}); err == nil || !strings.Contains(err.Error(), "steps: each: ECS sent no production weight") {
		t.Errorf("no weights: %s %v, want a refusal naming steps: each", res.HookStatus, err)
	}

	// steps: first: one request, passed at every step once approved.
	g := newFixture(t, []string{"alice@example.com"}, 1)
	first := HookHandler(g.gate, g.poll.Settings)
	for i, share := range []float64{0, 10, 50} {
		res, err := first(context.Background(), hook.Request{ExecutionID: "e", LifecycleStage: hook.StagePreProductionTrafficShift, ResourceARN: deploymentARN,
			ExecutionDetails: hook.ExecutionDetails{ServiceARN: g.poll.ServiceARN, TargetServiceRevisionARN: "rev-green", ProductionTrafficWeights: map[string]float64{"rev-green": share}},
			HookDetails:      json.RawMessage(`{}`)})
		want := hook.StatusSucceeded
		if i == 0 {
			want = hook.StatusInProgress
		}
		if err != nil || res.HookStatus != want {
			t.Fatalf("steps: first, step %d: %s %v, want %s", i+1, res.HookStatus, err, want)
		}
		if i == 0 {
			g.key = GateKey(g.poll.Deployment, hook.StagePreProductionTrafficShift, "")
			g.vote(t, "alice@example.com", Approve)
		}
	}
	if reviews := len(reviewsOf(g.n.sent())); reviews != 1 {
		t.Errorf("steps: first sent %d review messages, want 1", reviews)
	}
}

// TestStandingShowsTheStepVerdictOnceIn: a step's request opened before
// the step check judged is shown with the verdict once it is in (Standing,
// which the page asks), without it being written, nor carried into a vote.
func TestStandingShowsTheStepVerdictOnceIn(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	steps := fakeSteps{}
	f.gate.Steps = steps
	f.poll.Stage = hook.StagePreProductionTrafficShift
	f.poll.Settings.Steps = StepsEach
	share := 10.0
	f.poll.Step = &share
	f.poll.Settings.Gate = StepGate("", share)
	f.key = GateKey(f.poll.Deployment, f.poll.Stage, f.poll.Settings.Gate)
	f.mustPoll(t, Pending)
	if r, _ := f.load(t); r.Step == nil || r.Step.GreenShare != 10 || r.Step.Evidence != "" {
		t.Fatalf("request's step = %+v, want 10%% with no verdict yet", r.Step)
	}
	steps[10] = "FAILED: step with 10% of production on green: bake failed"
	svc := NewService(Parts{Gate: f.gate, Defaults: f.poll.Settings})
	writes := f.st.Writes()
	got, err := svc.Read(context.Background(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	if v := svc.Standing(context.Background(), got.Request).StepVerdict; v != steps[10] {
		t.Errorf("Standing's step verdict = %q, want the verdict now in", v)
	}
	if got.Request.Step.Evidence != "" || f.st.Writes() != writes {
		t.Error("the verdict was put on the request read, or written")
	}
	if r, _ := f.load(t); r.Step.Evidence != "" {
		t.Errorf("stored evidence = %q, want none stored by a read", r.Step.Evidence)
	}
}

// reviewsOf returns the review messages among msgs.
func reviewsOf(msgs []Message) []Message {
	var out []Message
	for _, m := range msgs {
		if strings.HasPrefix(m.Subject, "[gatehouse] Approve") {
			out = append(out, m)
		}
	}
	return out
}

func TestStepGateNames(t *testing.T) {
	for _, tt := range []struct {
		gate  string
		share float64
		want  string
	}{{"", 0, "step-0"}, {"", 10, "step-10"}, {"security", 2.5, "security-step-2p5"}} {
		got := StepGate(tt.gate, tt.share)
		if got != tt.want || !gateName.MatchString(got) {
			t.Errorf("StepGate(%q, %g) = %q, want %q, a valid gate name", tt.gate, tt.share, got, tt.want)
		}
		if base, ok := StepGateOf(got); !ok || base != tt.gate {
			t.Errorf("StepGateOf(%q) = %q, %v; want %q", got, base, ok, tt.gate)
		}
	}
	if _, ok := StepGateOf("security"); ok {
		t.Error(`StepGateOf("security") names a step`)
	}
}

// TestStepRequestWaitsForTheStepCheck: with the bake hook running at the
// stage as the step check, a step's request holds its messages until the
// step check's verdict on the step just baked is in: a pass sends them
// with the verdict, a failure closes the request with nobody asked.
func TestStepRequestWaitsForTheStepCheck(t *testing.T) {
	for _, passed := range []bool{true, false} {
		f := newFixture(t, []string{"alice@example.com"}, 1)
		steps := fakeSteps{}
		f.gate.Steps, f.gate.BakeFunction = steps, "gatehouse-bake"
		f.gate.Describer = fakeDescriber{d: Change{Known: true, TargetTaskDefinition: "orders:42",
			Hooks: []string{"arn:aws:lambda:us-west-2:123456789012:function:gatehouse-bake", "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-approval"}}}
		share := 10.0
		f.poll.Stage, f.poll.Step = hook.StagePreProductionTrafficShift, &share
		f.poll.Settings.Steps, f.poll.Settings.Gate = StepsEach, StepGate("", share)
		f.key = GateKey(f.poll.Deployment, f.poll.Stage, f.poll.Settings.Gate)
		v := f.mustPoll(t, Pending)
		if !strings.Contains(v.Reason, "waiting for the step check's verdict") || len(f.n.sent()) != 0 {
			t.Fatalf("first poll: %q, %d messages; want the messages held for the step check", v.Reason, len(f.n.sent()))
		}
		f.mustPoll(t, Pending)
		if len(f.n.sent()) != 0 {
			t.Fatal("messages sent before the step check's verdict")
		}
		if passed {
			steps[10] = "SUCCEEDED: 10% on green over 12m; green 480 requests"
			f.mustPoll(t, Pending)
			msgs := reviewsOf(f.n.sent())
			if len(msgs) != 1 || !strings.Contains(msgs[0].Body, "Step check:  SUCCEEDED: 10% on green over 12m") {
				t.Errorf("after a passed step check: %d review messages, want one with the verdict: %+v", len(msgs), msgs)
			}
			continue
		}
		steps[10] = "FAILED: 10% on green over 3m; 5xx rate 0.3 > max 0.05"
		v = f.mustPoll(t, Aborted)
		if v.Pass || !strings.Contains(v.Reason, "the step check failed the step just baked") || len(f.n.sent()) != 0 {
			t.Errorf("after a failed step check: %+v, %d messages; want aborted, nobody asked", v, len(f.n.sent()))
		}
	}
}

// TestNoStepVerdictIsNoApproval: a step's request that expires while it
// still waits for the step check's verdict is rejected, even with
// onExpiry: approve: nobody was asked, and nothing judged the step.
func TestNoStepVerdictIsNoApproval(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.gate.Steps, f.gate.BakeFunction = fakeSteps{}, "gatehouse-bake"
	f.gate.Describer = fakeDescriber{d: Change{Known: true, Hooks: []string{"arn:aws:lambda:us-west-2:123456789012:function:gatehouse-bake"}}}
	share := 10.0
	f.poll.Stage, f.poll.Step = hook.StagePreProductionTrafficShift, &share
	f.poll.Settings.Steps, f.poll.Settings.Gate, f.poll.Settings.OnExpiry = StepsEach, StepGate("", share), Approve
	f.key = GateKey(f.poll.Deployment, f.poll.Stage, f.poll.Settings.Gate)
	f.mustPoll(t, Pending)
	f.clock.Add(5 * time.Hour)
	v := f.mustPoll(t, Expired)
	if v.Pass || !strings.Contains(v.Reason, "no step check verdict on the step just baked within 4h") {
		t.Errorf("expired while waiting for the step check: %+v, want rejected, saying why", v)
	}
}

// stepFixture is a fixture for the request of the step at 10% at
// PRE_PRODUCTION_TRAFFIC_SHIFT, with the bake hook running there as the
// step check, verdicts from steps.
func stepFixture(t *testing.T, steps fakeSteps, hooks ...string) *fixture {
	t.Helper()
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.gate.Steps, f.gate.BakeFunction = steps, "gatehouse-bake"
	f.gate.Describer = fakeDescriber{d: Change{Known: true, Hooks: append([]string{"arn:aws:lambda:us-west-2:123456789012:function:gatehouse-bake"}, hooks...)}}
	share := 10.0
	f.poll.Stage, f.poll.Step = hook.StagePreProductionTrafficShift, &share
	f.poll.Settings.Steps, f.poll.Settings.Gate = StepsEach, StepGate("", share)
	f.key = GateKey(f.poll.Deployment, f.poll.Stage, f.poll.Settings.Gate)
	return f
}

// TestStepWaitEdges: a vote while the step verdict is awaited is refused;
// a verdict already FAILED when the request opens asks nobody; with a
// smoke hook at the stage too, the messages wait for both, smoke first.
func TestStepWaitEdges(t *testing.T) {
	f := stepFixture(t, fakeSteps{})
	f.mustPoll(t, Pending)
	r, _ := f.load(t)
	if err := r.Cast(Vote{Approver: "alice@example.com", Decision: Approve, Via: "cli"}, f.clock.Now()); !errors.Is(err, ErrAwaitingStep) {
		t.Errorf("a vote while the step verdict is awaited: %v, want ErrAwaitingStep", err)
	}

	failed := stepFixture(t, fakeSteps{10: "FAILED: 10% on green over 3m; 5xx rate 0.3 > max 0.05"})
	if v := failed.mustPoll(t, Aborted); v.Pass || len(failed.n.sent()) != 0 {
		t.Errorf("a step already failed as the request opens: %+v, %d messages; want aborted, nobody asked", v, len(failed.n.sent()))
	}

	steps := fakeSteps{}
	both := stepFixture(t, steps, "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-smoke")
	smoke := &fakeSmoke{}
	both.gate.Smoke, both.gate.SmokeFunction = smoke, "gatehouse-smoke"
	both.mustPoll(t, Pending)
	smoke.set(true, "3 of 3 passed")
	both.mustPoll(t, Pending)
	if n := len(both.n.sent()); n != 0 {
		t.Fatalf("%d messages after the smoke pass alone, want none: the step verdict is not in", n)
	}
	steps[10] = "SUCCEEDED: 10% on green over 12m"
	both.mustPoll(t, Pending)
	if msgs := reviewsOf(both.n.sent()); len(msgs) != 1 || !strings.Contains(msgs[0].Body, "Step check:  SUCCEEDED") || !strings.Contains(msgs[0].Body, "Smoke:") {
		t.Errorf("after both: %+v, want one review message with both verdicts", msgs)
	}
}

// TestStepReportNamedAsTheStepCheckNamesIt: the event's weight and ECS's
// record may disagree (ECS's documents leave open whether either is the
// step about to be made): a step's request looks for the step check's
// report by ECS's record, as the step check names it, and shows the lower
// share.
func TestStepReportNamedAsTheStepCheckNamesIt(t *testing.T) {
	ecs := 25.0
	f := stepFixture(t, fakeSteps{25: "SUCCEEDED: 10% on green over 12m"})
	f.gate.Describer = fakeDescriber{d: Change{Known: true, GreenShare: &ecs, Hooks: []string{"arn:aws:lambda:us-west-2:123456789012:function:gatehouse-bake"}}}
	f.mustPoll(t, Pending)
	r, _ := f.load(t)
	if r.Step == nil || r.Step.Report != "25" || r.Step.GreenShare != 10 || r.Step.Evidence == "" {
		t.Errorf("request's step = %+v, want the report named 25 (ECS), 10%% shown, its verdict in", r.Step)
	}
}
