package ecsdeploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ContinueAPI is the ECS call that ends a PAUSE hook's wait.
type ContinueAPI interface {
	ContinueServiceDeployment(ctx context.Context, params *ecs.ContinueServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error)
}

// Continue ends the wait of the PAUSE hook hookID of the deployment with
// action, ActionContinue or ActionRollback. The action is always sent: ECS
// takes an omitted one for CONTINUE. An error is the API's, for the
// caller to classify (transient, or the hook no longer waits).
func Continue(ctx context.Context, api ContinueAPI, deploymentARN, hookID, action string) error {
	if action != ActionContinue && action != ActionRollback {
		return fmt.Errorf("continue service deployment: action %q, want %s or %s", action, ActionContinue, ActionRollback)
	}
	if deploymentARN == "" || hookID == "" {
		return fmt.Errorf("continue service deployment: the deployment ARN and the hook id are both required")
	}
	_, err := api.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(deploymentARN),
		HookId:               aws.String(hookID),
		Action:               ecstypes.DeploymentLifecycleHookAction(action),
	})
	if err != nil {
		return fmt.Errorf("continue service deployment (%s): %w", action, err)
	}
	return nil
}

// AwaitingPause returns the PAUSE hook hookID of d while it awaits action.
func (d Deployment) AwaitingPause(hookID string) (Hook, bool) {
	for _, h := range d.Hooks {
		if h.HookID == hookID && h.TargetType == TargetPause && h.Status == AwaitingAction {
			return h, true
		}
	}
	return Hook{}, false
}
