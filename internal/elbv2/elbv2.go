// Package elbv2 is the suite's one adapter for Elastic Load Balancing v2:
// it reads rules, listeners and load balancers by ARN, and walks from an
// ECS service revision to its listeners (Finder), for the bake hook
// (Locate: green's and blue's target groups) and the smoke hook (Find:
// where test traffic enters). Memory is its twin.
package elbv2

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
)

// API is the part of *elasticloadbalancingv2.Client the finder uses.
type API interface {
	RulesAPI
	ListenersAPI
	LoadBalancersAPI
}

// Finder walks from an ECS service revision to its load balancer's
// listeners: where test traffic enters (Find, for the smoke hook) and
// where production traffic goes (Locate, for the bake hook).
type Finder struct {
	ecs RevisionsAPI
	elb API
}

// NewFinder returns a Finder using an *ecs.Client and an
// *elasticloadbalancingv2.Client.
func NewFinder(ecsAPI RevisionsAPI, elbAPI API) *Finder {
	return &Finder{ecs: ecsAPI, elb: elbAPI}
}

// ErrNotFound marks a rule, listener or load balancer that does not exist,
// whether ELBv2 said so with an error or with an empty answer.
var ErrNotFound = errors.New("not found")

// RulesAPI is the ELBv2 call Rule makes.
type RulesAPI interface {
	DescribeRules(ctx context.Context, params *elb.DescribeRulesInput, optFns ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
}

// ListenersAPI is the ELBv2 call Listener makes.
type ListenersAPI interface {
	DescribeListeners(ctx context.Context, params *elb.DescribeListenersInput, optFns ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
}

// LoadBalancersAPI is the ELBv2 call LoadBalancer makes.
type LoadBalancersAPI interface {
	DescribeLoadBalancers(ctx context.Context, params *elb.DescribeLoadBalancersInput, optFns ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
}

// Rule returns the listener rule arn. An error that is not ErrNotFound is
// the API's, for the caller to classify.
func Rule(ctx context.Context, api RulesAPI, arn string) (elbtypes.Rule, error) {
	out, err := api.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{arn}})
	if err != nil {
		return elbtypes.Rule{}, Translate(err)
	}
	for _, r := range out.Rules {
		if aws.ToString(r.RuleArn) == arn || len(out.Rules) == 1 && r.RuleArn == nil {
			return r, nil
		}
	}
	return elbtypes.Rule{}, fmt.Errorf("%s: %w", arn, ErrNotFound)
}

// Listener returns the listener arn.
func Listener(ctx context.Context, api ListenersAPI, arn string) (elbtypes.Listener, error) {
	out, err := api.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{arn}})
	if err != nil {
		return elbtypes.Listener{}, Translate(err)
	}
	for _, l := range out.Listeners {
		if aws.ToString(l.ListenerArn) == arn || len(out.Listeners) == 1 && l.ListenerArn == nil {
			return l, nil
		}
	}
	return elbtypes.Listener{}, fmt.Errorf("%s: %w", arn, ErrNotFound)
}

// LoadBalancer returns the load balancer arn.
func LoadBalancer(ctx context.Context, api LoadBalancersAPI, arn string) (elbtypes.LoadBalancer, error) {
	out, err := api.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil {
		return elbtypes.LoadBalancer{}, Translate(err)
	}
	for _, lb := range out.LoadBalancers {
		if aws.ToString(lb.LoadBalancerArn) == arn || len(out.LoadBalancers) == 1 && lb.LoadBalancerArn == nil {
			return lb, nil
		}
	}
	return elbtypes.LoadBalancer{}, fmt.Errorf("%s: %w", arn, ErrNotFound)
}

// Translate maps ELBv2's not-found errors to ErrNotFound, keeping the
// original in the chain.
func Translate(err error) error {
	var (
		rule     *elbtypes.RuleNotFoundException
		listener *elbtypes.ListenerNotFoundException
		lb       *elbtypes.LoadBalancerNotFoundException
	)
	if errors.As(err, &rule) || errors.As(err, &listener) || errors.As(err, &lb) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// describeRevision describes the service revision arn; one ECS does not know wraps
// ErrNotFound.
func describeRevision(ctx context.Context, api RevisionsAPI, arn string) (ecstypes.ServiceRevision, error) {
	rev, err := ecsdeploy.DescribeRevision(ctx, api, arn)
	if errors.Is(err, ecsdeploy.ErrRevisionNotFound) {
		return rev, fmt.Errorf("describe service revision %s: %w: %w", arn, ErrNotFound, err)
	}
	if err != nil {
		return rev, fmt.Errorf("describe service revision: %w", err)
	}
	return rev, nil
}
