package local

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
)

// ecsAPI is Amazon ECS as the simulator plays it, Elastic Load Balancing
// v2 as far as the sample service's test listener goes (elbapi.go), and
// CloudTrail's record of who started each deployment (trailapi.go), all
// answered at the SDK's seam: local mode hands the functions the SDK's
// clients, and the suite's own adapters (ecsdeploy.Reader,
// approvalparts.ECSPauses, ecsdeploy.ServiceTags,
// elbv2.Finder, approvalhook.Trail) call them as they call
// AWS, with their translations and their pause code. It counts the calls
// it answers.
type ecsAPI struct {
	l     *Local
	mu    sync.Mutex
	calls map[string]int
}

// client returns an ECS client whose every call e answers.
func (e *ecsAPI) client() *ecs.Client {
	return ecs.New(ecs.Options{Region: Service.Region, Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
		APIOptions: []func(*middleware.Stack) error{awsenv.Answer(e.answer)}})
}

// AWSCalls returns how many calls of each AWS operation (ECS, ELBv2,
// CloudTrail) local mode answered at the SDK's seam.
func (l *Local) AWSCalls() map[string]int {
	l.ecs.mu.Lock()
	defer l.ecs.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.ecs.calls {
		out[k] = v
	}
	return out
}

func (e *ecsAPI) count(op string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.calls == nil {
		e.calls = map[string]int{}
	}
	e.calls[op]++
}

// answer is ECS's answer to one call.
func (e *ecsAPI) answer(params any) (any, error) {
	switch in := params.(type) {
	case *ecs.DescribeServiceDeploymentsInput:
		e.count("DescribeServiceDeployments")
		out := &ecs.DescribeServiceDeploymentsOutput{}
		for _, arn := range in.ServiceDeploymentArns {
			if t := e.l.find(arn); t != nil {
				out.ServiceDeployments = append(out.ServiceDeployments, e.deployment(t))
			}
		}
		return out, nil
	case *ecs.DescribeServiceRevisionsInput:
		e.count("DescribeServiceRevisions")
		out := &ecs.DescribeServiceRevisionsOutput{}
		for _, arn := range in.ServiceRevisionArns {
			out.ServiceRevisions = append(out.ServiceRevisions, e.revision(arn))
		}
		return out, nil
	case *ecs.ListServiceDeploymentsInput:
		e.count("ListServiceDeployments")
		out := &ecs.ListServiceDeploymentsOutput{}
		ds := e.l.Deployments()
		slices.Reverse(ds) // newest first, as ECS lists them
		for _, t := range ds {
			snap := t.D.Snapshot()
			status := ecstypes.ServiceDeploymentStatus(snap.Status)
			if len(in.Status) > 0 && !slices.Contains(in.Status, status) {
				continue
			}
			out.ServiceDeployments = append(out.ServiceDeployments, ecstypes.ServiceDeploymentBrief{ServiceDeploymentArn: aws.String(snap.ARN),
				ServiceArn: aws.String(Service.ARN()), Status: status})
		}
		if n := int(aws.ToInt32(in.MaxResults)); n > 0 && len(out.ServiceDeployments) > n {
			out.ServiceDeployments = out.ServiceDeployments[:n]
		}
		return out, nil
	case *ecs.ContinueServiceDeploymentInput:
		e.count("ContinueServiceDeployment")
		t := e.l.find(aws.ToString(in.ServiceDeploymentArn))
		if t == nil {
			return nil, &smithy.GenericAPIError{Code: "ServiceDeploymentNotFoundException", Message: "the service deployment does not exist"}
		}
		if err := t.D.ContinueServiceDeployment(aws.ToString(in.HookId), string(in.Action)); err != nil {
			// ECS does not document this refusal's code: the adapter
			// describes the deployment again to tell why.
			return nil, &smithy.GenericAPIError{Code: "InvalidParameterException", Message: err.Error()}
		}
		return &ecs.ContinueServiceDeploymentOutput{ServiceDeploymentArn: in.ServiceDeploymentArn}, nil
	case *ecs.DescribeTaskDefinitionInput:
		e.count("DescribeTaskDefinition")
		td, ok := taskDefinition(aws.ToString(in.TaskDefinition))
		if !ok {
			return nil, &smithy.GenericAPIError{Code: "ClientException", Message: "Unable to describe task definition."}
		}
		return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: td}, nil
	case *ecs.ListTagsForResourceInput:
		e.count("ListTagsForResource")
		out := &ecs.ListTagsForResourceOutput{}
		if aws.ToString(in.ResourceArn) == Service.ARN() {
			for _, k := range slices.Sorted(maps.Keys(e.l.tags)) {
				out.Tags = append(out.Tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(e.l.tags[k])})
			}
		}
		return out, nil
	}
	return nil, &smithy.GenericAPIError{Code: "UnsupportedOperation", Message: fmt.Sprintf("local mode's ECS does not answer %T", params)}
}

// deployment is DescribeServiceDeployments' record of t: its status and
// stage, its revisions, and the lifecycle hooks of its current stage (the
// Lambda hooks as running, the PAUSE hooks as they stand).
func (e *ecsAPI) deployment(t *Tracked) ecstypes.ServiceDeployment {
	snap := t.D.Snapshot()
	started := snap.StartedAt
	sd := ecstypes.ServiceDeployment{
		ServiceDeploymentArn:    aws.String(snap.ARN),
		ServiceArn:              aws.String(Service.ARN()),
		ClusterArn:              aws.String(fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", Service.Region, Service.Account, Service.Cluster)),
		Status:                  ecstypes.ServiceDeploymentStatus(snap.Status),
		LifecycleStage:          ecstypes.ServiceDeploymentLifecycleStage(snap.Stage),
		StartedAt:               &started,
		CreatedAt:               &started,
		SourceServiceRevisions:  []ecstypes.ServiceRevisionSummary{{Arn: aws.String(snap.SourceRevision), RequestedProductionTrafficWeight: aws.Float64(100 - snap.ProductionGreen)}},
		TargetServiceRevision:   &ecstypes.ServiceRevisionSummary{Arn: aws.String(snap.TargetRevision), RequestedProductionTrafficWeight: aws.Float64(snap.ProductionGreen)},
		DeploymentConfiguration: deploymentConfiguration(e.l.Sim.Strategy),
	}
	if !snap.EndedAt.IsZero() {
		ended := snap.EndedAt
		sd.FinishedAt = &ended
	}
	for _, h := range e.l.Sim.Hooks {
		if slices.Contains(h.Stages, snap.Stage) && !h.Pause {
			sd.LifecycleHookDetails = append(sd.LifecycleHookDetails, ecstypes.DeploymentLifecycleHookDetail{
				TargetArn:  aws.String(fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", Service.Region, Service.Account, h.Function)),
				TargetType: "AWS_LAMBDA", Status: "IN_PROGRESS"})
		}
	}
	for _, p := range t.D.Pauses() {
		if p.Stage == snap.Stage {
			expires := p.ExpiresAt
			sd.LifecycleHookDetails = append(sd.LifecycleHookDetails, ecstypes.DeploymentLifecycleHookDetail{HookId: aws.String(p.HookID),
				TargetType: "PAUSE", Status: ecstypes.DeploymentLifecycleHookStatus(p.Status), ExpiresAt: &expires,
				TimeoutAction: ecstypes.DeploymentLifecycleHookAction(p.TimeoutAction)})
		}
	}
	return sd
}

// revision is DescribeServiceRevisions' record of the revision arn: its
// task definition and image, as the sample service runs them (version
// 2.4.N runs task definition revision N+1).
func (e *ecsAPI) revision(arn string) ecstypes.ServiceRevision {
	blue, green := e.l.App.Versions()
	version := blue
	for _, t := range e.l.Deployments() {
		if snap := t.D.Snapshot(); snap.TargetRevision == arn && !snap.Status.Terminal() {
			version = green
		}
	}
	n, _ := strconv.Atoi(version[strings.LastIndex(version, ".")+1:])
	created := time.Now()
	return ecstypes.ServiceRevision{
		ServiceRevisionArn: aws.String(arn),
		ServiceArn:         aws.String(Service.ARN()),
		TaskDefinition:     aws.String(fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/demo:%d", Service.Region, Service.Account, n+1)),
		ContainerImages:    []ecstypes.ContainerImage{{ContainerName: aws.String("web"), Image: aws.String("gatehouse/demo:" + version)}},
		LoadBalancers:      loadBalancers(),
		CreatedAt:          &created,
	}
}

// taskDefinition is the sample service's task definition demo:N (an ARN
// or family:revision), as a release changes it: revision N runs demo
// 2.4.(N-1), and consecutive revisions differ in a variable, a
// secret-looking one, the memory and the source revision, so that the
// review page has a diff to show.
func taskDefinition(ref string) (*ecstypes.TaskDefinition, bool) {
	name := ref[strings.LastIndex(ref, "/")+1:]
	family, rev, ok := strings.Cut(name, ":")
	n, err := strconv.Atoi(rev)
	if !ok || family != "demo" || err != nil || n < 1 {
		return nil, false
	}
	level, memory := "info", "512"
	if n%2 == 0 {
		level, memory = "debug", "1024"
	}
	return &ecstypes.TaskDefinition{
		TaskDefinitionArn:       aws.String(fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/demo:%d", Service.Region, Service.Account, n)),
		Family:                  aws.String("demo"),
		Revision:                int32(n),
		Cpu:                     aws.String("256"),
		Memory:                  aws.String(memory),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name:  aws.String("web"),
			Image: aws.String(fmt.Sprintf("gatehouse/demo:2.4.%d", n-1)),
			Environment: []ecstypes.KeyValuePair{
				{Name: aws.String("LOG_LEVEL"), Value: aws.String(level)},
				{Name: aws.String("API_TOKEN"), Value: aws.String(fmt.Sprintf("local-token-%d", n))},
			},
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), Protocol: ecstypes.TransportProtocolTcp}},
			DockerLabels: map[string]string{
				"org.opencontainers.image.source":   "https://github.com/gatehouse-dev/gatehouse",
				"org.opencontainers.image.revision": fmt.Sprintf("%07x", n*0x1f3a5),
			},
		}},
	}, true
}

// deploymentConfiguration is how ECS describes strategy s in a
// deployment's record: the strategy with its step settings.
func deploymentConfiguration(s rollout.Strategy) *ecstypes.DeploymentConfiguration {
	s = s.WithDefaults()
	c := &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategy(s.Kind.ECSName())}
	minutes := func(d time.Duration) *int32 { return aws.Int32(int32(d / time.Minute)) }
	switch s.Kind {
	case rollout.Linear:
		c.LinearConfiguration = &ecstypes.LinearConfiguration{StepPercent: aws.Float64(s.StepPercent), StepBakeTimeInMinutes: minutes(s.StepBake)}
	case rollout.Canary:
		c.CanaryConfiguration = &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(s.CanaryPercent), CanaryBakeTimeInMinutes: minutes(s.CanaryBake)}
	}
	return c
}
