package local

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
)

// The sample service's load balancer, as ECS and ELBv2 name it locally:
// its test listener is the local test listener, behind a rule that
// forwards everything.
var (
	localLB           = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/app/gatehouse-local/0123456789abcdef", Service.Region, Service.Account)
	localTestListener = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:listener/app/gatehouse-local/0123456789abcdef/fedcba9876543210", Service.Region, Service.Account)
	localTestRule     = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:listener-rule/app/gatehouse-local/0123456789abcdef/fedcba9876543210/1111111111111111", Service.Region, Service.Account)
	localTargetGroup  = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/gatehouse-local-%%s/0123456789abcdef", Service.Region, Service.Account)
)

// elbClient returns an Elastic Load Balancing v2 client whose every call e
// answers: the smoke hook's own test listener discovery (elbv2) runs
// locally as in AWS.
func (e *ecsAPI) elbClient() *elb.Client {
	return elb.New(elb.Options{Region: Service.Region, Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
		APIOptions: []func(*middleware.Stack) error{awsenv.Answer(e.answerELB)}})
}

// loadBalancers is what DescribeServiceRevisions says of the service's
// load balancer: blue/green's advanced configuration, with the test
// listener's rule.
func loadBalancers() []ecstypes.LoadBalancer {
	return []ecstypes.LoadBalancer{{
		ContainerName:  aws.String("web"),
		ContainerPort:  aws.Int32(8080),
		TargetGroupArn: aws.String(fmt.Sprintf(localTargetGroup, "blue")),
		AdvancedConfiguration: &ecstypes.AdvancedConfiguration{
			AlternateTargetGroupArn: aws.String(fmt.Sprintf(localTargetGroup, "green")),
			TestListenerRule:        aws.String(localTestRule),
		},
	}}
}

// answerELB is ELBv2's answer to one call, about the local test listener.
func (e *ecsAPI) answerELB(params any) (any, error) {
	switch in := params.(type) {
	case *elb.DescribeRulesInput:
		e.count("DescribeRules")
		if !slices.Contains(in.RuleArns, localTestRule) {
			return nil, &smithy.GenericAPIError{Code: "RuleNotFound", Message: "One or more rules not found"}
		}
		return &elb.DescribeRulesOutput{Rules: []elbtypes.Rule{{RuleArn: aws.String(localTestRule), Priority: aws.String("1"),
			Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}}}}}, nil
	case *elb.DescribeListenersInput:
		e.count("DescribeListeners")
		u, err := url.Parse(e.l.App.Test.URL)
		if !slices.Contains(in.ListenerArns, localTestListener) || err != nil {
			return nil, &smithy.GenericAPIError{Code: "ListenerNotFound", Message: "One or more listeners not found"}
		}
		port, _ := strconv.Atoi(u.Port())
		return &elb.DescribeListenersOutput{Listeners: []elbtypes.Listener{{ListenerArn: aws.String(localTestListener),
			LoadBalancerArn: aws.String(localLB), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(int32(port))}}}, nil
	case *elb.DescribeLoadBalancersInput:
		e.count("DescribeLoadBalancers")
		u, err := url.Parse(e.l.App.Test.URL)
		if !slices.Contains(in.LoadBalancerArns, localLB) || err != nil {
			return nil, &smithy.GenericAPIError{Code: "LoadBalancerNotFound", Message: "One or more load balancers not found"}
		}
		return &elb.DescribeLoadBalancersOutput{LoadBalancers: []elbtypes.LoadBalancer{{LoadBalancerArn: aws.String(localLB),
			DNSName: aws.String(u.Hostname()), Scheme: elbtypes.LoadBalancerSchemeEnumInternal}}}, nil
	}
	return nil, &smithy.GenericAPIError{Code: "UnsupportedOperation", Message: fmt.Sprintf("local mode's ELBv2 does not answer %T", params)}
}
