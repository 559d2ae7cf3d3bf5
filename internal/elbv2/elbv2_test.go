package elbv2

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// api answers as ELBv2 does: the resources it has, or a not-found error
// naming the kind.
type api struct {
	rules     []elbtypes.Rule
	listeners []elbtypes.Listener
	lbs       []elbtypes.LoadBalancer
	err       error
}

func (a api) DescribeRules(_ context.Context, in *elb.DescribeRulesInput, _ ...func(*elb.Options)) (*elb.DescribeRulesOutput, error) {
	if a.err != nil {
		return nil, a.err
	}
	for _, r := range a.rules {
		if aws.ToString(r.RuleArn) == in.RuleArns[0] {
			return &elb.DescribeRulesOutput{Rules: []elbtypes.Rule{r}}, nil
		}
	}
	return nil, &elbtypes.RuleNotFoundException{Message: aws.String("One or more rules not found")}
}

func (a api) DescribeListeners(_ context.Context, in *elb.DescribeListenersInput, _ ...func(*elb.Options)) (*elb.DescribeListenersOutput, error) {
	if a.err != nil {
		return nil, a.err
	}
	for _, l := range a.listeners {
		if aws.ToString(l.ListenerArn) == in.ListenerArns[0] {
			return &elb.DescribeListenersOutput{Listeners: []elbtypes.Listener{l}}, nil
		}
	}
	return &elb.DescribeListenersOutput{}, nil
}

func (a api) DescribeLoadBalancers(_ context.Context, in *elb.DescribeLoadBalancersInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	if a.err != nil {
		return nil, a.err
	}
	for _, lb := range a.lbs {
		if aws.ToString(lb.LoadBalancerArn) == in.LoadBalancerArns[0] {
			return &elb.DescribeLoadBalancersOutput{LoadBalancers: []elbtypes.LoadBalancer{lb}}, nil
		}
	}
	return nil, &elbtypes.LoadBalancerNotFoundException{Message: aws.String("not found")}
}

const (
	demoRuleARN     = "arn:aws:elasticloadbalancing:us-west-2:1:listener-rule/app/demo/abc/def/ghi"
	demoListenerARN = "arn:aws:elasticloadbalancing:us-west-2:1:listener/app/demo/abc/def"
	lbARN           = "arn:aws:elasticloadbalancing:us-west-2:1:loadbalancer/app/demo/abc"
)

func TestReadsByARN(t *testing.T) {
	ctx := context.Background()
	a := api{
		rules:     []elbtypes.Rule{{RuleArn: aws.String(demoRuleARN), Priority: aws.String("1")}},
		listeners: []elbtypes.Listener{{ListenerArn: aws.String(demoListenerARN), Port: aws.Int32(8080)}},
		lbs:       []elbtypes.LoadBalancer{{LoadBalancerArn: aws.String(lbARN), DNSName: aws.String("demo.example.com")}},
	}
	if r, err := Rule(ctx, a, demoRuleARN); err != nil || aws.ToString(r.Priority) != "1" {
		t.Errorf("Rule = %+v, %v", r, err)
	}
	if l, err := Listener(ctx, a, demoListenerARN); err != nil || aws.ToInt32(l.Port) != 8080 {
		t.Errorf("Listener = %+v, %v", l, err)
	}
	if lb, err := LoadBalancer(ctx, a, lbARN); err != nil || aws.ToString(lb.DNSName) != "demo.example.com" {
		t.Errorf("LoadBalancer = %+v, %v", lb, err)
	}
}

// TestNotFound checks that a missing resource is ErrNotFound whether ELBv2
// answers with an error (rules, load balancers) or with nothing
// (listeners), and that any other error is passed on as it is.
func TestNotFound(t *testing.T) {
	ctx := context.Background()
	var empty api
	if _, err := Rule(ctx, empty, demoRuleARN); !errors.Is(err, ErrNotFound) {
		t.Errorf("Rule of a missing rule = %v, want ErrNotFound", err)
	}
	if _, err := Listener(ctx, empty, demoListenerARN); !errors.Is(err, ErrNotFound) {
		t.Errorf("Listener of a missing listener = %v, want ErrNotFound", err)
	}
	if _, err := LoadBalancer(ctx, empty, lbARN); !errors.Is(err, ErrNotFound) {
		t.Errorf("LoadBalancer of a missing load balancer = %v, want ErrNotFound", err)
	}
	denied := errors.New("AccessDenied")
	if _, err := Rule(ctx, api{err: denied}, demoRuleARN); !errors.Is(err, denied) || errors.Is(err, ErrNotFound) {
		t.Errorf("Rule when denied = %v, want the API's error, not ErrNotFound", err)
	}
}
