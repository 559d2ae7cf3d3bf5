// Package wiringtest holds the stand-ins the composed functions' tests
// share: ECS with one PAUSE hook, and SNS as a record of what was sent.
package wiringtest

import (
	"context"
	"fmt"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
)

// PauseHookID is OnePause's hook.
const PauseHookID = "hook-1"

// OnePause is ECS with one PAUSE hook, PauseHookID at
// POST_TEST_TRAFFIC_SHIFT, awaiting action until continued.
type OnePause struct {
	mu sync.Mutex
	// calls are the continues, "hookID action".
	calls []string
}

// Awaiting implements approval.Pauses.
func (p *OnePause) Awaiting(ctx context.Context, arn, hookID string) ([]approval.Paused, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) > 0 || hookID != "" && hookID != PauseHookID {
		return nil, nil
	}
	return []approval.Paused{{HookID: PauseHookID, Stage: hook.StagePostTestTrafficShift, ServiceARN: "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"}}, nil
}

// State implements approval.Pauses: awaiting action until continued.
func (p *OnePause) State(ctx context.Context, arn, hookID string) (approval.HookState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) > 0 {
		return approval.HookState{Deployment: "IN_PROGRESS", Status: approval.HookSucceeded}, nil
	}
	return approval.HookState{Deployment: "IN_PROGRESS", Status: approval.HookAwaiting}, nil
}

// Continue implements approval.Pauses, and records the call.
func (p *OnePause) Continue(ctx context.Context, arn, hookID, action string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, hookID+" "+action)
	return nil
}

// Calls returns the continues so far, "hookID action".
func (p *OnePause) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// Published records what SNS would send.
type Published struct {
	mu   sync.Mutex
	msgs []notify.Message
}

// Publish implements the notifier.
func (p *Published) Publish(ctx context.Context, m notify.Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, m)
	return fmt.Sprint(len(p.msgs)), nil
}

// Messages returns what was sent so far.
func (p *Published) Messages() []notify.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]notify.Message(nil), p.msgs...)
}
