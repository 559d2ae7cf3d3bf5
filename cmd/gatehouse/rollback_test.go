package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
)

// fakeECS answers the rollback's ECS calls at the SDK's middleware: the
// deployment starts in start, and a StopServiceDeployment moves it to
// ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL two describes later.
type fakeECS struct {
	mu        sync.Mutex
	status    ecstypes.ServiceDeploymentStatus
	stops     []ecs.StopServiceDeploymentInput
	afterStop int
}

func (f *fakeECS) client() *ecs.Client {
	return ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			switch in := p.(type) {
			case *ecs.DescribeServiceDeploymentsInput:
				if len(f.stops) > 0 {
					f.afterStop++
					if f.afterStop >= 2 {
						f.status = ecstypes.ServiceDeploymentStatusRollbackSuccessful
					}
				}
				return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{{ServiceDeploymentArn: aws.String(in.ServiceDeploymentArns[0]), Status: f.status}}}, nil
			case *ecs.StopServiceDeploymentInput:
				f.stops = append(f.stops, *in)
				f.status = ecstypes.ServiceDeploymentStatusRollbackInProgress
				return &ecs.StopServiceDeploymentOutput{ServiceDeploymentArn: in.ServiceDeploymentArn}, nil
			case *ecs.ListServiceDeploymentsInput:
				return &ecs.ListServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeploymentBrief{{ServiceDeploymentArn: aws.String(rollbackARN)}}}, nil
			}
			return nil, fmt.Errorf("unexpected ECS call %T", p)
		})}})
}

const rollbackARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/rb1"

func TestRollback(t *testing.T) {
	oldECS, oldStdin, oldPoll := newECS, stdin, rollbackPoll
	t.Cleanup(func() { newECS, stdin, rollbackPoll = oldECS, oldStdin, oldPoll })
	rollbackPoll = time.Millisecond
	fakeCredentials(t)
	e := env(nil)
	tests := []struct {
		name      string
		args      []string
		input     string
		start     ecstypes.ServiceDeploymentStatus
		code      int
		want      string
		wantStops int
	}{
		{"confirmed with --yes", []string{rollbackARN, "--yes"}, "", ecstypes.ServiceDeploymentStatusInProgress, 0, "production is back on the previous revision: ROLLBACK_SUCCESSFUL", 1},
		{"confirmed at the prompt", []string{rollbackARN}, "yes\n", ecstypes.ServiceDeploymentStatusInProgress, 0, "Type yes to go on", 1},
		{"not confirmed", []string{rollbackARN}, "no\n", ecstypes.ServiceDeploymentStatusInProgress, 1, "not confirmed: nothing was done", 0},
		{"no answer", []string{rollbackARN}, "", ecstypes.ServiceDeploymentStatusInProgress, 1, "not confirmed", 0},
		{"a finished deployment", []string{rollbackARN, "--yes"}, "", ecstypes.ServiceDeploymentStatusSuccessful, 1, "is SUCCESSFUL: there is nothing to roll back", 0},
		{"by service", []string{"arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders", "--yes"}, "", ecstypes.ServiceDeploymentStatusInProgress, 0, "rollback requested", 1},
		{"without waiting", []string{rollbackARN, "--yes", "--wait", "0"}, "", ecstypes.ServiceDeploymentStatusInProgress, 0, "rollback requested at", 1},
		{"not an ARN", []string{"orders", "--yes"}, "", ecstypes.ServiceDeploymentStatusInProgress, 2, "neither a service-deployment ARN nor a service ARN", 0},
		{"no ARN", []string{"--yes"}, "", ecstypes.ServiceDeploymentStatusInProgress, 2, "usage: gatehouse rollback", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeECS{status: tt.start}
			newECS = func(aws.Config, func(string) string) deploymentsAPI { return f.client() }
			stdin = strings.NewReader(tt.input)
			code, out, errOut := gatehouse(t, e, append([]string{"rollback"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("gatehouse rollback %q = %d, %q %q; want %d and %q", tt.args, code, out, errOut, tt.code, tt.want)
			}
			if len(f.stops) != tt.wantStops {
				t.Fatalf("StopServiceDeployment called %d times, want %d", len(f.stops), tt.wantStops)
			}
			for _, s := range f.stops {
				if aws.ToString(s.ServiceDeploymentArn) != rollbackARN || s.StopType != ecstypes.StopServiceDeploymentStopTypeRollback {
					t.Errorf("StopServiceDeployment(%s, %s), want %s and ROLLBACK", aws.ToString(s.ServiceDeploymentArn), s.StopType, rollbackARN)
				}
			}
		})
	}
}
