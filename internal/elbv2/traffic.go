package elbv2

// Finding the two target groups of an ECS blue/green
// deployment and telling which one is green.
//
// ECS describes a service revision's load balancing in its loadBalancers:
// targetGroupArn and advancedConfiguration.alternateTargetGroupArn are the
// pair it alternates between, and productionListenerRule is the listener
// rule (a listener, for a Network Load Balancer) whose forward action it
// rewrites when it shifts production traffic. The test listener rule, when
// there is one, forwards to green alone from TEST_TRAFFIC_SHIFT on; without
// one, green is the target group the production action gives the larger
// weight (after the shift, all of it); the other target group of the pair
// is blue. The rule's
// ARN also names the load balancer, which CloudWatch needs as a dimension.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
)

var (
	// ErrNotBlueGreen is returned when the revision's load balancing cannot
	// tell green from blue: no alternate target group, no production
	// listener rule, or a rule that forwards to neither or both equally.
	ErrNotBlueGreen = errors.New("no blue/green target groups")
)

// RevisionsAPI is the part of *ecs.Client the finders use.
type RevisionsAPI = ecsdeploy.RevisionsAPI

// Traffic says where production traffic of a blue/green deployment goes.
type Traffic struct {
	// LoadBalancer is the load balancer's CloudWatch dimension:
	// app/NAME/ID for an Application Load Balancer, net/NAME/ID for a
	// Network Load Balancer.
	LoadBalancer string `json:"loadBalancer"`
	// Green is the ARN of the target revision's target group: the one the
	// test listener forwards to, or else the one production forwards to
	// (the larger share).
	Green string `json:"green"`
	// Blue is the ARN of the other target group of the pair.
	Blue string `json:"blue"`
	// ProductionRule is the ARN of the production listener rule (or listener).
	ProductionRule string `json:"productionRule"`
	// GreenWeight and BlueWeight are the production rule's weights of the
	// two target groups as read (0 for one it does not forward to).
	GreenWeight int32 `json:"greenWeight"`
	BlueWeight  int32 `json:"blueWeight"`
	// ByTestListener is set when the test listener rule told green; false
	// when the production weights did (the larger one).
	ByTestListener bool `json:"byTestListener,omitempty"`
}

// testTarget returns the index in pair of the one target group the
// revision's test listener rule forwards to, or -1 when there is no test
// listener rule, it cannot be found, or it forwards to both or neither.
func (f *Finder) testTarget(ctx context.Context, lb *ecstypes.LoadBalancer, pair [2]string) (int, error) {
	ref := aws.ToString(lb.AdvancedConfiguration.TestListenerRule)
	if ref == "" {
		return -1, nil
	}
	actions, err := f.actions(ctx, ref, "test")
	if errors.Is(err, ErrNotFound) {
		return -1, nil
	}
	if err != nil {
		return -1, err
	}
	w := forwardWeights(actions)
	_, ok0 := w[pair[0]]
	_, ok1 := w[pair[1]]
	switch {
	case ok0 && !ok1:
		return 0, nil
	case ok1 && !ok0:
		return 1, nil
	}
	return -1, nil
}

// Locate returns the traffic of the deployment whose target (green) revision
// is serviceRevisionARN. Green is told by the test listener rule, else by
// the larger production weight; an even split tells neither, and Green
// and Blue are then the pair in ECS's order (ByTestListener false, equal
// weights). When the revision has several load balancers, the
// first with a blue/green configuration is used. It returns an error
// wrapping ErrNotFound or ErrNotBlueGreen when it cannot say; other errors
// are the APIs' own, wrapped.
func (f *Finder) Locate(ctx context.Context, serviceRevisionARN string) (Traffic, error) {
	rev, err := describeRevision(ctx, f.ecs, serviceRevisionARN)
	if err != nil {
		return Traffic{}, err
	}
	var lb *ecstypes.LoadBalancer
	for i := range rev.LoadBalancers {
		ac := rev.LoadBalancers[i].AdvancedConfiguration
		if ac != nil && aws.ToString(ac.AlternateTargetGroupArn) != "" && aws.ToString(ac.ProductionListenerRule) != "" {
			lb = &rev.LoadBalancers[i]
			break
		}
	}
	if lb == nil {
		return Traffic{}, fmt.Errorf("service revision %s: %w: no load balancer with an alternate target group and a production listener rule", serviceRevisionARN, ErrNotBlueGreen)
	}
	pair := [2]string{aws.ToString(lb.TargetGroupArn), aws.ToString(lb.AdvancedConfiguration.AlternateTargetGroupArn)}
	rule := aws.ToString(lb.AdvancedConfiguration.ProductionListenerRule)
	lbDim := LoadBalancerDimension(rule)
	if lbDim == "" {
		return Traffic{}, fmt.Errorf("production listener rule %q: %w: not a listener or listener rule ARN", rule, ErrNotBlueGreen)
	}
	actions, err := f.actions(ctx, rule, "production")
	if err != nil {
		return Traffic{}, err
	}
	weights := forwardWeights(actions)
	w0, ok0 := weights[pair[0]]
	w1, ok1 := weights[pair[1]]
	t := Traffic{LoadBalancer: lbDim, ProductionRule: rule}
	// The test listener forwards to green alone from TEST_TRAFFIC_SHIFT on:
	// it tells green even while blue has the larger share (a canary's
	// first step).
	if green, err := f.testTarget(ctx, lb, pair); err != nil {
		return Traffic{}, err
	} else if green >= 0 {
		t.Green, t.Blue, t.ByTestListener = pair[green], pair[1-green], true
		t.GreenWeight, t.BlueWeight = weights[t.Green], weights[t.Blue]
		return t, nil
	}
	switch {
	case ok0 && (!ok1 || w0 > w1):
		t.Green, t.Blue, t.GreenWeight, t.BlueWeight = pair[0], pair[1], w0, w1
	case ok1 && (!ok0 || w1 > w0):
		t.Green, t.Blue, t.GreenWeight, t.BlueWeight = pair[1], pair[0], w1, w0
	case ok0 && ok1:
		// An even split (a linear step of 50%) tells neither: the pair as
		// ECS describes it, for the caller to tell by other means (the
		// step check's record of green).
		t.Green, t.Blue, t.GreenWeight, t.BlueWeight = pair[0], pair[1], w0, w1
	default:
		return Traffic{}, fmt.Errorf("production listener rule %s: %w: forwards to neither %s nor %s", rule, ErrNotBlueGreen, pair[0], pair[1])
	}
	return t, nil
}

// actions returns the actions of a (which: production or test) listener
// rule, or the default actions of a listener.
func (f *Finder) actions(ctx context.Context, arn, which string) ([]elbtypes.Action, error) {
	if strings.Contains(arn, ":listener-rule/") {
		r, err := Rule(ctx, f.elb, arn)
		if err != nil {
			return nil, fmt.Errorf("describe %s listener rule: %w", which, err)
		}
		return r.Actions, nil
	}
	l, err := Listener(ctx, f.elb, arn)
	if err != nil {
		return nil, fmt.Errorf("describe %s listener: %w", which, err)
	}
	return l.DefaultActions, nil
}

// forwardWeights returns the target groups that the forward actions send
// traffic to, with their weights. A forward action naming one target group
// without weights sends it everything.
func forwardWeights(actions []elbtypes.Action) map[string]int32 {
	w := map[string]int32{}
	for _, a := range actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
			for _, tg := range a.ForwardConfig.TargetGroups {
				weight := int32(1) // ELB's default weight
				if tg.Weight != nil {
					weight = *tg.Weight
				}
				w[aws.ToString(tg.TargetGroupArn)] += weight
			}
			continue
		}
		if arn := aws.ToString(a.TargetGroupArn); arn != "" {
			w[arn] += 1
		}
	}
	for arn, weight := range w {
		if weight <= 0 {
			delete(w, arn)
		}
	}
	return w
}

// TargetGroupDimension returns the CloudWatch TargetGroup dimension of a
// target group ARN, targetgroup/NAME/ID, or "" if arn is not one.
func TargetGroupDimension(arn string) string {
	_, res, ok := strings.Cut(arn, ":targetgroup/")
	if !ok || !strings.HasPrefix(arn, "arn:") || strings.Count(res, "/") != 1 {
		return ""
	}
	return "targetgroup/" + res
}

// LoadBalancerDimension returns the CloudWatch LoadBalancer dimension,
// app/NAME/ID or net/NAME/ID, of the load balancer that a load balancer,
// listener or listener rule ARN belongs to, or "" if arn is none of these.
func LoadBalancerDimension(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return ""
	}
	var res string
	for _, kind := range []string{":listener-rule/", ":listener/", ":loadbalancer/"} {
		if _, r, ok := strings.Cut(arn, kind); ok {
			res = r
			break
		}
	}
	parts := strings.Split(res, "/")
	if len(parts) < 3 || (parts[0] != "app" && parts[0] != "net") || parts[1] == "" || parts[2] == "" {
		return ""
	}
	return strings.Join(parts[:3], "/")
}
