package simulator

// PAUSE hooks: ECS waits, someone else decides (ECS-HOOKS.md, section 7).

import (
	"context"
	"crypto/rand"
	"encoding/base64"
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

// runPause waits at stage for the PAUSE hook h to be continued, at most
// its timeout (14 days at most) and the stage's limit.
func (s *Simulator) runPause(ctx context.Context, d *Deployment, stage hook.Stage, h Hook, rollback bool, lim limit) error {
	if rollback {
		// PAUSE hooks sit at no stage ECS re-runs to roll back.
		return nil
	}
	timeout := h.Timeout
	if timeout == 0 {
		timeout = hook.DefaultTimeout
	}
	timeout = min(timeout, hook.MaxPauseTimeout)
	onTimeout := h.OnTimeout
	if onTimeout == "" {
		onTimeout = "ROLLBACK"
	}
	// Each run has its own hookId, a later step's too (ECS-HOOKS.md,
	// section 7).
	p := &Pause{HookID: pauseHookID(), Hook: h.Name, Stage: stage, Status: "AWAITING_ACTION",
		ExpiresAt: s.Clock.Now().Add(timeout), TimeoutAction: onTimeout, action: make(chan string, 1)}
	d.set(func(d *Deployment) { d.pauses = append(d.pauses, p) })
	s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "AWAITING_ACTION", Reason: "hook " + p.HookID})
	s.hookEvent(d, p, HookAwaitingAction)
	stop, limited := bounded(p.ExpiresAt, lim)
	for {
		select {
		case action := <-p.action:
			if action == "ROLLBACK" {
				s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "FAILED", Reason: "ContinueServiceDeployment: ROLLBACK"})
				s.hookEvent(d, p, HookFailed)
				return fmt.Errorf("hook %s at %s: continued with ROLLBACK", h.Name, stage)
			}
			s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "SUCCEEDED", Reason: "ContinueServiceDeployment: CONTINUE"})
			s.hookEvent(d, p, HookSucceeded)
			return nil
		case <-d.requested():
			return errRollbackRequested
		default:
		}
		left := stop.Sub(s.Clock.Now())
		if left <= 0 && limited {
			d.set(func(*Deployment) { p.Status = "TIMED_OUT" })
			s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "TIMED_OUT", Reason: lim.why})
			s.hookEvent(d, p, HookTimedOut)
			return fmt.Errorf("hook %s at %s: %s", h.Name, stage, lim.why)
		}
		if left <= 0 {
			d.set(func(*Deployment) { p.Status = "TIMED_OUT" })
			s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "TIMED_OUT", Reason: "action " + onTimeout})
			s.hookEvent(d, p, HookTimedOut)
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

// The names of "ECS Hook State Change" events, as ECS emits them.
const (
	HookAwaitingAction = hook.HookAwaitingAction
	HookSucceeded      = hook.HookSucceeded
	HookFailed         = hook.HookFailed
	HookTimedOut       = hook.HookTimedOut
)

// hookEvent sends EventBridge the event name of p, when someone listens
// (twice when DeliverTwice is set, as EventBridge may).
func (s *Simulator) hookEvent(d *Deployment, p *Pause, name string) {
	if s.OnPause == nil {
		return
	}
	ev := pauseEvent(s, d, p, name)
	s.OnPause(d, ev)
	if s.DeliverTwice {
		s.OnPause(d, ev)
	}
}

// pauseHookID makes a hookId shaped as in ECS's documentation: ecs-pause-
// and 43 base64url characters.
func pauseHookID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "ecs-pause-" + base64.RawURLEncoding.EncodeToString(b)
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

// pauseEvent is the EventBridge event ECS emits for p, in the shape its
// documentation gives ("Amazon ECS hook state change events").
func pauseEvent(s *Simulator, d *Deployment, p *Pause, name string) []byte {
	now := s.Clock.Now().UTC().Format(time.RFC3339)
	svc := s.Service
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": randomUUID(), "detail-type": hook.PauseEventDetailType, "source": hook.PauseEventSource,
		"account": svc.Account, "region": svc.Region, "time": now,
		"resources": []string{d.ARN},
		"detail": map[string]any{"eventType": "INFO", "eventName": name, "hookId": p.HookID, "hookType": "PAUSE",
			"lifecycleStage": string(p.Stage), "clusterArn": fmt.Sprintf("arn:%s:ecs:%s:%s:cluster/%s", svc.Partition, svc.Region, svc.Account, svc.Cluster),
			"serviceArn": svc.ARN(), "serviceDeploymentArn": d.ARN, "expiresAt": p.ExpiresAt.UTC().Format(time.RFC3339), "updatedAt": now},
	})
	return b
}
