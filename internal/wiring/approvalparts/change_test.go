package approvalparts

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
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
			got, err := changes{ecs}.Describe(context.Background(), tt.d.ARN)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Describe (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := (changes{&ecsdeploy.Memory{}}).Describe(context.Background(), "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/orders/y"); !errors.Is(err, ecsdeploy.ErrNotFound) {
		t.Errorf("Describe(unknown) = %v, want ErrNotFound", err)
	}
}
