// Package ecsdeploy reads what Amazon ECS knows about a service deployment:
// its status, and the task definitions and images of the revisions it moves
// from and to.
package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gatehouse-dev/gatehouse/internal/rollout"
)

// ErrNotFound is returned when ECS does not know the deployment.
var ErrNotFound = errors.New("deployment not found")

// API is the part of *ecs.Client the reader uses.
type API interface {
	DescribeServiceDeployments(ctx context.Context, params *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	DescribeServiceRevisions(ctx context.Context, params *ecs.DescribeServiceRevisionsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
	ListServiceDeployments(ctx context.Context, params *ecs.ListServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
}

// Image is one container's image.
type Image struct {
	Container string
	Image     string
}

// Revision is a service revision.
type Revision struct {
	ARN            string
	TaskDefinition string
	Images         []Image
	// Placement is where its tasks run: the launch type, or the capacity
	// provider strategy (provider:weight, ...).
	Placement string
}

// Deployment is a service deployment as ECS describes it.
type Deployment struct {
	ARN       string
	Status    string
	StartedAt *time.Time
	// Sources are the revisions the deployment moves away from (blue); empty
	// for the first deployment of a service.
	Sources []Revision
	// Target is the revision being deployed (green).
	Target Revision
	// Hooks are the lifecycle hooks of the deployment's current stage.
	Hooks []Hook
	// Earlier reports whether the service had any deployment before this one.
	Earlier bool
	// Stage is the lifecycle stage it is at; ServiceARN its service.
	Stage      string
	ServiceARN string
	// Rollout is how it moves production traffic.
	Rollout Rollout
}

// Rollout is how a deployment moves production traffic, as ECS describes
// it (its deploymentConfiguration and the target revision's weight).
type Rollout struct {
	// Strategy is ECS's name for it: BLUE_GREEN, LINEAR, CANARY or
	// ROLLING; empty when ECS does not say.
	Strategy string
	// StepBake is the wait after each production step but the last: a
	// linear deployment's stepBakeTimeInMinutes, a canary's
	// canaryBakeTimeInMinutes, ECS's default (6 and 10 minutes) when not
	// given; zero for the other strategies.
	StepBake time.Duration
	// GreenShare is the target revision's share of production traffic in
	// percent, as ECS last requested it; nil when ECS does not say.
	GreenShare *float64
}

// Stepped reports whether production moves in several steps: a linear or
// canary deployment.
func (r Rollout) Stepped() bool {
	return r.Strategy == string(ecstypes.DeploymentStrategyLinear) || r.Strategy == string(ecstypes.DeploymentStrategyCanary)
}

// rolloutOf reads a deployment's rollout from ECS's record of it.
func rolloutOf(sd ecstypes.ServiceDeployment) Rollout {
	var r Rollout
	if c := sd.DeploymentConfiguration; c != nil {
		r.Strategy = string(c.Strategy)
		minutes := func(v *int32, def time.Duration) time.Duration {
			if v == nil {
				return def
			}
			return time.Duration(*v) * time.Minute
		}
		switch c.Strategy {
		case ecstypes.DeploymentStrategyLinear:
			var bake *int32
			if c.LinearConfiguration != nil {
				bake = c.LinearConfiguration.StepBakeTimeInMinutes
			}
			r.StepBake = minutes(bake, rollout.DefaultStepBake)
		case ecstypes.DeploymentStrategyCanary:
			var bake *int32
			if c.CanaryConfiguration != nil {
				bake = c.CanaryConfiguration.CanaryBakeTimeInMinutes
			}
			r.StepBake = minutes(bake, rollout.DefaultCanaryBake)
		}
	}
	if t := sd.TargetServiceRevision; t != nil && t.RequestedProductionTrafficWeight != nil {
		w := *t.RequestedProductionTrafficWeight
		r.GreenShare = &w
	}
	return r
}

// First reports whether this is the first deployment of its service: no
// revision ran before it and ECS knows of no earlier deployment. Both must
// hold, so that a service scaled to zero is not taken for a new one.
func (d Deployment) First() bool {
	return len(d.Sources) == 0 && !d.Earlier
}

// Hook is a lifecycle hook running at the deployment's current stage.
type Hook struct {
	// TargetARN is the hook's Lambda function ARN; empty for PAUSE hooks.
	TargetARN string
	// Status is AWAITING_ACTION, IN_PROGRESS, SUCCEEDED, FAILED or TIMED_OUT.
	Status string
	// TimeoutAction is what ECS does when the hook times out: ROLLBACK or
	// CONTINUE; empty when ECS does not say.
	TimeoutAction string
	// HookID names this run of the hook (what ContinueServiceDeployment
	// takes for a PAUSE hook); TargetType is AWS_LAMBDA or PAUSE; ExpiresAt
	// is when it times out, when ECS says.
	HookID     string
	TargetType string
	ExpiresAt  *time.Time
}

// Pause hooks' statuses and actions, as ECS names them.
const (
	TargetPause    = "PAUSE"
	AwaitingAction = "AWAITING_ACTION"
	ActionContinue = "CONTINUE"
	ActionRollback = "ROLLBACK"
)

// Terminal reports whether the deployment has finished, one way or another.
func (d Deployment) Terminal() bool {
	switch ecstypes.ServiceDeploymentStatus(d.Status) {
	case ecstypes.ServiceDeploymentStatusSuccessful, ecstypes.ServiceDeploymentStatusStopped,
		ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusRollbackFailed:
		return true
	}
	return false
}

// Over reports whether a deployment with ECS status status no longer waits
// on its lifecycle hooks: it succeeded, stopped, or is stopping or rolling
// back. Statuses it does not know (PENDING, IN_PROGRESS, anything new) are
// not over.
func Over(status string) bool {
	switch ecstypes.ServiceDeploymentStatus(status) {
	case ecstypes.ServiceDeploymentStatusSuccessful, ecstypes.ServiceDeploymentStatusStopped,
		ecstypes.ServiceDeploymentStatusStopRequested, ecstypes.ServiceDeploymentStatusRollbackRequested,
		ecstypes.ServiceDeploymentStatusRollbackInProgress, ecstypes.ServiceDeploymentStatusRollbackSuccessful,
		ecstypes.ServiceDeploymentStatusRollbackFailed:
		return true
	}
	return false
}

// Reader describes deployments.
type Reader struct {
	api API
}

// New returns a Reader using api.
func New(api API) *Reader { return &Reader{api: api} }

// Status returns the status ECS reports for the deployment (one
// DescribeServiceDeployments call). It returns ErrNotFound if ECS does not
// know it.
func (r *Reader) Status(ctx context.Context, deploymentARN string) (string, error) {
	d, _, err := r.describe(ctx, deploymentARN)
	return d.Status, err
}

// Hooks returns the deployment's status, stage, rollout and lifecycle hooks (one
// DescribeServiceDeployments call, no revisions). It returns ErrNotFound
// if ECS does not know it.
func (r *Reader) Hooks(ctx context.Context, deploymentARN string) (Deployment, error) {
	d, _, err := r.describe(ctx, deploymentARN)
	return d, err
}

// describe is one DescribeServiceDeployments call: the deployment without
// its revisions' details, and ECS's own record of it.
func (r *Reader) describe(ctx context.Context, deploymentARN string) (Deployment, ecstypes.ServiceDeployment, error) {
	out, err := r.api.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{deploymentARN},
	})
	if err != nil {
		return Deployment{}, ecstypes.ServiceDeployment{}, fmt.Errorf("describe service deployment: %w", err)
	}
	if len(out.ServiceDeployments) == 0 {
		return Deployment{}, ecstypes.ServiceDeployment{}, fmt.Errorf("describe service deployment: %w", ErrNotFound)
	}
	sd := out.ServiceDeployments[0]
	d := Deployment{ARN: aws.ToString(sd.ServiceDeploymentArn), Status: string(sd.Status), StartedAt: sd.StartedAt,
		Stage: string(sd.LifecycleStage), ServiceARN: aws.ToString(sd.ServiceArn), Rollout: rolloutOf(sd)}
	if d.StartedAt == nil {
		d.StartedAt = sd.CreatedAt
	}
	for _, h := range sd.LifecycleHookDetails {
		d.Hooks = append(d.Hooks, Hook{TargetARN: aws.ToString(h.TargetArn), Status: string(h.Status), TimeoutAction: string(h.TimeoutAction),
			HookID: aws.ToString(h.HookId), TargetType: string(h.TargetType), ExpiresAt: h.ExpiresAt})
	}
	return d, sd, nil
}

// Describe returns the deployment with the given service-deployment ARN and
// its revisions. It returns ErrNotFound if ECS does not know it.
func (r *Reader) Describe(ctx context.Context, deploymentARN string) (Deployment, error) {
	d, sd, err := r.describe(ctx, deploymentARN)
	if err != nil {
		return Deployment{}, err
	}
	var arns []string
	for _, s := range sd.SourceServiceRevisions {
		arns = append(arns, aws.ToString(s.Arn))
	}
	if sd.TargetServiceRevision != nil {
		d.Target.ARN = aws.ToString(sd.TargetServiceRevision.Arn)
		arns = append(arns, d.Target.ARN)
	}
	revs := map[string]Revision{}
	if len(arns) > 0 {
		out, err := r.api.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: arns})
		if err != nil {
			return Deployment{}, fmt.Errorf("describe service revisions: %w", err)
		}
		for _, sr := range out.ServiceRevisions {
			rev := Revision{ARN: aws.ToString(sr.ServiceRevisionArn), TaskDefinition: aws.ToString(sr.TaskDefinition), Placement: placement(sr)}
			for _, ci := range sr.ContainerImages {
				img := aws.ToString(ci.Image)
				if dg := aws.ToString(ci.ImageDigest); dg != "" && img != "" && !strings.Contains(img, "@") {
					img += "@" + dg
				}
				rev.Images = append(rev.Images, Image{Container: aws.ToString(ci.ContainerName), Image: img})
			}
			revs[rev.ARN] = rev
		}
	}
	for _, s := range sd.SourceServiceRevisions {
		arn := aws.ToString(s.Arn)
		rev, ok := revs[arn]
		if !ok {
			rev = Revision{ARN: arn}
		}
		d.Sources = append(d.Sources, rev)
	}
	if rev, ok := revs[d.Target.ARN]; ok {
		d.Target = rev
	}
	if len(d.Sources) == 0 {
		// Only asked when it matters: whether this could be a first deployment.
		list, err := r.api.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
			Service:    sd.ServiceArn,
			Cluster:    sd.ClusterArn,
			MaxResults: aws.Int32(2),
		})
		if err != nil {
			return Deployment{}, fmt.Errorf("list service deployments: %w", err)
		}
		for _, b := range list.ServiceDeployments {
			if aws.ToString(b.ServiceDeploymentArn) != d.ARN {
				d.Earlier = true
			}
		}
	}
	return d, nil
}

// placement says where a revision's tasks run: its launch type, or its
// capacity provider strategy.
func placement(sr ecstypes.ServiceRevision) string {
	var parts []string
	for _, c := range sr.CapacityProviderStrategy {
		parts = append(parts, fmt.Sprintf("%s:%d", aws.ToString(c.CapacityProvider), c.Weight))
	}
	if len(parts) > 0 {
		return strings.Join(parts, ", ")
	}
	return string(sr.LaunchType)
}
