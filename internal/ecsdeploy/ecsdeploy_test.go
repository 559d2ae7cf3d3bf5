package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/google/go-cmp/cmp"
)

// stubECS returns a real *ecs.Client whose calls are answered at the SDK's
// Initialize step by answer: no network, but the SDK's own input handling.
func stubECS(t *testing.T, answer func(params any) (any, error)) *ecs.Client {
	t.Helper()
	return ecs.New(ecs.Options{
		Region:      "us-west-2",
		Credentials: aws.AnonymousCredentials{},
		APIOptions:  []func(*middleware.Stack) error{awstest.Answer(answer)},
	})
}

const (
	depARN   = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"
	blueARN  = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/1"
	greenARN = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/2"
)

func TestDescribe(t *testing.T) {
	started := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	var revisionsAsked []string
	c := stubECS(t, func(p any) (any, error) {
		switch in := p.(type) {
		case *ecs.DescribeServiceDeploymentsInput:
			if len(in.ServiceDeploymentArns) != 1 || in.ServiceDeploymentArns[0] != depARN {
				t.Errorf("asked for deployments %v", in.ServiceDeploymentArns)
			}
			return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{{
				ServiceDeploymentArn:   aws.String(depARN),
				Status:                 ecstypes.ServiceDeploymentStatusInProgress,
				StartedAt:              &started,
				SourceServiceRevisions: []ecstypes.ServiceRevisionSummary{{Arn: aws.String(blueARN)}},
				TargetServiceRevision:  &ecstypes.ServiceRevisionSummary{Arn: aws.String(greenARN)},
				LifecycleHookDetails: []ecstypes.DeploymentLifecycleHookDetail{
					{TargetArn: aws.String("arn:aws:lambda:us-west-2:123456789012:function:gatehouse-smoke"), Status: "IN_PROGRESS"},
				},
			}}}, nil
		case *ecs.DescribeServiceRevisionsInput:
			revisionsAsked = in.ServiceRevisionArns
			return &ecs.DescribeServiceRevisionsOutput{ServiceRevisions: []ecstypes.ServiceRevision{
				{ServiceRevisionArn: aws.String(blueARN), TaskDefinition: aws.String("arn:aws:ecs:us-west-2:123456789012:task-definition/orders:41"),
					ContainerImages: []ecstypes.ContainerImage{{ContainerName: aws.String("web"), Image: aws.String("orders:2.4.0"), ImageDigest: aws.String("sha256:aaa")}}},
				{ServiceRevisionArn: aws.String(greenARN), TaskDefinition: aws.String("arn:aws:ecs:us-west-2:123456789012:task-definition/orders:42"),
					ContainerImages: []ecstypes.ContainerImage{{ContainerName: aws.String("web"), Image: aws.String("repo/orders@sha256:bbb"), ImageDigest: aws.String("sha256:bbb")}}},
			}}, nil
		}
		t.Fatalf("unexpected call %T", p)
		return nil, nil
	})
	got, err := New(c).Describe(context.Background(), depARN)
	if err != nil {
		t.Fatal(err)
	}
	want := Deployment{
		ARN:       depARN,
		Status:    "IN_PROGRESS",
		StartedAt: &started,
		Sources: []Revision{{ARN: blueARN, TaskDefinition: "arn:aws:ecs:us-west-2:123456789012:task-definition/orders:41",
			Images: []Image{{Container: "web", Image: "orders:2.4.0@sha256:aaa"}}}},
		Target: Revision{ARN: greenARN, TaskDefinition: "arn:aws:ecs:us-west-2:123456789012:task-definition/orders:42",
			Images: []Image{{Container: "web", Image: "repo/orders@sha256:bbb"}}},
		Hooks: []Hook{{TargetARN: "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-smoke", Status: "IN_PROGRESS"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{blueARN, greenARN}, revisionsAsked); diff != "" {
		t.Errorf("revisions asked (-want +got):\n%s", diff)
	}
	if got.Terminal() {
		t.Error("Terminal() = true for IN_PROGRESS")
	}
}

func TestDescribeErrors(t *testing.T) {
	c := stubECS(t, func(p any) (any, error) { return &ecs.DescribeServiceDeploymentsOutput{}, nil })
	if _, err := New(c).Describe(context.Background(), depARN); !errors.Is(err, ErrNotFound) {
		t.Errorf("Describe(unknown) = %v, want ErrNotFound", err)
	}
	boom := errors.New("access denied")
	c = stubECS(t, func(p any) (any, error) { return nil, boom })
	if _, err := New(c).Describe(context.Background(), depARN); !errors.Is(err, boom) {
		t.Errorf("Describe = %v, want the API error wrapped", err)
	}
}

func TestTerminal(t *testing.T) {
	for status, want := range map[string]bool{"SUCCESSFUL": true, "STOPPED": true, "ROLLBACK_SUCCESSFUL": true, "ROLLBACK_FAILED": true,
		"IN_PROGRESS": false, "ROLLBACK_IN_PROGRESS": false, "PENDING": false} {
		if got := (Deployment{Status: status}).Terminal(); got != want {
			t.Errorf("Terminal(%s) = %v, want %v", status, got, want)
		}
	}
}

func TestFirstDeployment(t *testing.T) {
	for _, tt := range []struct {
		name    string
		listed  []string
		listErr error
		want    bool
		wantErr bool
	}{
		{"only this deployment", []string{depARN}, nil, true, false},
		{"an earlier one exists", []string{depARN, "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/older"}, nil, false, false},
		{"cannot list", nil, errors.New("access denied"), false, true},
	} {
		c := stubECS(t, func(p any) (any, error) {
			switch p.(type) {
			case *ecs.DescribeServiceDeploymentsInput:
				return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{{
					ServiceDeploymentArn:  aws.String(depARN),
					ServiceArn:            aws.String("arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"),
					TargetServiceRevision: &ecstypes.ServiceRevisionSummary{Arn: aws.String(greenARN)},
				}}}, nil
			case *ecs.DescribeServiceRevisionsInput:
				return &ecs.DescribeServiceRevisionsOutput{}, nil
			case *ecs.ListServiceDeploymentsInput:
				if tt.listErr != nil {
					return nil, tt.listErr
				}
				var out []ecstypes.ServiceDeploymentBrief
				for _, a := range tt.listed {
					out = append(out, ecstypes.ServiceDeploymentBrief{ServiceDeploymentArn: aws.String(a)})
				}
				return &ecs.ListServiceDeploymentsOutput{ServiceDeployments: out}, nil
			}
			return nil, fmt.Errorf("unexpected %T", p)
		})
		d, err := New(c).Describe(context.Background(), depARN)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if err == nil && d.First() != tt.want {
			t.Errorf("%s: First() = %v, want %v", tt.name, d.First(), tt.want)
		}
	}
}

func TestStatus(t *testing.T) {
	c := stubECS(t, func(p any) (any, error) {
		in, ok := p.(*ecs.DescribeServiceDeploymentsInput)
		if !ok || len(in.ServiceDeploymentArns) != 1 || in.ServiceDeploymentArns[0] != depARN {
			return nil, fmt.Errorf("unexpected call %T %+v", p, p)
		}
		return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{{
			ServiceDeploymentArn: aws.String(depARN), Status: ecstypes.ServiceDeploymentStatusRollbackSuccessful}}}, nil
	})
	if s, err := New(c).Status(context.Background(), depARN); err != nil || s != "ROLLBACK_SUCCESSFUL" {
		t.Errorf("Status = %q, %v, want ROLLBACK_SUCCESSFUL", s, err)
	}
	c = stubECS(t, func(p any) (any, error) { return &ecs.DescribeServiceDeploymentsOutput{}, nil })
	if _, err := New(c).Status(context.Background(), depARN); !errors.Is(err, ErrNotFound) {
		t.Errorf("Status(unknown) = %v, want ErrNotFound", err)
	}
}

func TestOver(t *testing.T) {
	for status, want := range map[string]bool{"PENDING": false, "IN_PROGRESS": false, "SUCCESSFUL": true, "STOPPED": true, "STOP_REQUESTED": true,
		"ROLLBACK_REQUESTED": true, "ROLLBACK_IN_PROGRESS": true, "ROLLBACK_SUCCESSFUL": true, "ROLLBACK_FAILED": true, "": false, "PAUSED": false} {
		if got := Over(status); got != want {
			t.Errorf("Over(%q) = %v, want %v", status, got, want)
		}
	}
}
