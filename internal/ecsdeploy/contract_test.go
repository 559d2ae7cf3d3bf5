package ecsdeploy

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// reader is what both implementations offer.
type reader interface {
	Status(ctx context.Context, deploymentARN string) (string, error)
	Describe(ctx context.Context, deploymentARN string) (Deployment, error)
}

// world is what ECS knows: deployments, and the earlier deployments of
// their services.
type world struct {
	deployments []Deployment
	service     map[string]string // deployment ARN → service ARN
}

// serve answers the Reader's ECS calls from w, in ECS's wire shapes.
func (w world) serve(t *testing.T) func(p any) (any, error) {
	find := func(arn string) (Deployment, bool) {
		i := slices.IndexFunc(w.deployments, func(d Deployment) bool { return d.ARN == arn })
		if i < 0 {
			return Deployment{}, false
		}
		return w.deployments[i], true
	}
	return func(p any) (any, error) {
		switch in := p.(type) {
		case *ecs.DescribeServiceDeploymentsInput:
			var out ecs.DescribeServiceDeploymentsOutput
			for _, arn := range in.ServiceDeploymentArns {
				d, ok := find(arn)
				if !ok {
					out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
					continue
				}
				sd := ecstypes.ServiceDeployment{ServiceDeploymentArn: aws.String(d.ARN), Status: ecstypes.ServiceDeploymentStatus(d.Status),
					LifecycleStage: ecstypes.ServiceDeploymentLifecycleStage(d.Stage),
					CreatedAt:      d.StartedAt, ServiceArn: aws.String(w.service[d.ARN]), ClusterArn: aws.String("arn:aws:ecs:us-west-2:123456789012:cluster/prod-cluster")}
				for _, s := range d.Sources {
					sd.SourceServiceRevisions = append(sd.SourceServiceRevisions, ecstypes.ServiceRevisionSummary{Arn: aws.String(s.ARN)})
				}
				sd.TargetServiceRevision = &ecstypes.ServiceRevisionSummary{Arn: aws.String(d.Target.ARN)}
				for _, h := range d.Hooks {
					sd.LifecycleHookDetails = append(sd.LifecycleHookDetails, ecstypes.DeploymentLifecycleHookDetail{TargetArn: aws.String(h.TargetARN), Status: ecstypes.DeploymentLifecycleHookStatus(h.Status),
						TimeoutAction: ecstypes.DeploymentLifecycleHookAction(h.TimeoutAction)})
				}
				out.ServiceDeployments = append(out.ServiceDeployments, sd)
			}
			return &out, nil
		case *ecs.DescribeServiceRevisionsInput:
			var out ecs.DescribeServiceRevisionsOutput
			for _, d := range w.deployments {
				for _, r := range append(slices.Clone(d.Sources), d.Target) {
					if !slices.Contains(in.ServiceRevisionArns, r.ARN) {
						continue
					}
					sr := ecstypes.ServiceRevision{ServiceRevisionArn: aws.String(r.ARN), TaskDefinition: aws.String(r.TaskDefinition)}
					for _, i := range r.Images {
						sr.ContainerImages = append(sr.ContainerImages, ecstypes.ContainerImage{ContainerName: aws.String(i.Container), Image: aws.String(i.Image)})
					}
					out.ServiceRevisions = append(out.ServiceRevisions, sr)
				}
			}
			return &out, nil
		case *ecs.ListServiceDeploymentsInput:
			var out ecs.ListServiceDeploymentsOutput
			for _, d := range w.deployments {
				if w.service[d.ARN] == aws.ToString(in.Service) && len(out.ServiceDeployments) < int(aws.ToInt32(in.MaxResults)) {
					out.ServiceDeployments = append(out.ServiceDeployments, ecstypes.ServiceDeploymentBrief{ServiceDeploymentArn: aws.String(d.ARN)})
				}
			}
			return &out, nil
		}
		t.Fatalf("unexpected call %T", p)
		return nil, nil
	}
}

// TestContract holds the Reader over ECS's API and its in-memory twin to
// the same answers for the same deployments.
func TestContract(t *testing.T) {
	started := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const (
		orders   = "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"
		billing  = "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/billing"
		scaled   = "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/batch"
		firstARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/billing/first"
		zeroARN  = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/batch/again"
		zeroOld  = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/batch/before"
	)
	rev := func(arn, td, image string) Revision {
		return Revision{ARN: arn, TaskDefinition: td, Images: []Image{{Container: "web", Image: image}}}
	}
	blueGreen := Deployment{ARN: depARN, Status: "IN_PROGRESS", StartedAt: &started, Stage: "POST_TEST_TRAFFIC_SHIFT", ServiceARN: orders,
		Sources: []Revision{rev(blueARN, "arn:aws:ecs:us-west-2:123456789012:task-definition/orders:41", "orders:2.4.0")},
		Target:  rev(greenARN, "arn:aws:ecs:us-west-2:123456789012:task-definition/orders:42", "orders:2.5.0"),
		Hooks:   []Hook{{TargetARN: "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-smoke", Status: "IN_PROGRESS", TimeoutAction: "CONTINUE"}}}
	first := Deployment{ARN: firstARN, Status: "IN_PROGRESS", StartedAt: &started, ServiceARN: billing,
		Target: rev("arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/billing/1", "billing:1", "billing:1.0.0")}
	// No revision runs, but the service was deployed before: not first.
	zero := Deployment{ARN: zeroARN, Status: "ROLLBACK_IN_PROGRESS", StartedAt: &started, Earlier: true, ServiceARN: scaled,
		Target: rev("arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/batch/3", "batch:3", "batch:3.0.0")}
	w := world{
		deployments: []Deployment{blueGreen, first, zero, {ARN: zeroOld, Status: "SUCCESSFUL"}},
		service:     map[string]string{depARN: orders, firstARN: billing, zeroARN: scaled, zeroOld: scaled},
	}
	impls := map[string]func(t *testing.T) reader{
		"ECS API (stub)": func(t *testing.T) reader { return New(stubECS(t, w.serve(t))) },
		"memory": func(t *testing.T) reader {
			m := &Memory{}
			for _, d := range []Deployment{blueGreen, first, zero} {
				m.Put(d)
			}
			return m
		},
	}
	for name, impl := range impls {
		t.Run(name, func(t *testing.T) {
			r := impl(t)
			ctx := context.Background()
			for _, want := range []Deployment{blueGreen, first, zero} {
				got, err := r.Describe(ctx, want.ARN)
				if err != nil {
					t.Fatalf("Describe(%s): %v", want.ARN, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Describe(%s) (-want +got):\n%s", want.ARN, diff)
				}
				if status, err := r.Status(ctx, want.ARN); err != nil || status != want.Status {
					t.Errorf("Status(%s) = %q, %v; want %q", want.ARN, status, err, want.Status)
				}
			}
			if got, _ := r.Describe(ctx, firstARN); !got.First() {
				t.Error("a service's only deployment is not First")
			}
			if got, _ := r.Describe(ctx, zeroARN); got.First() {
				t.Error("a service scaled to zero is taken for a new one")
			}
			const unknown = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/unknown"
			if _, err := r.Describe(ctx, unknown); !errors.Is(err, ErrNotFound) {
				t.Errorf("Describe(unknown) = %v, want ErrNotFound", err)
			}
			if _, err := r.Status(ctx, unknown); !errors.Is(err, ErrNotFound) {
				t.Errorf("Status(unknown) = %v, want ErrNotFound", err)
			}
		})
	}
}
