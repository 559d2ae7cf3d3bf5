package bakehook

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/elbv2"
)

// Alarms adapts an alarm reader (CloudWatch, or its twin) to bake.Alarms.
type Alarms struct{ Reader cwmetrics.AlarmReader }

// Alarms implements bake.Alarms.
func (a Alarms) Alarms(ctx context.Context, names, prefixes []string) ([]bake.Alarm, error) {
	list, err := a.Reader.Alarms(ctx, names, prefixes)
	out := make([]bake.Alarm, 0, len(list))
	for _, a := range list {
		out = append(out, bake.Alarm{Name: a.Name, State: a.State, Reason: a.Reason, Since: a.Since})
	}
	return out, sourceError(err)
}

// CloudWatch adapts the CloudWatch reader to the bake's Alarms,
// TargetStats and Expressions.
type CloudWatch struct{ Client *cwmetrics.Client }

// Alarms implements bake.Alarms.
func (c CloudWatch) Alarms(ctx context.Context, names, prefixes []string) ([]bake.Alarm, error) {
	return Alarms{c.Client}.Alarms(ctx, names, prefixes)
}

// TargetStats implements bake.TargetStats. A side's target group is given
// to CloudWatch as its TargetGroup dimension.
func (c CloudWatch) TargetStats(ctx context.Context, t bake.Target, start, end time.Time) (bake.Stats, error) {
	s, err := c.Client.TargetStats(ctx, cwmetrics.Target{
		Name:         t.Name,
		LoadBalancer: t.LoadBalancer,
		TargetGroup:  elbv2.TargetGroupDimension(t.TargetGroup),
	}, start, end)
	out := bake.Stats{
		Requests:         s.Requests,
		Errors5xx:        s.Errors5xx,
		ConnectionErrors: s.ConnectionErrors,
		Errors5xxMissing: s.Errors5xxMissing,
	}
	if s.Latency != nil {
		out.Latency = &bake.Percentiles{P50: s.Latency.P50, P90: s.Latency.P90, P99: s.Latency.P99}
	}
	return out, sourceError(err)
}

// Expression implements bake.Expressions.
func (c CloudWatch) Expression(ctx context.Context, expr string, metrics map[string]bake.Metric, start, end time.Time) ([]float64, error) {
	in := make(map[string]cwmetrics.Metric, len(metrics))
	for id, m := range metrics {
		in[id] = cwmetrics.Metric{Namespace: m.Namespace, Name: m.Name, Dimensions: m.Dimensions, Stat: m.Stat}
	}
	v, err := c.Client.Expression(ctx, expr, in, start, end)
	return v, sourceError(err)
}

// Locator adapts the target-group finder to bake.Locator.
type Locator struct{ Finder *elbv2.Finder }

// Locate implements bake.Locator.
func (l Locator) Locate(ctx context.Context, serviceRevisionARN string) (bake.Traffic, error) {
	t, err := l.Finder.Locate(ctx, serviceRevisionARN)
	return bake.Traffic{LoadBalancer: t.LoadBalancer, Green: t.Green, Blue: t.Blue, ProductionRule: t.ProductionRule,
		GreenWeight: t.GreenWeight, BlueWeight: t.BlueWeight, ByTestListener: t.ByTestListener}, err
}

// Rollouts adapts the ECS reader to bake.Rollouts: one
// DescribeServiceDeployments call.
type Rollouts struct{ Reader *ecsdeploy.Reader }

// Rollout implements bake.Rollouts.
func (r Rollouts) Rollout(ctx context.Context, deploymentARN string) (bake.Rollout, error) {
	d, err := r.Reader.Hooks(ctx, deploymentARN)
	ro := d.Rollout
	return bake.Rollout{Stepped: ro.Stepped(), Strategy: ro.Strategy, StepBake: ro.StepBake, GreenShare: ro.GreenShare, Over: ecsdeploy.Over(d.Status), Status: d.Status}, err
}

// sourceError gives err the bake's kind where CloudWatch's kind has one,
// keeping its text and the rest of its chain (whether it is transient).
func sourceError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, cwmetrics.ErrUnsupported):
		return kindError{err, bake.ErrUnsupported}
	case errors.Is(err, cwmetrics.ErrNoData):
		return kindError{err, bake.ErrNoData}
	}
	return err
}

type kindError struct{ err, kind error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.err, e.kind} }
