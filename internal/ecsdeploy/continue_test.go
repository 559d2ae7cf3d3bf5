package ecsdeploy

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestContinue sends the action explicitly (an omitted one means
// CONTINUE) and refuses an action or arguments ECS would misread.
func TestContinue(t *testing.T) {
	var got []*ecs.ContinueServiceDeploymentInput
	c := stubECS(t, func(p any) (any, error) {
		got = append(got, p.(*ecs.ContinueServiceDeploymentInput))
		return &ecs.ContinueServiceDeploymentOutput{}, nil
	})
	for _, action := range []string{ActionContinue, ActionRollback} {
		if err := Continue(context.Background(), c, depARN, "hook-1", action); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0].Action != ecstypes.DeploymentLifecycleHookActionContinue || got[1].Action != ecstypes.DeploymentLifecycleHookActionRollback ||
		aws.ToString(got[1].HookId) != "hook-1" || aws.ToString(got[1].ServiceDeploymentArn) != depARN {
		t.Errorf("calls %+v", got)
	}
	for _, bad := range [][3]string{{depARN, "hook-1", ""}, {depARN, "hook-1", "continue"}, {"", "hook-1", ActionContinue}, {depARN, "", ActionRollback}} {
		if err := Continue(context.Background(), c, bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("Continue(%q) = nil error", bad)
		}
	}
	if len(got) != 2 {
		t.Errorf("%d calls, want none for the refused ones", len(got)-2)
	}
}

// TestPauseHookDescribed: a PAUSE hook's id, type and expiry come through
// Describe, and AwaitingPause finds it while it awaits action.
func TestPauseHookDescribed(t *testing.T) {
	expires := time.Date(2026, 12, 9, 9, 0, 0, 0, time.UTC)
	c := stubECS(t, func(p any) (any, error) {
		switch p.(type) {
		case *ecs.DescribeServiceDeploymentsInput:
			return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{{
				ServiceDeploymentArn: aws.String(depARN), Status: ecstypes.ServiceDeploymentStatusInProgress,
				SourceServiceRevisions: []ecstypes.ServiceRevisionSummary{{Arn: aws.String(blueARN)}},
				LifecycleHookDetails: []ecstypes.DeploymentLifecycleHookDetail{
					{HookId: aws.String("pause-1"), TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, Status: "AWAITING_ACTION", ExpiresAt: &expires, TimeoutAction: "ROLLBACK"},
				},
			}}}, nil
		case *ecs.DescribeServiceRevisionsInput:
			return &ecs.DescribeServiceRevisionsOutput{}, nil
		}
		return nil, nil
	})
	d, err := New(c).Describe(context.Background(), depARN)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := d.AwaitingPause("pause-1")
	if !ok || h.ExpiresAt == nil || !h.ExpiresAt.Equal(expires) || h.TimeoutAction != ActionRollback {
		t.Errorf("AwaitingPause = %+v, %v", h, ok)
	}
	if _, ok := d.AwaitingPause("pause-2"); ok {
		t.Error("AwaitingPause found a hook ECS does not list")
	}
}
