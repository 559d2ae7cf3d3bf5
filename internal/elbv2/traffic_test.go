package elbv2

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/google/go-cmp/cmp"
)

// tgStub answers a client's calls at the SDK's Initialize step.
func tgStub(answer func(params any) (any, error)) []func(*middleware.Stack) error {
	return []func(*middleware.Stack) error{awstest.Answer(answer)}
}

func tgECS(answer func(params any) (any, error)) *ecs.Client {
	return ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{}, APIOptions: tgStub(answer)})
}

func tgELB(answer func(params any) (any, error)) *elb.Client {
	return elb.New(elb.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{}, APIOptions: tgStub(answer)})
}

const (
	revision = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/9313423515462893900"
	tgA      = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/orders-a/2453ed029918f21f"
	tgB      = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/orders-b/73e2d6bc24d8a067"
	rule     = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
	listener = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/net/orders-nlb/50dc6c495c0c9188/f2f7dc8efc522ab2"
)

func revisionWith(lbs ...ecstypes.LoadBalancer) func(any) (any, error) {
	return func(p any) (any, error) {
		in := p.(*ecs.DescribeServiceRevisionsInput)
		if len(in.ServiceRevisionArns) != 1 || in.ServiceRevisionArns[0] != revision {
			return nil, errors.New("asked for the wrong revision")
		}
		return &ecs.DescribeServiceRevisionsOutput{ServiceRevisions: []ecstypes.ServiceRevision{{ServiceRevisionArn: aws.String(revision), LoadBalancers: lbs}}}, nil
	}
}

func blueGreen(prodRule string) ecstypes.LoadBalancer {
	return ecstypes.LoadBalancer{
		TargetGroupArn: aws.String(tgA),
		ContainerName:  aws.String("web"),
		AdvancedConfiguration: &ecstypes.AdvancedConfiguration{
			AlternateTargetGroupArn: aws.String(tgB),
			ProductionListenerRule:  aws.String(prodRule),
		},
	}
}

func forward(weights map[string]int32) []elbtypes.Action {
	var tgs []elbtypes.TargetGroupTuple
	for _, arn := range []string{tgA, tgB} {
		if w, ok := weights[arn]; ok {
			tgs = append(tgs, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(w)})
		}
	}
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: tgs}}}
}

func rulesAnswer(actions []elbtypes.Action) func(any) (any, error) {
	return func(p any) (any, error) {
		in, ok := p.(*elb.DescribeRulesInput)
		if !ok || len(in.RuleArns) != 1 || in.RuleArns[0] != rule {
			return nil, errors.New("unexpected call")
		}
		return &elb.DescribeRulesOutput{Rules: []elbtypes.Rule{{RuleArn: aws.String(rule), Actions: actions}}}, nil
	}
}

func TestLocate(t *testing.T) {
	tests := []struct {
		name    string
		actions []elbtypes.Action
		want    Traffic
	}{
		{"alternate gets production", forward(map[string]int32{tgA: 0, tgB: 100}),
			Traffic{LoadBalancer: "app/orders/50dc6c495c0c9188", Green: tgB, Blue: tgA, ProductionRule: rule, GreenWeight: 100}},
		{"primary gets production", forward(map[string]int32{tgA: 100, tgB: 0}),
			Traffic{LoadBalancer: "app/orders/50dc6c495c0c9188", Green: tgA, Blue: tgB, ProductionRule: rule, GreenWeight: 100}},
		{"one target group, no weights", []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgB)}},
			Traffic{LoadBalancer: "app/orders/50dc6c495c0c9188", Green: tgB, Blue: tgA, ProductionRule: rule, GreenWeight: 1}},
		{"mid-shift, most traffic decides", forward(map[string]int32{tgA: 10, tgB: 90}),
			Traffic{LoadBalancer: "app/orders/50dc6c495c0c9188", Green: tgB, Blue: tgA, ProductionRule: rule, GreenWeight: 90, BlueWeight: 10}},
		{"an even split tells neither", forward(map[string]int32{tgA: 50, tgB: 50}),
			Traffic{LoadBalancer: "app/orders/50dc6c495c0c9188", Green: tgA, Blue: tgB, ProductionRule: rule, GreenWeight: 50, BlueWeight: 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFinder(tgECS(revisionWith(ecstypes.LoadBalancer{TargetGroupArn: aws.String("arn:other")}, blueGreen(rule))), tgELB(rulesAnswer(tt.actions)))
			got, err := f.Locate(context.Background(), revision)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Locate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLocateNetworkLoadBalancer(t *testing.T) {
	f := NewFinder(tgECS(revisionWith(blueGreen(listener))), tgELB(func(p any) (any, error) {
		in, ok := p.(*elb.DescribeListenersInput)
		if !ok || in.ListenerArns[0] != listener {
			return nil, errors.New("unexpected call")
		}
		return &elb.DescribeListenersOutput{Listeners: []elbtypes.Listener{{ListenerArn: aws.String(listener), DefaultActions: forward(map[string]int32{tgA: 100})}}}, nil
	}))
	got, err := f.Locate(context.Background(), revision)
	if err != nil {
		t.Fatal(err)
	}
	if got.LoadBalancer != "net/orders-nlb/50dc6c495c0c9188" || got.Green != tgA || got.Blue != tgB {
		t.Errorf("Locate(NLB) = %+v", got)
	}
}

func TestLocateErrors(t *testing.T) {
	denied := errors.New("AccessDenied")
	tests := []struct {
		name   string
		ecs    func(any) (any, error)
		elb    func(any) (any, error)
		wantIs error
		want   string
	}{
		{"revision unknown", func(any) (any, error) { return &ecs.DescribeServiceRevisionsOutput{}, nil }, nil, ErrNotFound, "describe service revision"},
		{"no blue/green load balancer", revisionWith(ecstypes.LoadBalancer{TargetGroupArn: aws.String(tgA)}), nil, ErrNotBlueGreen, "no load balancer with an alternate target group"},
		{"bad rule ARN", revisionWith(blueGreen("rule-1")), nil, ErrNotBlueGreen, `"rule-1"`},
		{"rule gone", revisionWith(blueGreen(rule)), func(any) (any, error) {
			return nil, &elbtypes.RuleNotFoundException{Message: aws.String("One or more rules not found")}
		}, ErrNotFound, "describe production listener rule"},
		{"rule forwards elsewhere", revisionWith(blueGreen(rule)), rulesAnswer([]elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("arn:x:targetgroup/other/1")}}),
			ErrNotBlueGreen, "forwards to neither"},
		{"ECS refuses", func(any) (any, error) { return nil, denied }, nil, denied, "describe service revision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			elbAnswer := tt.elb
			if elbAnswer == nil {
				elbAnswer = func(p any) (any, error) {
					t.Errorf("unexpected ELB call %T", p)
					return nil, errors.New("unexpected")
				}
			}
			_, err := NewFinder(tgECS(tt.ecs), tgELB(elbAnswer)).Locate(context.Background(), revision)
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Locate = %v, want %v with %q", err, tt.wantIs, tt.want)
			}
		})
	}
}

func TestDimensions(t *testing.T) {
	for arn, want := range map[string]string{
		tgA:                      "targetgroup/orders-a/2453ed029918f21f",
		"targetgroup/orders-a/1": "",
		"arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/x": "",
	} {
		if got := TargetGroupDimension(arn); got != want {
			t.Errorf("TargetGroupDimension(%q) = %q, want %q", arn, got, want)
		}
	}
	for arn, want := range map[string]string{
		rule:     "app/orders/50dc6c495c0c9188",
		listener: "net/orders-nlb/50dc6c495c0c9188",
		"arn:aws:elasticloadbalancing:us-west-2:1:loadbalancer/app/orders/50dc6c495c0c9188": "app/orders/50dc6c495c0c9188",
		"arn:aws:elasticloadbalancing:us-west-2:1:loadbalancer/gwy/x/1":                     "",
		"listener-rule/app/orders/1/2/3":                                                    "",
	} {
		if got := LoadBalancerDimension(arn); got != want {
			t.Errorf("LoadBalancerDimension(%q) = %q, want %q", arn, got, want)
		}
	}
}

// TestLocateGreenByTheTestListener: during a canary's first step blue has
// the larger share; the test listener, on green alone since
// TEST_TRAFFIC_SHIFT, tells green. A test rule that cannot tell (both
// target groups, or none found) leaves it to the shares.
func TestLocateGreenByTheTestListener(t *testing.T) {
	const testRule = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/orders/50dc6c495c0c9188/aaaaaaaaaaaaaaaa/1111111111111111"
	lb := blueGreen(rule)
	lb.AdvancedConfiguration.TestListenerRule = aws.String(testRule)
	for _, tt := range []struct {
		name      string
		test      []elbtypes.Action
		green     string
		testFound bool
	}{
		{"test listener on the alternate", forward(map[string]int32{tgB: 100}), tgB, true},
		{"test listener on both: the larger share", forward(map[string]int32{tgA: 50, tgB: 50}), tgA, true},
		{"test rule gone: the larger share", nil, tgA, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFinder(tgECS(revisionWith(lb)), tgELB(func(p any) (any, error) {
				in := p.(*elb.DescribeRulesInput)
				switch {
				case in.RuleArns[0] == rule:
					return &elb.DescribeRulesOutput{Rules: []elbtypes.Rule{{RuleArn: aws.String(rule), Actions: forward(map[string]int32{tgA: 90, tgB: 10})}}}, nil
				case in.RuleArns[0] == testRule && tt.testFound:
					return &elb.DescribeRulesOutput{Rules: []elbtypes.Rule{{RuleArn: aws.String(testRule), Actions: tt.test}}}, nil
				}
				return nil, &elbtypes.RuleNotFoundException{Message: aws.String("One or more rules not found")}
			}))
			got, err := f.Locate(context.Background(), revision)
			if err != nil {
				t.Fatal(err)
			}
			if got.Green != tt.green || got.Blue == got.Green || got.ByTestListener != (tt.green == tgB) {
				t.Errorf("Locate = green %s, blue %s, by the test listener %v; want green %s", got.Green, got.Blue, got.ByTestListener, tt.green)
			}
			if w := map[string]int32{tgA: 90, tgB: 10}; got.GreenWeight != w[got.Green] || got.BlueWeight != w[got.Blue] {
				t.Errorf("Locate weights = green %d, blue %d; want the production rule's", got.GreenWeight, got.BlueWeight)
			}
		})
	}
}
