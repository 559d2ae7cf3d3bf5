package simulator

// PAUSE hooks: ECS waits, someone else decides (ECS-HOOKS.md, section 7).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Pause is a PAUSE hook's run, while ECS waits on it.
type Pause struct {
	// HookID names the run; Hook the hook, Stage where it waits.
	HookID string
	Hook   string
	Stage  hook.Stage
	// Status is AWAITING_ACTION until ContinueServiceDeployment, then
	// SUCCEEDED or FAILED; TIMED_OUT at the hook's timeout.
	Status string
	// ExpiresAt is the hook's timeout; TimeoutAction what happens then.
	ExpiresAt     time.Time
	TimeoutAction string

	action chan string
}

// ErrHookNotWaiting is ContinueServiceDeployment's answer for a hook that
// does not await action (unknown, already continued, timed out) or a
// deployment no longer in progress.
var ErrHookNotWaiting = errors.New("the lifecycle hook does not await action")

// pauseTick is how often, in simulated time, a waiting PAUSE hook looks at
// the clock.
const pauseTick = time.Second

// runPause waits at stage for the PAUSE hook h to be continued.
func (s *Simulator) runPause(ctx context.Context, d *Deployment, stage hook.Stage, h Hook, rollback bool) error {
	if rollback {
		// PAUSE hooks sit at no stage ECS re-runs to roll back.
		return nil
	}
	timeout := h.Timeout
	if timeout == 0 {
		timeout = hook.DefaultTimeout
	}
	onTimeout := h.OnTimeout
	if onTimeout == "" {
		onTimeout = "ROLLBACK"
	}
	p := &Pause{HookID: randomUUID(), Hook: h.Name, Stage: stage, Status: "AWAITING_ACTION",
		ExpiresAt: s.Clock.Now().Add(timeout), TimeoutAction: onTimeout, action: make(chan string, 1)}
	d.set(func(d *Deployment) {
		if s.Behaviour.withDefaults().PauseSteps == PauseStepsSameHook {
			// A later step's pause keeps the first one's hookId.
			for _, earlier := range d.pauses {
				if earlier.Hook == h.Name && earlier.Stage == stage {
					p.HookID = earlier.HookID
					break
				}
			}
		}
		d.pauses = append(d.pauses, p)
	})
	s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "AWAITING_ACTION", Reason: "hook " + p.HookID})
	if s.OnPause != nil {
		ev := pauseEvent(s, d, p)
		s.OnPause(d, ev)
		if s.DeliverTwice {
			s.OnPause(d, ev)
		}
	}
	for {
		select {
		case action := <-p.action:
			if action == "ROLLBACK" {
				s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "FAILED", Reason: "ContinueServiceDeployment: ROLLBACK"})
				return fmt.Errorf("hook %s at %s: continued with ROLLBACK", h.Name, stage)
			}
			s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "SUCCEEDED", Reason: "ContinueServiceDeployment: CONTINUE"})
			return nil
		case <-d.requested():
			return errRollbackRequested
		default:
		}
		left := p.ExpiresAt.Sub(s.Clock.Now())
		if left <= 0 {
			d.set(func(*Deployment) { p.Status = "TIMED_OUT" })
			s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "TIMED_OUT", Reason: "action " + onTimeout})
			if onTimeout == "CONTINUE" {
				return nil
			}
			return fmt.Errorf("hook %s at %s timed out after %s", h.Name, stage, hook.FormatDuration(timeout))
		}
		if err := s.Clock.Sleep(ctx, min(pauseTick, left)); err != nil {
			return err
		}
	}
}

// ContinueServiceDeployment ends the wait of d's PAUSE hook hookID, as ECS
// does: the deployment must be in progress and the hook awaiting action;
// an empty action means CONTINUE.
func (d *Deployment) ContinueServiceDeployment(hookID, action string) error {
	if action == "" {
		action = "CONTINUE"
	}
	if action != "CONTINUE" && action != "ROLLBACK" {
		return fmt.Errorf("action %q: want CONTINUE or ROLLBACK", action)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.status != StatusInProgress {
		return fmt.Errorf("deployment %s is %s: %w", d.ID, d.status, ErrHookNotWaiting)
	}
	for _, p := range d.pauses {
		if p.HookID == hookID && p.Status == "AWAITING_ACTION" {
			p.Status = map[string]string{"CONTINUE": "SUCCEEDED", "ROLLBACK": "FAILED"}[action]
			p.action <- action
			return nil
		}
	}
	return fmt.Errorf("hook %s: %w", hookID, ErrHookNotWaiting)
}

// Pauses returns the deployment's PAUSE hook runs so far.
func (d *Deployment) Pauses() []Pause {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Pause, 0, len(d.pauses))
	for _, p := range d.pauses {
		out = append(out, Pause{HookID: p.HookID, Hook: p.Hook, Stage: p.Stage, Status: p.Status, ExpiresAt: p.ExpiresAt, TimeoutAction: p.TimeoutAction})
	}
	return out
}

// pauseEvent is the EventBridge event ECS emits for p.
func pauseEvent(s *Simulator, d *Deployment, p *Pause) []byte {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": randomUUID(), "detail-type": hook.PauseEventDetailType, "source": hook.PauseEventSource,
		"account": s.Service.Account, "region": s.Service.Region, "time": s.Clock.Now().UTC().Format(time.RFC3339),
		"resources": []string{s.Service.ARN(), d.ARN},
		"detail": map[string]any{"eventName": hook.HookAwaitingAction, "serviceDeploymentArn": d.ARN, "hookId": p.HookID,
			"lifecycleStage": string(p.Stage)},
	})
	return b
}
