package simulator

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
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
			if len(lambda.reqs) < 3 {
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
