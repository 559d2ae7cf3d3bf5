package simulator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// stageTimes returns when stage started and when the hook named name
// answered TIMED_OUT or FAILED at it, in d's events.
func stageTimes(t *testing.T, d *Deployment, stage hook.Stage, name string) (started, ended time.Time, reason string) {
	t.Helper()
	for _, e := range d.Snapshot().Events {
		switch {
		case e.Stage == stage && e.Hook == "" && e.Status == "STARTED" && started.IsZero():
			started = e.At
		case e.Stage == stage && e.Hook == name && (e.Status == "TIMED_OUT" || e.Status == "FAILED") && ended.IsZero():
			ended, reason = e.At, e.Reason
		}
	}
	if started.IsZero() || ended.IsZero() {
		t.Fatalf("no start or end of %s at %s in %+v", name, stage, d.Snapshot().Events)
	}
	return started, ended, reason
}

// TestLambdaStageLimit: a stage with Lambda hooks lasts at most 24 hours,
// then ECS rolls back, whatever a hook's own timeout and timeout action
// say (ECS-HOOKS.md, section 3).
func TestLambdaStageLimit(t *testing.T) {
	waiting := &scripted{next: func(int, hook.Request) (hook.Response, error) {
		return hook.Response{HookStatus: hook.StatusInProgress, CallBackDelay: 900}, nil
	}}
	sim, _, _ := newSim(Hook{Name: "approval", Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Timeout: 48 * time.Hour, OnTimeout: TimeoutContinue, Invoke: waiting.invoke})
	d := sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusRollbackSuccessful {
		t.Fatalf("deployment %s, want %s", got, StatusRollbackSuccessful)
	}
	started, ended, reason := stageTimes(t, d, hook.StagePostTestTrafficShift, "approval")
	if took := ended.Sub(started); took != 24*time.Hour {
		t.Errorf("the stage ended after %s, want 24h", took)
	}
	if !strings.Contains(reason, "lasted 24h, the longest ECS lets a stage with Lambda hooks last") {
		t.Errorf("reason %q, want the stage limit named", reason)
	}
}

// TestPauseHookLimit: a PAUSE hook waits at most 14 days, whatever its
// configured timeout.
func TestPauseHookLimit(t *testing.T) {
	sim, _, _ := newSim(Hook{Name: "approval", Pause: true, Stages: []hook.Stage{hook.StagePreProductionTrafficShift}, Timeout: 30 * 24 * time.Hour})
	d := sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusRollbackSuccessful {
		t.Fatalf("deployment %s, want %s", got, StatusRollbackSuccessful)
	}
	started, ended, _ := stageTimes(t, d, hook.StagePreProductionTrafficShift, "approval")
	if took := ended.Sub(started); took != hook.MaxPauseTimeout {
		t.Errorf("the PAUSE hook timed out after %s, want %s", took, hook.MaxPauseTimeout)
	}
	if p := d.Pauses(); len(p) != 1 || p[0].Status != "TIMED_OUT" {
		t.Errorf("pauses %+v, want one TIMED_OUT", p)
	}
}

// TestMixedStage: a stage with a PAUSE hook and a Lambda hook, under both
// readings of what bounds it (not documented): the Lambda hooks' 24 hours,
// or the PAUSE hook's own timeout.
func TestMixedStage(t *testing.T) {
	for _, tt := range []struct {
		mixed  MixedStage
		took   time.Duration
		reason string
	}{
		{MixedStage24h, 24 * time.Hour, "lasted 24h, the longest ECS lets a stage with Lambda hooks last"},
		{MixedStagePause, 72 * time.Hour, "action ROLLBACK"},
	} {
		t.Run(string(tt.mixed), func(t *testing.T) {
			sim, _, _ := newSim(
				Hook{Name: "approval", Pause: true, Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Timeout: 72 * time.Hour},
				Hook{Name: "smoke", Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Invoke: (&scripted{next: succeed}).invoke},
			)
			sim.Behaviour.MixedStage = tt.mixed
			d := sim.NewDeployment("")
			if got := sim.Run(context.Background(), d); got != StatusRollbackSuccessful {
				t.Fatalf("deployment %s, want %s", got, StatusRollbackSuccessful)
			}
			started, ended, reason := stageTimes(t, d, hook.StagePostTestTrafficShift, "approval")
			if took := ended.Sub(started); took != tt.took || !strings.Contains(reason, tt.reason) {
				t.Errorf("the stage ended after %s (%q), want %s (%q)", took, reason, tt.took, tt.reason)
			}
		})
	}
}

// TestDeploymentLimit: a whole deployment lasts at most 30 days.
func TestDeploymentLimit(t *testing.T) {
	sim, _, _ := newSim(
		Hook{Name: "first", Pause: true, Stages: []hook.Stage{hook.StagePostScaleUp}, Timeout: hook.MaxPauseTimeout, OnTimeout: TimeoutContinue},
		Hook{Name: "second", Pause: true, Stages: []hook.Stage{hook.StagePostTestTrafficShift}, Timeout: hook.MaxPauseTimeout, OnTimeout: TimeoutContinue},
		Hook{Name: "third", Pause: true, Stages: []hook.Stage{hook.StagePreProductionTrafficShift}, Timeout: hook.MaxPauseTimeout, OnTimeout: TimeoutContinue},
	)
	d := sim.NewDeployment("")
	if got := sim.Run(context.Background(), d); got != StatusRollbackSuccessful {
		t.Fatalf("deployment %s, want %s", got, StatusRollbackSuccessful)
	}
	_, ended, reason := stageTimes(t, d, hook.StagePreProductionTrafficShift, "third")
	if took := ended.Sub(d.Snapshot().StartedAt); took != hook.MaxDeployment || !strings.Contains(reason, "the longest ECS lets a service deployment last") {
		t.Errorf("the deployment ended after %s (%q), want %s", took, reason, hook.MaxDeployment)
	}
}
