package elbv2

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// stub answers every call of an SDK client at the Initialize step: no
// network, but the SDK's own input handling and error plumbing.
func stub(answer func(params any) (any, error)) func(*middleware.Stack) error {
	return awstest.Answer(answer)
}

func stubECS(answer func(params any) (any, error)) *ecs.Client {
	return ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{}, APIOptions: []func(*middleware.Stack) error{stub(answer)}})
}

func stubELB(answer func(params any) (any, error)) *elb.Client {
	return elb.New(elb.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{}, APIOptions: []func(*middleware.Stack) error{stub(answer)}})
}

const (
	revisionARN = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/9313423515462893900"
	albARN      = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/my-alb/50dc6c495c0c9188"
	listenerARN = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/my-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
	ruleARN     = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/my-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
	prodRuleARN = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/my-alb/50dc6c495c0c9188/aaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbb"
	nlbARN      = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/my-nlb/1234567890abcdef"
	nlbListener = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/net/my-nlb/1234567890abcdef/fedcba0987654321"
)

// world is what the stubs answer: one revision, its load balancers, and what
// ELBv2 knows.
type world struct {
	loadBalancers []ecstypes.LoadBalancer
	rules         map[string]elbtypes.Rule
	listeners     map[string]elbtypes.Listener
	lbs           map[string]elbtypes.LoadBalancer
	fail          map[string]error // by operation input type name
	calls         []string
}

func (w *world) finder(t *testing.T) *Finder {
	ecsClient := stubECS(func(p any) (any, error) {
		in, ok := p.(*ecs.DescribeServiceRevisionsInput)
		if !ok {
			t.Fatalf("unexpected ECS call %T", p)
		}
		w.calls = append(w.calls, "DescribeServiceRevisions")
		if err := w.fail["DescribeServiceRevisions"]; err != nil {
			return nil, err
		}
		if diff := cmp.Diff([]string{revisionARN}, in.ServiceRevisionArns); diff != "" {
			t.Errorf("revisions asked (-want +got):\n%s", diff)
		}
		if w.loadBalancers == nil {
			return &ecs.DescribeServiceRevisionsOutput{Failures: []ecstypes.Failure{{Arn: aws.String(revisionARN), Reason: aws.String("MISSING")}}}, nil
		}
		return &ecs.DescribeServiceRevisionsOutput{ServiceRevisions: []ecstypes.ServiceRevision{{
			ServiceRevisionArn: aws.String(revisionARN), LoadBalancers: w.loadBalancers,
		}}}, nil
	})
	elbClient := stubELB(func(p any) (any, error) {
		switch in := p.(type) {
		case *elb.DescribeRulesInput:
			w.calls = append(w.calls, "DescribeRules")
			if err := w.fail["DescribeRules"]; err != nil {
				return nil, err
			}
			out := &elb.DescribeRulesOutput{}
			for _, arn := range in.RuleArns {
				if r, ok := w.rules[arn]; ok {
					out.Rules = append(out.Rules, r)
				} else {
					return nil, &elbtypes.RuleNotFoundException{Message: aws.String("One or more rules not found")}
				}
			}
			return out, nil
		case *elb.DescribeListenersInput:
			w.calls = append(w.calls, "DescribeListeners")
			out := &elb.DescribeListenersOutput{}
			for _, arn := range in.ListenerArns {
				if l, ok := w.listeners[arn]; ok {
					out.Listeners = append(out.Listeners, l)
				} else {
					return nil, &elbtypes.ListenerNotFoundException{Message: aws.String("One or more listeners not found")}
				}
			}
			return out, nil
		case *elb.DescribeLoadBalancersInput:
			w.calls = append(w.calls, "DescribeLoadBalancers")
			out := &elb.DescribeLoadBalancersOutput{}
			for _, arn := range in.LoadBalancerArns {
				if lb, ok := w.lbs[arn]; ok {
					out.LoadBalancers = append(out.LoadBalancers, lb)
				}
			}
			return out, nil
		}
		t.Fatalf("unexpected ELBv2 call %T", p)
		return nil, nil
	})
	return NewFinder(ecsClient, elbClient)
}

func albWorld() *world {
	return &world{
		loadBalancers: []ecstypes.LoadBalancer{
			{TargetGroupArn: aws.String("arn:tg-without-advanced-config")},
			{TargetGroupArn: aws.String("arn:tg-blue"), AdvancedConfiguration: &ecstypes.AdvancedConfiguration{
				AlternateTargetGroupArn: aws.String("arn:tg-green"),
				ProductionListenerRule:  aws.String(prodRuleARN),
				TestListenerRule:        aws.String(ruleARN),
			}},
		},
		rules: map[string]elbtypes.Rule{ruleARN: {
			RuleArn: aws.String(ruleARN),
			Conditions: []elbtypes.RuleCondition{
				{Field: aws.String("http-header"), HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{
					HttpHeaderName: aws.String("x-amzn-ecs-bluegreen-test"), Values: []string{"true", "yes"}}},
				{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"*.orders.internal"}}},
			},
		}},
		listeners: map[string]elbtypes.Listener{listenerARN: {
			ListenerArn: aws.String(listenerARN), LoadBalancerArn: aws.String(albARN), Port: aws.Int32(8080), Protocol: elbtypes.ProtocolEnumHttp,
		}},
		lbs: map[string]elbtypes.LoadBalancer{albARN: {
			LoadBalancerArn: aws.String(albARN), DNSName: aws.String("my-alb-123.us-west-2.elb.amazonaws.com"), Type: elbtypes.LoadBalancerTypeEnumApplication,
		}},
	}
}

func TestFindALB(t *testing.T) {
	w := albWorld()
	got, err := w.finder(t).Find(context.Background(), revisionARN)
	if err != nil {
		t.Fatalf("Find = %v", err)
	}
	want := TestListener{
		BaseURL:         "http://my-alb-123.us-west-2.elb.amazonaws.com:8080",
		Headers:         map[string]string{"x-amzn-ecs-bluegreen-test": "true", "Host": "x.orders.internal"},
		RuleARN:         ruleARN,
		ListenerARN:     listenerARN,
		LoadBalancerARN: albARN,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Find (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"DescribeServiceRevisions", "DescribeRules", "DescribeListeners", "DescribeLoadBalancers"}, w.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if s := got.Source(); s != "test listener rule "+ruleARN {
		t.Errorf("Source() = %q", s)
	}
}

func TestFindNLBWithTLS(t *testing.T) {
	w := &world{
		loadBalancers: []ecstypes.LoadBalancer{{AdvancedConfiguration: &ecstypes.AdvancedConfiguration{TestListenerRule: aws.String(nlbListener)}}},
		listeners: map[string]elbtypes.Listener{nlbListener: {
			ListenerArn: aws.String(nlbListener), LoadBalancerArn: aws.String(nlbARN), Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumTls,
		}},
		lbs: map[string]elbtypes.LoadBalancer{nlbARN: {DNSName: aws.String("my-nlb-456.elb.us-west-2.amazonaws.com.")}},
	}
	got, err := w.finder(t).Find(context.Background(), revisionARN)
	if err != nil {
		t.Fatalf("Find = %v", err)
	}
	if got.BaseURL != "https://my-nlb-456.elb.us-west-2.amazonaws.com" || got.RuleARN != "" || got.Headers != nil {
		t.Errorf("Find = %+v, want https on the default port, no rule, no headers", got)
	}
	if len(got.Notes) != 1 || !strings.Contains(got.Notes[0], "certificate") {
		t.Errorf("Notes = %q, want a note about the certificate", got.Notes)
	}
	if diff := cmp.Diff([]string{"DescribeServiceRevisions", "DescribeListeners", "DescribeLoadBalancers"}, w.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if s := got.Source(); s != "test listener "+nlbListener {
		t.Errorf("Source() = %q", s)
	}
}

func TestConditionsThatHeadersCannotMeet(t *testing.T) {
	w := albWorld()
	w.rules[ruleARN] = elbtypes.Rule{Conditions: []elbtypes.RuleCondition{
		{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/api/*"}}},
		{Field: aws.String("query-string"), QueryStringConfig: &elbtypes.QueryStringConditionConfig{Values: []elbtypes.QueryStringKeyValuePair{{Key: aws.String("test"), Value: aws.String("1")}}}},
		{Field: aws.String("http-header"), HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String("x-canary"), RegexValues: []string{"^t.*"}}},
		{Field: aws.String("source-ip"), SourceIpConfig: &elbtypes.SourceIpConditionConfig{Values: []string{"10.0.0.0/8"}}},
		{Field: aws.String("http-request-method"), HttpRequestMethodConfig: &elbtypes.HttpRequestMethodConditionConfig{Values: []string{"GET"}}},
		{Field: aws.String("host-header"), Values: []string{"orders-test.example.com"}},
	}}
	got, err := w.finder(t).Find(context.Background(), revisionARN)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"Host": "orders-test.example.com"}, got.Headers); diff != "" {
		t.Errorf("Headers (-want +got):\n%s", diff)
	}
	for _, want := range []string{"/api/*", "test=1", "x-canary", "10.0.0.0/8", "methods GET"} {
		found := false
		for _, n := range got.Notes {
			found = found || strings.Contains(n, want)
		}
		if !found {
			t.Errorf("Notes = %q, want one mentioning %q", got.Notes, want)
		}
	}
}

func TestFindErrors(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	tests := []struct {
		name      string
		spoil     func(w *world)
		is        error
		want      string
		transient bool
	}{
		{name: "unknown revision", spoil: func(w *world) { w.loadBalancers = nil }, is: ErrNotFound, want: "MISSING"},
		{name: "no load balancer", spoil: func(w *world) { w.loadBalancers = []ecstypes.LoadBalancer{} }, is: ErrNoTestListener},
		{name: "no test listener rule", spoil: func(w *world) {
			w.loadBalancers = []ecstypes.LoadBalancer{{AdvancedConfiguration: &ecstypes.AdvancedConfiguration{ProductionListenerRule: aws.String(prodRuleARN)}}}
		}, is: ErrNoTestListener, want: "testListenerRule"},
		{name: "rule gone", spoil: func(w *world) { delete(w.rules, ruleARN) }, is: ErrNotFound},
		{name: "listener gone", spoil: func(w *world) { delete(w.listeners, listenerARN) }, is: ErrNotFound},
		{name: "load balancer gone", spoil: func(w *world) { delete(w.lbs, albARN) }, is: ErrNotFound},
		{name: "not an ELB ARN", spoil: func(w *world) {
			w.loadBalancers[1].AdvancedConfiguration.TestListenerRule = aws.String("arn:aws:ecs:us-west-2:1:service/x")
		}, want: "not an Elastic Load Balancing ARN"},
		{name: "a target group ARN", spoil: func(w *world) {
			w.loadBalancers[1].AdvancedConfiguration.TestListenerRule = aws.String("arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/x/1")
		}, want: "neither a listener rule nor a listener"},
		{name: "UDP listener", spoil: func(w *world) {
			l := w.listeners[listenerARN]
			l.Protocol = elbtypes.ProtocolEnumUdp
			w.listeners[listenerARN] = l
		}, want: "cannot carry HTTP"},
		{name: "ECS throttles", spoil: func(w *world) { w.fail = map[string]error{"DescribeServiceRevisions": throttled} }, transient: true},
		{name: "ELBv2 throttles", spoil: func(w *world) { w.fail = map[string]error{"DescribeRules": throttled} }, transient: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := albWorld()
			tt.spoil(w)
			_, err := w.finder(t).Find(context.Background(), revisionARN)
			if err == nil {
				t.Fatal("Find = nil error, want one")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Find = %v, want %v", err, tt.is)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Find = %v, want it to mention %q", err, tt.want)
			}
			if got := hook.IsTransient(err); got != tt.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tt.transient)
			}
		})
	}
}

func TestListenerOf(t *testing.T) {
	got, isRule, err := listenerOf(ruleARN)
	if err != nil || !isRule || got != listenerARN {
		t.Errorf("listenerOf(rule) = %q, %v, %v, want %q", got, isRule, err, listenerARN)
	}
	got, isRule, err = listenerOf(nlbListener)
	if err != nil || isRule || got != nlbListener {
		t.Errorf("listenerOf(listener) = %q, %v, %v", got, isRule, err)
	}
}

func TestConditionsRouting(t *testing.T) {
	_, _, r := conditions([]elbtypes.RuleCondition{
		{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/api/*"}}},
		{Field: aws.String("http-request-method"), HttpRequestMethodConfig: &elbtypes.HttpRequestMethodConditionConfig{Values: []string{"GET"}}},
		{Field: aws.String("source-ip"), SourceIpConfig: &elbtypes.SourceIpConditionConfig{Values: []string{"10.0.0.0/8"}}},
		{Field: aws.String("http-header"), HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String("x-test"), Values: []string{"true"}}},
	})
	if fmt.Sprint(r.paths, r.methods) != "[/api/*] [GET]" || len(r.unsatisfiable) != 1 || !strings.Contains(r.unsatisfiable[0], "10.0.0.0/8") {
		t.Errorf("routing = %+v", r)
	}
}
