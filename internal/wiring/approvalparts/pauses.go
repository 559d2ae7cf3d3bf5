package approvalparts

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// PausesAPI is what ECSPauses calls: the reader's describes and
// ContinueServiceDeployment. *ecs.Client satisfies it.
type PausesAPI interface {
	ecsdeploy.API
	ecsdeploy.ContinueAPI
}

// ECSPauses reads and ends PAUSE hooks' waits in ECS, for the gate.
type ECSPauses struct{ API PausesAPI }

// Awaiting implements approval.PauseHooks: the PAUSE hooks of an
// in-progress deployment that await action (hookID's, or all).
func (p ECSPauses) Awaiting(ctx context.Context, deploymentARN, hookID string) ([]approval.Paused, error) {
	d, err := ecsdeploy.New(p.API).Describe(ctx, deploymentARN)
	if errors.Is(err, ecsdeploy.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.Status != "IN_PROGRESS" {
		return nil, nil
	}
	var out []approval.Paused
	for _, h := range d.Hooks {
		if h.TargetType == ecsdeploy.TargetPause && h.Status == ecsdeploy.AwaitingAction && h.HookID != "" && (hookID == "" || h.HookID == hookID) {
			out = append(out, approval.Paused{HookID: h.HookID, Stage: hook.Stage(d.Stage), ServiceARN: d.ServiceARN, TargetRevisionARN: d.Target.ARN,
				ExpiresAt: h.ExpiresAt, TimeoutAction: h.TimeoutAction})
		}
	}
	return out, nil
}

// State implements approval.PauseHooks: the hook's status as ECS lists it
// among the deployment's (empty when it no longer does), and the
// deployment's; an unknown deployment has none.
func (p ECSPauses) State(ctx context.Context, deploymentARN, hookID string) (approval.HookState, error) {
	d, err := ecsdeploy.New(p.API).Hooks(ctx, deploymentARN)
	if errors.Is(err, ecsdeploy.ErrNotFound) {
		return approval.HookState{}, nil
	}
	if err != nil {
		return approval.HookState{}, err
	}
	st := approval.HookState{Deployment: d.Status}
	for _, h := range d.Hooks {
		if h.HookID == hookID {
			st.Status = h.Status
		}
	}
	return st, nil
}

// Continue implements approval.PauseHooks. ECS does not document how it
// refuses a hook that no longer waits, so after a refusal the deployment
// is described again (DescribeServiceDeployments alone): if the hook no
// longer awaits action, the error says so (approval.ErrHookNotWaiting);
// otherwise it is ECS's, to retry.
func (p ECSPauses) Continue(ctx context.Context, deploymentARN, hookID, action string) error {
	err := ecsdeploy.Continue(ctx, p.API, deploymentARN, hookID, action)
	if err == nil || hook.IsTransient(err) {
		return err
	}
	if st, serr := p.State(ctx, deploymentARN, hookID); serr == nil && !st.Waiting() {
		return fmt.Errorf("%w: %w", approval.ErrHookNotWaiting, err)
	}
	return err
}
