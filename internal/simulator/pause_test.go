package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
)

// events collects the EventBridge events a simulator emits for PAUSE hooks.
type events struct {
	mu   sync.Mutex
	list [][]byte
	seen chan struct{}
}

func newEvents() *events { return &events{seen: make(chan struct{}, 16)} }

func (e *events) on(_ *Deployment, ev []byte) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
	e.seen <- struct{}{}
}

// TestPauseHook: a PAUSE hook waits, AWAITING_ACTION, beside a Lambda hook
// at the same stage (both must complete) until ContinueServiceDeployment;
// EventBridge may deliver its event twice; a second call, or one for an
// unknown hook, is refused as ECS does.
func TestPauseHook(t *testing.T) {
	for _, action := range []string{"CONTINUE", "ROLLBACK", ""} {
		t.Run("action "+action, func(t *testing.T) {
			lambda := &scripted{next: func(n int, req hook.Request) (hook.Response, error) {
				if n < 3 {
					return hook.Response{HookStatus: hook.StatusInProgress, CallBackDelay: 30}, nil
				}
				return hook.Response{HookStatus: hook.StatusSucceeded}, nil
			}}
			sim, _, _ := newSim(
				Hook{Name: "approval", Pause: true, Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Timeout: 24 * time.Hour},
				Hook{Name: "smoke", Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Invoke: lambda.invoke},
			)
			ev := newEvents()
			sim.OnPause, sim.DeliverTwice = ev.on, true
			d := sim.NewDeployment("")
			done := make(chan Status, 1)
			go func() { done <- sim.Run(context.Background(), d) }()
			select {
			case <-ev.seen:
			case <-time.After(10 * time.Second):
				t.Fatal("no EventBridge event")
			}
			<-ev.seen
			parsed, ok := hook.ParsePauseEvent(ev.list[0])
			if !ok || parsed.EventName != hook.HookAwaitingAction || parsed.DeploymentARN != d.ARN || parsed.Stage != hook.StagePostTestTrafficShift || string(ev.list[0]) != string(ev.list[1]) {
				t.Fatalf("event %s (parsed %+v, %v); want the same AWAITING_ACTION event twice", ev.list[0], parsed, ok)
			}
			if err := d.ContinueServiceDeployment("no-such-hook", "CONTINUE"); !errors.Is(err, ErrHookNotWaiting) {
				t.Errorf("continue an unknown hook = %v", err)
			}
			if err := d.ContinueServiceDeployment(parsed.HookID, action); err != nil {
				t.Fatal(err)
			}
			if err := d.ContinueServiceDeployment(parsed.HookID, "CONTINUE"); !errors.Is(err, ErrHookNotWaiting) {
				t.Errorf("continue twice = %v, want ErrHookNotWaiting", err)
			}
			var status Status
			select {
			case status = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the deployment did not end")
			}
			want := StatusSuccessful
			if action == "ROLLBACK" {
				want = StatusRollbackSuccessful
			}
			if status != want {
				t.Errorf("deployment %s, want %s", status, want)
			}
			// Both must complete for the stage to go on; a ROLLBACK ends
			// the stage whatever the other hook does (as a FAILED answer
			// does), so whether it was called again then is a race.
			if len(lambda.reqs) < 3 && action != "ROLLBACK" {
				t.Errorf("the Lambda hook at the same stage was called %d times: both must complete", len(lambda.reqs))
			}
			if p := d.Pauses(); len(p) != 1 || p[0].Status == "AWAITING_ACTION" {
				t.Errorf("pauses %+v", p)
			}
		})
	}
}

// TestPauseHookTimeout: nobody continues: the timeout action decides.
func TestPauseHookTimeout(t *testing.T) {
	for onTimeout, want := range map[string]Status{"ROLLBACK": StatusRollbackSuccessful, "CONTINUE": StatusSuccessful} {
		sim, _, _ := newSim(Hook{Name: "approval", Pause: true, Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Timeout: time.Hour, OnTimeout: onTimeout})
		d := sim.NewDeployment("")
		if got := sim.Run(context.Background(), d); got != want {
			t.Errorf("timeout action %s: deployment %s, want %s", onTimeout, got, want)
		}
		if p := d.Pauses(); len(p) != 1 || p[0].Status != "TIMED_OUT" || p[0].TimeoutAction != onTimeout {
			t.Errorf("timeout action %s: pauses %+v", onTimeout, p)
		}
		if onTimeout == "ROLLBACK" && !strings.Contains(d.Snapshot().Reason, "timed out after 1h") {
			t.Errorf("reason %q, want the timeout named", d.Snapshot().Reason)
		}
	}
}

// TestPauseEvents: the events are in the documented shape, with an
// ecs-pause- hookId, and each outcome has its event: HOOK_SUCCEEDED for a
// CONTINUE, HOOK_FAILED for a ROLLBACK, HOOK_TIMED_OUT at the timeout.
func TestPauseEvents(t *testing.T) {
	for _, tt := range []struct {
		name, action string
		want         string
	}{
		{"continued", "CONTINUE", hook.HookSucceeded},
		{"rolled back", "ROLLBACK", hook.HookFailed},
		{"timed out", "", hook.HookTimedOut},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sim, _, _ := newSim(Hook{Name: "approval", Pause: true, Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Timeout: time.Hour})
			ev := newEvents()
			sim.OnPause = ev.on
			if tt.action != "" {
				sim.OnPause = func(d *Deployment, raw []byte) {
					ev.on(d, raw)
					if e, _ := hook.ParsePauseEvent(raw); e.EventName == hook.HookAwaitingAction {
						if err := d.ContinueServiceDeployment(e.HookID, tt.action); err != nil {
							t.Error(err)
						}
					}
				}
			}
			d := sim.NewDeployment("")
			sim.Run(context.Background(), d)
			if len(ev.list) != 2 {
				t.Fatalf("%d events, want 2: %s", len(ev.list), ev.list)
			}
			first, _ := hook.ParsePauseEvent(ev.list[0])
			last, _ := hook.ParsePauseEvent(ev.list[1])
			if !regexp.MustCompile(`^ecs-pause-[A-Za-z0-9_-]{43}$`).MatchString(first.HookID) {
				t.Errorf("hookId %q, want ecs-pause- and 43 base64url characters", first.HookID)
			}
			if first.EventName != hook.HookAwaitingAction || last.EventName != tt.want || last.HookID != first.HookID {
				t.Errorf("events %s then %s of %s, %s; want %s then %s of one hook", first.EventName, last.EventName, first.HookID, last.HookID, hook.HookAwaitingAction, tt.want)
			}
			want := hook.PauseEvent{EventName: hook.HookAwaitingAction, HookType: "PAUSE", DeploymentARN: d.ARN, HookID: first.HookID,
				Stage: hook.StagePostTestTrafficShift, ServiceARN: sim.Service.ARN(), Account: sim.Service.Account, ExpiresAt: first.ExpiresAt, ID: first.ID}
			if first != want || first.ExpiresAt == nil || !first.ExpiresAt.Equal(d.Pauses()[0].ExpiresAt) {
				t.Errorf("event %+v, want %+v expiring with the hook", first, want)
			}
			var raw map[string]any
			_ = json.Unmarshal(ev.list[0], &raw)
			if detail, _ := raw["detail"].(map[string]any); detail["eventType"] != "INFO" || detail["clusterArn"] == nil || detail["updatedAt"] == nil {
				t.Errorf("detail %v, want eventType INFO, clusterArn and updatedAt as documented", detail)
			}
		})
	}
}

// TestPreProductionWeights: PRE_PRODUCTION_TRAFFIC_SHIFT carries
// production weights as they stand before the step (green 0, blue 100
// before the first, as documented) and empty test weights.
func TestPreProductionWeights(t *testing.T) {
	pre := &scripted{next: succeed}
	sim, _, _ := newSim(Hook{Name: "step", Stages: []hook.Stage{hook.StagePreProductionTrafficShift}, Invoke: pre.invoke})
	sim.Strategy = rollout.Strategy{Kind: rollout.Linear, StepPercent: 50, StepBake: time.Minute}
	d := sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusSuccessful {
		t.Fatalf("deployment %s", got)
	}
	if len(pre.reqs) != 2 {
		t.Fatalf("%d calls, want one a step (2)", len(pre.reqs))
	}
	for i, green := range []float64{0, 50} {
		ed := pre.reqs[i].ExecutionDetails
		want := map[string]float64{d.TargetRevision: green, d.SourceRevision: 100 - green}
		if diff := cmp.Diff(want, ed.ProductionTrafficWeights); diff != "" || len(ed.TestTrafficWeights) != 0 {
			t.Errorf("step %d: production weights (-want +got):\n%s\ntest weights %v, want none", i+1, diff, ed.TestTrafficWeights)
		}
	}
}
