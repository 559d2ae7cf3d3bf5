package approvalparts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/elbv2"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

func TestChanges(t *testing.T) {
	started := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		d    ecsdeploy.Deployment
		want approval.Change
	}{
		{
			name: "blue to green",
			d: ecsdeploy.Deployment{
				StartedAt: &started,
				Sources: []ecsdeploy.Revision{{ARN: "rev-blue", TaskDefinition: "arn:aws:ecs:us-west-2:123456789012:task-definition/orders:41",
					Images: []ecsdeploy.Image{{Container: "web", Image: "orders:1.4.0"}}}},
				Target: ecsdeploy.Revision{TaskDefinition: "arn:aws:ecs:us-west-2:123456789012:task-definition/orders:42",
					Images: []ecsdeploy.Image{{Container: "web", Image: "orders:1.5.0"}}},
				// A PAUSE hook has no function.
				Hooks: []ecsdeploy.Hook{{TargetARN: "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-smoke-hook", Status: "IN_PROGRESS", TimeoutAction: "CONTINUE"},
					{TargetARN: "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-approval-hook", TimeoutAction: "ROLLBACK"}, {Status: "AWAITING_ACTION"}},
			},
			want: approval.Change{
				Known: true, StartedAt: &started,
				SourceTaskDefinitions: []string{"orders:41"}, SourceImages: []approval.Image{{Container: "web", Image: "orders:1.4.0"}},
				TargetTaskDefinition: "orders:42", TargetImages: []approval.Image{{Container: "web", Image: "orders:1.5.0"}},
				Hooks:             []string{"arn:aws:lambda:us-west-2:123456789012:function:gatehouse-smoke-hook", "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-approval-hook"},
				ContinueOnTimeout: []string{"arn:aws:lambda:us-west-2:123456789012:function:gatehouse-smoke-hook"},
			},
		},
		{
			name: "first deployment",
			d:    ecsdeploy.Deployment{Target: ecsdeploy.Revision{TaskDefinition: "orders:1"}},
			want: approval.Change{Known: true, FirstDeployment: true, TargetTaskDefinition: "orders:1"},
		},
		{
			name: "scaled to zero is not first",
			d:    ecsdeploy.Deployment{Earlier: true, Target: ecsdeploy.Revision{TaskDefinition: "orders:7"}},
			want: approval.Change{Known: true, TargetTaskDefinition: "orders:7"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ecs := &ecsdeploy.Memory{}
			tt.d.ARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/orders/x"
			ecs.Put(tt.d)
			got, err := changes{ecs: ecs}.Describe(context.Background(), tt.d.ARN)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Describe (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := (changes{ecs: &ecsdeploy.Memory{}}).Describe(context.Background(), "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/orders/y"); !errors.Is(err, ecsdeploy.ErrNotFound) {
		t.Errorf("Describe(unknown) = %v, want ErrNotFound", err)
	}
}

// taskDefs answers DescribeTaskDefinition from task definitions by name,
// or fails.
type taskDefs struct {
	defs map[string]ecstypes.TaskDefinition
	err  error
}

func (f taskDefs) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	td, ok := f.defs[aws.ToString(in.TaskDefinition)]
	if !ok {
		return nil, fmt.Errorf("no %s", aws.ToString(in.TaskDefinition))
	}
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &td}, nil
}

// TestChangesDiffAndTryIt: what the gate is told besides the revisions:
// the diff of blue's and green's task definitions, and where green can be
// tried (the test listener, its header); ECS or ELBv2 unable to say is
// said in one line, never guessed.
func TestChangesDiffAndTryIt(t *testing.T) {
	const blueTD, greenTD = "arn:aws:ecs:us-west-2:123456789012:task-definition/orders:41", "arn:aws:ecs:us-west-2:123456789012:task-definition/orders:42"
	d := ecsdeploy.Deployment{ARN: "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/orders/x",
		Sources: []ecsdeploy.Revision{{ARN: "rev-blue", TaskDefinition: blueTD, Placement: "FARGATE"}},
		Target:  ecsdeploy.Revision{ARN: "rev-green", TaskDefinition: greenTD, Placement: "FARGATE_SPOT:1"}}
	deployments := &ecsdeploy.Memory{}
	deployments.Put(d)
	def := func(arn, image, level string) ecstypes.TaskDefinition {
		return ecstypes.TaskDefinition{TaskDefinitionArn: aws.String(arn), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image),
			Environment: []ecstypes.KeyValuePair{{Name: aws.String("LOG_LEVEL"), Value: aws.String(level)}, {Name: aws.String("API_TOKEN"), Value: aws.String("s3cr3t-" + level)}}}}}
	}
	tds := taskDefs{defs: map[string]ecstypes.TaskDefinition{blueTD: def(blueTD, "orders:1.4.0", "info"), greenTD: def(greenTD, "orders:1.5.0", "debug")}}
	listeners := &elbv2.Memory{}
	listeners.Put("rev-green", &elbv2.TestListener{BaseURL: "http://internal-orders-1.us-west-2.elb.amazonaws.com:8080", RuleARN: "arn:rule",
		Headers: map[string]string{"x-amzn-ecs-bluegreen-test": "true", "X-Green-Token": "s3cr3t-header"}, Internal: true}, nil)
	got, err := changes{ecs: deployments, tds: tds, finder: listeners}.Describe(context.Background(), d.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if got.Diff == nil || got.Diff.Summary(5) != "4 changes: web image 1.4.0 → 1.5.0, API_TOKEN changed, LOG_LEVEL info → debug, placement FARGATE → FARGATE_SPOT:1" || got.DiffUnknown != "" {
		t.Errorf("diff %+v (%q)", got.Diff, got.DiffUnknown)
	}
	want := &approval.TryIt{URL: "http://internal-orders-1.us-west-2.elb.amazonaws.com:8080", Headers: map[string]string{"x-amzn-ecs-bluegreen-test": "true",
		"X-Green-Token": "(the value in the test listener rule)"}, Internal: true, Source: "test listener rule arn:rule"}
	if diff := cmp.Diff(want, got.Try); diff != "" || got.TryUnknown != "" {
		t.Errorf("try (-want +got):\n%s%s", diff, got.TryUnknown)
	}
	raw, _ := json.Marshal(got)
	if strings.Contains(string(raw), "s3cr3t") {
		t.Errorf("a secret-looking value is in what the gate stores:\n%s", raw)
	}

	listeners.Put("rev-green", nil, nil)
	got, err = changes{ecs: deployments, tds: taskDefs{err: errors.New("AccessDeniedException")}, finder: listeners}.Describe(context.Background(), d.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if got.Diff != nil || !strings.HasPrefix(got.DiffUnknown, "changes could not be read: ") || got.DiffAgain || got.Try != nil || got.TryUnknown != "the service's load balancer has no test listener rule" {
		t.Errorf("ECS refusing and ELBv2 finding nothing: diff %+v %q (again %v), try %+v %q", got.Diff, got.DiffUnknown, got.DiffAgain, got.Try, got.TryUnknown)
	}
	got, _ = changes{ecs: deployments, tds: taskDefs{err: hook.Transient(errors.New("ThrottlingException"))}}.Describe(context.Background(), d.ARN)
	if got.Diff != nil || !got.DiffAgain {
		t.Errorf("ECS throttling: diff %+v, again %v; want it asked again later", got.Diff, got.DiffAgain)
	}
}
