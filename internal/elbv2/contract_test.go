package elbv2

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
)

// finder is what Finder and its twin have in common.
type finder interface {
	Find(ctx context.Context, serviceRevisionARN string) (TestListener, error)
	Locate(ctx context.Context, serviceRevisionARN string) (Traffic, error)
}

const plainRevision = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/1111111111111111111"

// contractAPI is Finder over stubs of ECS and ELBv2 that know revision (a
// blue/green revision with a test listener rule) and plainRevision (a
// revision whose load balancer has no advanced configuration).
func contractAPI(t *testing.T) *Finder {
	revisions := map[string][]ecstypes.LoadBalancer{
		revision: {{TargetGroupArn: aws.String(tgA), AdvancedConfiguration: &ecstypes.AdvancedConfiguration{
			AlternateTargetGroupArn: aws.String(tgB), ProductionListenerRule: aws.String(prodRuleARN), TestListenerRule: aws.String(ruleARN)}}},
		plainRevision: {{TargetGroupArn: aws.String(tgA)}},
	}
	ecsClient := stubECS(func(p any) (any, error) {
		in := p.(*ecs.DescribeServiceRevisionsInput)
		out := &ecs.DescribeServiceRevisionsOutput{}
		for _, arn := range in.ServiceRevisionArns {
			if lbs, ok := revisions[arn]; ok {
				out.ServiceRevisions = append(out.ServiceRevisions, ecstypes.ServiceRevision{ServiceRevisionArn: aws.String(arn), LoadBalancers: lbs})
			} else {
				out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			}
		}
		return out, nil
	})
	rules := map[string]elbtypes.Rule{
		ruleARN:     {RuleArn: aws.String(ruleARN)},
		prodRuleARN: {RuleArn: aws.String(prodRuleARN), Actions: forward(map[string]int32{tgA: 0, tgB: 100})},
	}
	elbClient := stubELB(func(p any) (any, error) {
		switch in := p.(type) {
		case *elb.DescribeRulesInput:
			r, ok := rules[in.RuleArns[0]]
			if !ok {
				return nil, &elbtypes.RuleNotFoundException{Message: aws.String("One or more rules not found")}
			}
			return &elb.DescribeRulesOutput{Rules: []elbtypes.Rule{r}}, nil
		case *elb.DescribeListenersInput:
			return &elb.DescribeListenersOutput{Listeners: []elbtypes.Listener{{ListenerArn: aws.String(listenerARN), LoadBalancerArn: aws.String(albARN),
				Port: aws.Int32(8080), Protocol: elbtypes.ProtocolEnumHttp}}}, nil
		case *elb.DescribeLoadBalancersInput:
			return &elb.DescribeLoadBalancersOutput{LoadBalancers: []elbtypes.LoadBalancer{{LoadBalancerArn: aws.String(albARN),
				DNSName: aws.String("my-alb-123.us-west-2.elb.amazonaws.com")}}}, nil
		}
		t.Fatalf("unexpected ELBv2 call %T", p)
		return nil, nil
	})
	return NewFinder(ecsClient, elbClient)
}

// TestContract holds Finder and its in-memory twin to the same
// answers: a blue/green revision's test listener and traffic, a revision
// with neither, and a revision ECS does not know.
func TestContract(t *testing.T) {
	test := TestListener{BaseURL: "http://my-alb-123.us-west-2.elb.amazonaws.com:8080", RuleARN: ruleARN, ListenerARN: listenerARN, LoadBalancerARN: albARN}
	traffic := Traffic{LoadBalancer: "app/my-alb/50dc6c495c0c9188", Green: tgB, Blue: tgA, ProductionRule: prodRuleARN, GreenWeight: 100}
	impls := map[string]func(t *testing.T) finder{
		"ECS and ELBv2 APIs (stub)": func(t *testing.T) finder { return contractAPI(t) },
		"memory": func(t *testing.T) finder {
			m := &Memory{}
			m.Put(revision, &test, &traffic)
			m.Put(plainRevision, nil, nil)
			return m
		},
	}
	for name, impl := range impls {
		t.Run(name, func(t *testing.T) {
			f, ctx := impl(t), context.Background()
			got, err := f.Find(ctx, revision)
			if err != nil || !cmp.Equal(test, got) {
				t.Errorf("Find = %+v, %v; want %+v", got, err, test)
			}
			loc, err := f.Locate(ctx, revision)
			if err != nil || loc != traffic {
				t.Errorf("Locate = %+v, %v; want %+v", loc, err, traffic)
			}
			if _, err := f.Find(ctx, plainRevision); !errors.Is(err, ErrNoTestListener) {
				t.Errorf("Find of a revision without a test listener = %v, want ErrNoTestListener", err)
			}
			if _, err := f.Locate(ctx, plainRevision); !errors.Is(err, ErrNotBlueGreen) {
				t.Errorf("Locate of a revision without blue/green = %v, want ErrNotBlueGreen", err)
			}
			const unknown = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/404"
			if _, err := f.Find(ctx, unknown); !errors.Is(err, ErrNotFound) {
				t.Errorf("Find of an unknown revision = %v, want ErrNotFound", err)
			}
			if _, err := f.Locate(ctx, unknown); !errors.Is(err, ErrNotFound) {
				t.Errorf("Locate of an unknown revision = %v, want ErrNotFound", err)
			}
		})
	}
}
