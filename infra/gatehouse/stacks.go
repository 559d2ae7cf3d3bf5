package gatehouse

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
)

// Stack names the app deploys.
const (
	HooksStackName = "GatehouseHooks"
	DemoStackName  = "GatehouseDemoService"
)

// HooksStackProps configure the GatehouseHooks stack.
type HooksStackProps struct {
	awscdk.StackProps
	Suite SuiteProps
	// AlarmTopicARN, if set and Suite.AlarmTopic is not, names an existing
	// SNS topic the alarms notify.
	AlarmTopicARN string
	// SmokeNetwork, if set and Suite.SmokeVPC is not, places the smoke hook
	// in an existing VPC, by ID: no lookup, so synthesis stays offline.
	SmokeNetwork *SmokeNetwork
}

// SmokeNetwork names an existing VPC's subnets (and optionally security
// groups) for the smoke hook. Without security groups, one is created that
// allows all outbound traffic; the load balancer's security group must admit
// it on the test listener's port.
type SmokeNetwork struct {
	VpcID            string
	SubnetIDs        []string
	SecurityGroupIDs []string
}

// NewHooksStack builds the GatehouseHooks stack: the suite and its outputs,
// including a ready-to-paste lifecycleHooks list for `aws ecs update-service`.
func NewHooksStack(scope constructs.Construct, id string, props *HooksStackProps) (awscdk.Stack, *Suite) {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	sp := props.Suite
	if sp.AlarmTopic == nil && props.AlarmTopicARN != "" {
		sp.AlarmTopic = awssns.Topic_FromTopicArn(stack, jsii.String("AlarmTopic"), jsii.String(props.AlarmTopicARN))
	}
	if sp.SmokeVPC == nil && props.SmokeNetwork != nil {
		n := props.SmokeNetwork
		var subnets []awsec2.ISubnet
		for i, id := range n.SubnetIDs {
			sub := awsec2.Subnet_FromSubnetId(stack, jsii.String(fmt.Sprintf("SmokeSubnet%d", i)), jsii.String(id))
			awscdk.Annotations_Of(sub).AcknowledgeWarning(jsii.String("@aws-cdk/aws-ec2:noSubnetRouteTableId"),
				jsii.String("Only the Lambda function's VpcConfig uses this subnet; nothing reads its route table."))
			subnets = append(subnets, sub)
		}
		azs := make([]string, len(n.SubnetIDs)) // unused with explicit subnets, but required
		for i := range azs {
			azs[i] = fmt.Sprintf("unused-az-%d", i)
		}
		sp.SmokeVPC = awsec2.Vpc_FromVpcAttributes(stack, jsii.String("SmokeVpc"), &awsec2.VpcAttributes{
			VpcId:             jsii.String(n.VpcID),
			AvailabilityZones: jsii.Strings(azs...),
		})
		sp.SmokeSubnets = &awsec2.SubnetSelection{Subnets: &subnets}
		for i, id := range n.SecurityGroupIDs {
			sp.SmokeSecurityGroups = append(sp.SmokeSecurityGroups,
				awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String(fmt.Sprintf("SmokeSecurityGroup%d", i)), jsii.String(id), nil))
		}
	}
	s := NewSuite(stack, "Suite", &sp)

	// Exported (STACK-ID), so another app may Fn::ImportValue them.
	out := func(id, desc string, v *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(desc), Value: v,
			ExportName: jsii.String(*stack.StackName() + "-" + id)})
	}
	out("ApprovalHookArn", "approval-hook function ARN (hookTargetArn)", s.ApprovalHook.FunctionArn())
	out("SmokeHookArn", "smoke-hook function ARN (hookTargetArn)", s.SmokeHook.FunctionArn())
	out("BakeHookArn", "bake-hook function ARN (hookTargetArn)", s.BakeHook.FunctionArn())
	out("ApprovalApiArn", "approval-api function ARN (behind the review URL)", s.ApprovalAPI.FunctionArn())
	out("HookInvokeRoleArn", "Role ECS assumes to invoke the hooks (lifecycleHooks[].roleArn)", s.InvokeRole.RoleArn())
	if sp.ReviewURL != "" {
		out("ReviewUrl", "Review API Function URL: the origin behind "+sp.ReviewURL+", the base of every review link", s.ReviewURL.Url())
	} else {
		out("ReviewUrl", "Review API Function URL (base of every review link)", s.ReviewURL.Url())
	}
	out("StateBucketName", "State bucket (approvals/, reports/)", s.Bucket.BucketName())
	// What another app needs to attach the hooks and check their Details
	// as the functions will (LookupSuite, FromSuite).
	param := awsssm.NewStringParameter(stack, jsii.String("SuiteDescription"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(SuiteParameterName(*stack.StackName())),
		Description:   jsii.String("gatehouse: this suite's ARNs, approval mode and settings, for gatehouse.LookupSuite in the apps that attach its hooks"),
		StringValue:   s.Description(),
		Tier:          awsssm.ParameterTier_INTELLIGENT_TIERING,
	})
	out("SuiteParameter", "SSM parameter with the suite's description, for gatehouse.LookupSuite in the apps that attach its hooks", param.ParameterName())
	if sp.ApprovalMode == ApprovalModePause {
		out("ContinueGuardPolicy", "A service control policy that makes gatehouse the only way on for the services it gates: it denies ecs:ContinueServiceDeployment on services tagged gatehouse:pause=approval to all but gatehouse's roles; as a permissions boundary, add the Allow statements the role may have (docs/approval.md)", s.ContinueGuardPolicy())
	}
	out("ReviewTopicArn", "SNS topic for review messages", s.Topic.TopicArn())
	// Only hooks that work without hookDetails: the smoke and bake hooks
	// only if the suite's defaults give their checks.
	standard := s.Targets().Standard()
	hooks, err := LifecycleHooksJSON(s.InvokeRole, standard)
	if err != nil {
		panic(err)
	}
	desc, note := lifecycleHooksNote(standard)
	out("LifecycleHooksJson", desc, jsii.String(hooks))
	if note != "" {
		out("LifecycleHooksNote", "Why smoke-hook or bake-hook is missing from LifecycleHooksJson, and how to add it", jsii.String(note))
	}
	return stack, s
}

// Complete example hookDetails for the hooks that have no defaults: the
// smoke hook needs checks, the bake hook alarms or metrics.
const (
	exampleSmokeDetails = `{"checks":[{"name":"health","path":"/health","expectStatus":[200]}]}`
	exampleBakeDetails  = `{"window":"10m","alarms":{"prefixes":["my-service-"]},"metrics":[{"name":"5xx rate","kind":"targetGroup5xxRate","max":0.01}]}`
)

// lifecycleHooksNote describes the standard hooks for the LifecycleHooksJson
// output and, if the smoke or bake hook is left out, says how to add it.
func lifecycleHooksNote(standard []Hook) (desc, note string) {
	has := map[hookKind]bool{}
	for _, h := range standard {
		has[h.kind] = true
	}
	var parts, missing []string
	if has[kindSmoke] {
		parts = append(parts, "smoke and approval at POST_TEST_TRAFFIC_SHIFT")
	} else {
		parts = append(parts, "approval at POST_TEST_TRAFFIC_SHIFT")
		missing = append(missing, fmt.Sprintf("smoke-hook (no -c %s): add it at POST_TEST_TRAFFIC_SHIFT (hookTargetArn: SmokeHookArn) with hookDetails giving checks, such as %s", CtxSmokeConfig, exampleSmokeDetails))
	}
	if has[kindBake] {
		parts = append(parts, "bake at POST_PRODUCTION_TRAFFIC_SHIFT")
	} else {
		missing = append(missing, fmt.Sprintf("bake-hook (no -c %s): add it at POST_PRODUCTION_TRAFFIC_SHIFT (hookTargetArn: BakeHookArn) with hookDetails giving alarms or metrics, such as %s", CtxBakeConfig, exampleBakeDetails))
	}
	desc = "lifecycleHooks for aws ecs update-service --deployment-configuration (" + strings.Join(parts, ", ") + ")"
	if len(missing) == 0 {
		return desc, ""
	}
	desc += "; see LifecycleHooksNote for the hooks left out"
	note = "Left out of LifecycleHooksJson because the suite gives them no default checks, and without checks they answer FAILED and every deployment rolls back. " +
		strings.Join(missing, ". ") +
		". The roleArn is HookInvokeRoleArn. Or redeploy the suite with default checks. See docs/deploy.md."
	return desc, note
}

// DemoStackProps configure the GatehouseDemoService stack.
type DemoStackProps struct {
	awscdk.StackProps
	// Targets are the hooks to attach (Suite.Targets or FromARNs).
	Targets Targets
	// Image is the container image; it must serve HTTP on port 80.
	Image string
	// TestListenerCIDR may reach the test listener (port 8080), where green
	// is served before production. Default 0.0.0.0/0, for the smoke hook,
	// which runs outside the VPC.
	TestListenerCIDR string
	// BakeTime keeps blue after production moved (default 10 minutes);
	// deployment alarms can still roll back during it.
	BakeTime time.Duration
	// ApprovalTimeout is the approval's own timeout (hookDetails "timeout",
	// default 4h); the hook's ECS timeout is 30 minutes longer. The
	// approval hook skips the service's first deployment
	// (firstDeployment: skip), which creates the service.
	ApprovalTimeout time.Duration
	// SmokeDetails and BakeDetails are the smoke and bake hooks' hookDetails.
	SmokeDetails map[string]any
	BakeDetails  map[string]any
	// Strategy is how production traffic moves to green: blue/green (the
	// zero value), or linear or canary steps with their settings (ECS's
	// defaults when zero). The smoke and approval hooks run before any
	// production traffic moves, the bake hook after the last step.
	Strategy rollout.Strategy
}

// DemoStack is a blue/green Fargate service behind an ALB, gated by the hooks.
type DemoStack struct {
	awscdk.Stack
	Service        awsecs.FargateService
	Blue, Green    elbv2.ApplicationTargetGroup
	ProductionRule elbv2.ApplicationListenerRule
	TestRule       elbv2.ApplicationListenerRule
	Hooks          []Hook
}

// Demo defaults.
const (
	DefaultDemoImage       = "public.ecr.aws/nginx/nginx:stable-alpine"
	DefaultBakeTime        = 10 * time.Minute
	DefaultDemoApproval    = 4 * time.Hour
	productionPort         = 80
	testPort               = 8080
	containerPort          = 80
	demoContainerName      = "web"
	listenerRuleStackGuard = "ListenerRuleStackPolicy"
)

// NewDemoStack builds the GatehouseDemoService stack.
func NewDemoStack(scope constructs.Construct, id string, props *DemoStackProps) *DemoStack {
	p := props.withDefaults()
	stack := awscdk.NewStack(scope, jsii.String(id), &p.StackProps)
	d := &DemoStack{Stack: stack}
	vpc, albSG, taskSG := demoNetwork(stack, p)
	alb := d.addTraffic(stack, vpc, albSG)
	cluster, task := demoTask(stack, vpc, p)
	errors5xx, unhealthy := d.demoAlarms(stack, alb)
	d.addService(stack, p, cluster, task, taskSG, errors5xx, unhealthy)
	d.attachHooks(p, errors5xx, unhealthy)
	d.addOutputs(stack, alb, cluster)
	return d
}

// withDefaults returns the props with their defaults filled in, and
// refuses a strategy or approval timeout the stack cannot deploy.
func (props *DemoStackProps) withDefaults() DemoStackProps {
	p := *props
	if p.Image == "" {
		p.Image = DefaultDemoImage
	}
	if p.TestListenerCIDR == "" {
		p.TestListenerCIDR = "0.0.0.0/0"
	}
	if p.BakeTime == 0 {
		p.BakeTime = DefaultBakeTime
	}
	if p.ApprovalTimeout == 0 {
		p.ApprovalTimeout = DefaultDemoApproval
	}
	p.Strategy = p.Strategy.WithDefaults()
	if err := p.Strategy.Validate(); err != nil {
		panic(fmt.Sprintf("gatehouse.NewDemoStack: Strategy: %s", hook.OneLine(err.Error())))
	}
	if limit := hook.MaxHookTimeout(p.Targets.ApprovalMode == ApprovalModePause); p.ApprovalTimeout+30*time.Minute > limit {
		panic(fmt.Sprintf("gatehouse.NewDemoStack: ApprovalTimeout %v leaves no room below the longest the approval hook may wait (%s; in approval mode pause, 14 days)", p.ApprovalTimeout, hook.FormatDuration(limit)))
	}
	return p
}

// demoNetwork adds the VPC and the security groups of the load balancer
// and the tasks.
func demoNetwork(stack awscdk.Stack, p DemoStackProps) (vpc awsec2.Vpc, albSG, taskSG awsec2.SecurityGroup) {
	// Public subnets only, no NAT gateways: the tasks pull a public image
	// through their public IP, and only the load balancer may reach them.
	vpc = awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("Public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)},
		},
		RestrictDefaultSecurityGroup: jsii.Bool(false),
	})
	vpc.AddFlowLog(jsii.String("FlowLogs"), &awsec2.FlowLogOptions{
		Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(awslogs.NewLogGroup(stack, jsii.String("FlowLogsGroup"), &awslogs.LogGroupProps{
			Retention:     awslogs.RetentionDays_ONE_WEEK,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		}), nil),
		TrafficType: awsec2.FlowLogTrafficType_REJECT,
	})

	albSG = awsec2.NewSecurityGroup(stack, jsii.String("LoadBalancerSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("gatehouse demo ALB: production on 80, test listener on 8080"),
		AllowAllOutbound: jsii.Bool(false),
	})
	albSG.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(productionPort)), jsii.String("Production listener"), nil)
	albSG.AddIngressRule(awsec2.Peer_Ipv4(jsii.String(p.TestListenerCIDR)), awsec2.Port_Tcp(jsii.Number(testPort)), jsii.String("Test listener: green before production"), nil)
	suppress(albSG, "AwsSolutions-EC23",
		"The demo's production listener is a public website; the test listener is open only to the configured CIDR (-c testListenerCidr), by default everywhere so the smoke hook, outside any VPC, can reach it.")
	taskSG = awsec2.NewSecurityGroup(stack, jsii.String("TaskSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("gatehouse demo tasks: HTTP from the load balancer only"),
		AllowAllOutbound: jsii.Bool(true),
	})
	taskSG.AddIngressRule(albSG, awsec2.Port_Tcp(jsii.Number(containerPort)), jsii.String("HTTP from the load balancer"), nil)
	albSG.AddEgressRule(taskSG, awsec2.Port_Tcp(jsii.Number(containerPort)), jsii.String("To the tasks"), nil)

	return vpc, albSG, taskSG
}

// addTraffic adds the load balancer, blue's and green's target groups, and
// the production and test listeners with the rules ECS shifts.
func (d *DemoStack) addTraffic(stack awscdk.Stack, vpc awsec2.Vpc, albSG awsec2.SecurityGroup) elbv2.ApplicationLoadBalancer {
	alb := elbv2.NewApplicationLoadBalancer(stack, jsii.String("LoadBalancer"), &elbv2.ApplicationLoadBalancerProps{
		Vpc:                     vpc,
		InternetFacing:          jsii.Bool(true),
		SecurityGroup:           albSG,
		DropInvalidHeaderFields: jsii.Bool(true),
	})
	suppress(alb, "AwsSolutions-ELB2",
		"Demo load balancer in an environment-agnostic stack: ALB access logging needs the region at synthesis (for the regional ELB account in the log bucket policy), and synthesis here stays offline and region-free.")

	tg := func(id string) elbv2.ApplicationTargetGroup {
		return elbv2.NewApplicationTargetGroup(stack, jsii.String(id), &elbv2.ApplicationTargetGroupProps{
			Vpc:                 vpc,
			TargetType:          elbv2.TargetType_IP,
			Protocol:            elbv2.ApplicationProtocol_HTTP,
			Port:                jsii.Number(containerPort),
			DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(30)),
			HealthCheck: &elbv2.HealthCheck{
				Path:                    jsii.String("/"),
				Interval:                awscdk.Duration_Seconds(jsii.Number(10)),
				Timeout:                 awscdk.Duration_Seconds(jsii.Number(5)),
				HealthyThresholdCount:   jsii.Number(2),
				UnhealthyThresholdCount: jsii.Number(2),
			},
		})
	}
	d.Blue, d.Green = tg("BlueTargetGroup"), tg("GreenTargetGroup")

	// The listeners' default action never serves a request (the rules match
	// every path); the rules alone carry traffic, and ECS rewrites only them.
	listener := func(id string, port float64) elbv2.ApplicationListener {
		return alb.AddListener(jsii.String(id), &elbv2.BaseApplicationListenerProps{
			Port:          jsii.Number(port),
			Protocol:      elbv2.ApplicationProtocol_HTTP,
			Open:          jsii.Bool(false),
			DefaultAction: elbv2.ListenerAction_FixedResponse(jsii.Number(404), &elbv2.FixedResponseOptions{ContentType: jsii.String("text/plain"), MessageBody: jsii.String("not found")}),
		})
	}
	prod, test := listener("ProductionListener", productionPort), listener("TestListener", testPort)
	d.ProductionRule = blueGreenRule(stack, "ProductionRule", prod, d.Blue, d.Green)
	d.TestRule = blueGreenRule(stack, "TestRule", test, d.Blue, d.Green)

	return alb
}

// demoTask adds the cluster and the task definition.
func demoTask(stack awscdk.Stack, vpc awsec2.Vpc, p DemoStackProps) (awsecs.Cluster, awsecs.FargateTaskDefinition) {
	cluster := awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{
		Vpc:                 vpc,
		ContainerInsightsV2: awsecs.ContainerInsights_ENABLED,
	})
	task := awsecs.NewFargateTaskDefinition(stack, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(256),
		MemoryLimitMiB: jsii.Number(512),
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       awsecs.CpuArchitecture_ARM64(),
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	task.AddContainer(jsii.String(demoContainerName), &awsecs.ContainerDefinitionOptions{
		Image:        awsecs.ContainerImage_FromRegistry(jsii.String(p.Image), nil),
		PortMappings: &[]*awsecs.PortMapping{{ContainerPort: jsii.Number(containerPort)}},
		Logging: awsecs.LogDrivers_AwsLogs(&awsecs.AwsLogDriverProps{
			StreamPrefix: jsii.String("demo"),
			LogGroup: awslogs.NewLogGroup(stack, jsii.String("TaskLogs"), &awslogs.LogGroupProps{
				Retention:     awslogs.RetentionDays_ONE_WEEK,
				RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
			}),
		}),
	})

	return cluster, task
}

// demoAlarms adds the deployment alarms.
func (d *DemoStack) demoAlarms(stack awscdk.Stack, alb elbv2.ApplicationLoadBalancer) (errors5xx, unhealthy awscloudwatch.Alarm) {
	// Deployment alarms roll a deployment back at any stage, bake time included.
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	errors5xx = alb.Metrics().HttpCodeTarget(elbv2.HttpCodeTarget_TARGET_5XX_COUNT, &awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")}).
		CreateAlarm(stack, jsii.String("Target5xxAlarm"), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String("gatehouse demo: targets answer 5xx; rolls the deployment back"),
			Threshold:          jsii.Number(5),
			EvaluationPeriods:  jsii.Number(2),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
	unhealthy = awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("MAX([blue, green])"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"blue":  d.Blue.Metrics().UnhealthyHostCount(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}),
			"green": d.Green.Metrics().UnhealthyHostCount(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}),
		},
		Period: minute,
		Label:  jsii.String("unhealthy targets"),
	}).CreateAlarm(stack, jsii.String("UnhealthyTargetsAlarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String("gatehouse demo: unhealthy targets; rolls the deployment back"),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(3),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})

	return errors5xx, unhealthy
}

// addService adds the blue/green Fargate service.
func (d *DemoStack) addService(stack awscdk.Stack, p DemoStackProps, cluster awsecs.Cluster, task awsecs.FargateTaskDefinition, taskSG awsec2.SecurityGroup, errors5xx, unhealthy awscloudwatch.Alarm) {
	d.Service = awsecs.NewFargateService(stack, jsii.String("Service"), &awsecs.FargateServiceProps{
		Cluster:                cluster,
		TaskDefinition:         task,
		DesiredCount:           jsii.Number(2),
		AssignPublicIp:         jsii.Bool(true),
		VpcSubnets:             &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC},
		SecurityGroups:         &[]awsec2.ISecurityGroup{taskSG},
		HealthCheckGracePeriod: awscdk.Duration_Seconds(jsii.Number(30)),
		MinHealthyPercent:      jsii.Number(100),
		DeploymentStrategy:     awsecs.DeploymentStrategy(p.Strategy.Kind.ECSName()),
		LinearConfiguration:    trafficShift(p.Strategy, rollout.Linear),
		CanaryConfiguration:    trafficShift(p.Strategy, rollout.Canary),
		BakeTime:               awscdk.Duration_Minutes(jsii.Number(p.BakeTime.Minutes())),
		DeploymentAlarms: &awsecs.DeploymentAlarmConfig{
			AlarmNames: &[]*string{errors5xx.AlarmName(), unhealthy.AlarmName()},
			Behavior:   awsecs.AlarmBehavior_ROLLBACK_ON_ALARM,
		},
	})
	d.Service.LoadBalancerTarget(&awsecs.LoadBalancerTargetOptions{
		ContainerName: jsii.String(demoContainerName),
		ContainerPort: jsii.Number(containerPort),
		AlternateTarget: awsecs.NewAlternateTarget(jsii.String("Alternate"), &awsecs.AlternateTargetProps{
			AlternateTargetGroup: d.Green,
			ProductionListener:   awsecs.ListenerRuleConfiguration_ApplicationListenerRule(d.ProductionRule),
			TestListener:         awsecs.ListenerRuleConfiguration_ApplicationListenerRule(d.TestRule),
		}),
	}).AttachToApplicationTargetGroup(d.Blue)
	awscdk.Annotations_Of(d.Service).AcknowledgeWarning(jsii.String("@aws-cdk/aws-ecs:shouldUseCircuitBreaker"),
		jsii.String("Blue/green: the deployment circuit breaker is documented for rolling updates; here the hooks and the deployment alarms roll back."))
	suppress(d.Service, "AwsSolutions-IAM4",
		"The load-balancer infrastructure role uses AmazonECSInfrastructureRolePolicyForLoadBalancers, the managed policy AWS documents for ECS blue/green traffic shifting; AWS maintains it as the feature grows.")
}

// attachHooks attaches the suite's smoke, approval and bake hooks.
func (d *DemoStack) attachHooks(p DemoStackProps, errors5xx, unhealthy awscloudwatch.Alarm) {
	if p.SmokeDetails == nil {
		// The smoke hook finds the test listener itself (ECS and ELB
		// describes) and probes green through it.
		p.SmokeDetails = map[string]any{
			"checks": []any{
				map[string]any{"name": "home page", "path": "/", "expectStatus": []int{200}, "maxLatencyMs": 2000},
			},
		}
	}
	if p.BakeDetails == nil {
		// The demo has no steady traffic: judge by the alarms and by the 5xx
		// rate when there are requests, and pass a quiet bake.
		p.BakeDetails = map[string]any{
			"window":      "5m",
			"alarms":      map[string]any{"names": []*string{errors5xx.AlarmName(), unhealthy.AlarmName()}},
			"metrics":     []any{map[string]any{"name": "5xx rate", "kind": "targetGroup5xxRate", "max": 0.01}},
			"minRequests": 0,
			"onNoTraffic": "pass",
		}
	}
	t := p.Targets
	d.Hooks = []Hook{
		t.Smoke(HookOptions{Details: p.SmokeDetails}),
		t.Approval(HookOptions{
			// The first deployment creates the service: nothing to review,
			// and the stack would otherwise wait for an approval.
			// The deployment alarms roll back at any stage; watching them
			// also closes the approval request, saying why, so nobody is
			// left to approve a deployment that is already rolling back.
			Details: map[string]any{
				"timeout":         hook.FormatDuration(p.ApprovalTimeout),
				"firstDeployment": "skip",
				"abortOnAlarms":   map[string]any{"names": []*string{errors5xx.AlarmName(), unhealthy.AlarmName()}},
			},
			Timeout: p.ApprovalTimeout + 30*time.Minute,
		}),
		t.Bake(HookOptions{Details: p.BakeDetails}),
	}
	if steps := p.Strategy.Steps(); len(steps) > 1 {
		// Every step judged before the next: a bad canary never leaves
		// its share.
		d.Hooks = append(d.Hooks, t.StepCheck(HookOptions{Details: p.BakeDetails, Timeout: min(max(DefaultStepCheckTimeout, 2*p.Strategy.BakeAfter(0)+15*time.Minute), MaxHookTimeout)}))
	}
	// This stack deploys the service: its deployments must fit in one
	// CloudFormation stack operation.
	if err := CheckStackDuration(d.Hooks, Rollout{Strategy: p.Strategy, BakeTime: p.BakeTime}); err != nil {
		panic(fmt.Sprintf("gatehouse.NewDemoStack: %v", err))
	}
	Attach(d.Service, &AttachProps{Role: t.InvokeRole, Hooks: d.Hooks})
}

// addOutputs adds the stack's outputs.
func (d *DemoStack) addOutputs(stack awscdk.Stack, alb elbv2.ApplicationLoadBalancer, cluster awsecs.Cluster) {
	ProtectedResources{d.ProductionRule, d.TestRule}.Output(stack, listenerRuleStackGuard)
	awscdk.NewCfnOutput(stack, jsii.String("ProductionUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Production listener"),
		Value:       jsii.String(fmt.Sprintf("http://%s/", *alb.LoadBalancerDnsName())),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TestUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Test listener: green during a deployment"),
		Value:       jsii.String(fmt.Sprintf("http://%s:%d/", *alb.LoadBalancerDnsName(), testPort)),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ClusterName"), &awscdk.CfnOutputProps{Value: cluster.ClusterName()})
	awscdk.NewCfnOutput(stack, jsii.String("ServiceName"), &awscdk.CfnOutputProps{Value: d.Service.ServiceName()})
}

// trafficShift is the service's LinearConfiguration or CanaryConfiguration
// when s is of that kind, or nil.
func trafficShift(s rollout.Strategy, kind rollout.Kind) *awsecs.TrafficShiftConfig {
	if s.Kind != kind {
		return nil
	}
	percent, bake := s.StepPercent, s.StepBake
	if kind == rollout.Canary {
		percent, bake = s.CanaryPercent, s.CanaryBake
	}
	return &awsecs.TrafficShiftConfig{StepPercent: jsii.Number(percent), StepBakeTime: awscdk.Duration_Minutes(jsii.Number(bake.Minutes()))}
}

// blueGreenRule declares a listener rule in the shape ECS keeps it in: one
// weighted forward over both target groups, blue 100, green 0, and nothing
// else (rules mixing forward with other actions make deployments fail).
// After the first deployment ECS owns the weights; this declaration must
// not change (see guard.go and aws/aws-cdk#36649).
func blueGreenRule(scope constructs.Construct, id string, l elbv2.ApplicationListener, blue, green elbv2.ApplicationTargetGroup) elbv2.ApplicationListenerRule {
	return elbv2.NewApplicationListenerRule(scope, jsii.String(id), &elbv2.ApplicationListenerRuleProps{
		Listener:   l,
		Priority:   jsii.Number(1),
		Conditions: &[]elbv2.ListenerCondition{elbv2.ListenerCondition_PathPatterns(jsii.Strings("/*"))},
		Action: elbv2.ListenerAction_WeightedForward(&[]*elbv2.WeightedTargetGroup{
			{TargetGroup: blue, Weight: jsii.Number(100)},
			{TargetGroup: green, Weight: jsii.Number(0)},
		}, nil),
	})
}
