package approvalparts

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

const pauseDep = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/abc"

// pausedECS answers as ECS would for a deployment with one PAUSE hook,
// awaiting action until continued.
func pausedECS(t *testing.T, continueErr error) (*ecs.Client, *[]string) {
	t.Helper()
	status := ecstypes.DeploymentLifecycleHookStatus("AWAITING_ACTION")
	var calls []string
	expires := time.Date(2026, 12, 9, 9, 0, 0, 0, time.UTC)
	return ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
			calls = append(calls, fmt.Sprintf("%T", p))
			switch in := p.(type) {
			case *ecs.DescribeServiceDeploymentsInput:
				return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{{
					ServiceDeploymentArn: aws.String(pauseDep), Status: ecstypes.ServiceDeploymentStatusInProgress,
					LifecycleStage:         ecstypes.ServiceDeploymentLifecycleStagePostTestTrafficShift,
					ServiceArn:             aws.String("arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"),
					SourceServiceRevisions: []ecstypes.ServiceRevisionSummary{{Arn: aws.String("blue")}},
					TargetServiceRevision:  &ecstypes.ServiceRevisionSummary{Arn: aws.String("green")},
					LifecycleHookDetails: []ecstypes.DeploymentLifecycleHookDetail{
						{HookId: aws.String("pause-1"), TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, Status: status, ExpiresAt: &expires,
							TimeoutAction: ecstypes.DeploymentLifecycleHookActionContinue},
						{TargetArn: aws.String("arn:aws:lambda:us-west-2:123456789012:function:gatehouse-smoke-hook"), Status: "IN_PROGRESS"},
					},
				}}}, nil
			case *ecs.DescribeServiceRevisionsInput:
				return &ecs.DescribeServiceRevisionsOutput{}, nil
			case *ecs.ContinueServiceDeploymentInput:
				calls[len(calls)-1] = aws.ToString(in.HookId) + " " + string(in.Action)
				if continueErr != nil {
					if errors.Is(continueErr, errGone) {
						status = "SUCCEEDED"
					}
					return nil, continueErr
				}
				status = "SUCCEEDED"
				return &ecs.ContinueServiceDeploymentOutput{}, nil
			}
			return nil, nil
		})}}), &calls
}

var errGone = &smithy.GenericAPIError{Code: "InvalidParameterException", Message: "the hook is not awaiting action"}

func TestECSPauses(t *testing.T) {
	c, calls := pausedECS(t, nil)
	p := ECSPauses{API: c}
	got, err := p.Awaiting(context.Background(), pauseDep, "pause-1")
	// The timeout action is read: a CONTINUE one is refused by the gate.
	if err != nil || len(got) != 1 || got[0].Stage != hook.StagePostTestTrafficShift || got[0].TargetRevisionARN != "green" || got[0].ExpiresAt == nil || got[0].TimeoutAction != "CONTINUE" {
		t.Fatalf("Awaiting = %+v, %v", got, err)
	}
	if all, _ := p.Awaiting(context.Background(), pauseDep, ""); len(all) != 1 {
		t.Errorf("Awaiting(any) = %+v, want the one PAUSE hook", all)
	}
	if none, _ := p.Awaiting(context.Background(), pauseDep, "forged"); len(none) != 0 {
		t.Errorf("Awaiting(forged) = %+v", none)
	}
	if st, err := p.State(context.Background(), pauseDep, "pause-1"); err != nil || st != (approval.HookState{Deployment: "IN_PROGRESS", Status: "AWAITING_ACTION"}) {
		t.Errorf("State = %+v, %v", st, err)
	}
	*calls = nil
	if err := p.Continue(context.Background(), pauseDep, "pause-1", "CONTINUE"); err != nil || len(*calls) != 1 || (*calls)[0] != "pause-1 CONTINUE" {
		t.Errorf("Continue = %v, calls %v", err, *calls)
	}
	if st, _ := p.State(context.Background(), pauseDep, "pause-1"); st.Waiting() || st.Status != "SUCCEEDED" {
		t.Errorf("State after the continue = %+v", st)
	}
	if st, _ := p.State(context.Background(), pauseDep, "forged"); st.Waiting() || st.Status != "" {
		t.Errorf("State of a hook ECS does not list = %+v", st)
	}
	// Refused, and the hook no longer waits: said so, having asked ECS with
	// what the review API may call (DescribeServiceDeployments) alone.
	g, gcalls := pausedECS(t, errGone)
	if err := (ECSPauses{API: g}).Continue(context.Background(), pauseDep, "pause-1", "ROLLBACK"); !errors.Is(err, approval.ErrHookNotWaiting) {
		t.Errorf("Continue on a hook that no longer waits = %v, want ErrHookNotWaiting", err)
	}
	if fmt.Sprint(*gcalls) != "[pause-1 ROLLBACK *ecs.DescribeServiceDeploymentsInput]" {
		t.Errorf("calls %v, want the continue and one DescribeServiceDeployments", *gcalls)
	}
	// Refused, yet the hook still waits (denied): ECS's error, to retry.
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}
	d, _ := pausedECS(t, denied)
	if err := (ECSPauses{API: d}).Continue(context.Background(), pauseDep, "pause-1", "CONTINUE"); err == nil || errors.Is(err, approval.ErrHookNotWaiting) {
		t.Errorf("Continue denied = %v, want the error, not 'no longer waits'", err)
	}
}
