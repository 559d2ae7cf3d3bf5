package local

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
)

// listenerStats answers the bake hook's questions about green and blue from
// what the local production listener saw: the local stand-in for the load
// balancer's CloudWatch metrics.
type listenerStats struct{ l *Listener }

// TargetStats returns what side t served between start and end.
func (s listenerStats) TargetStats(ctx context.Context, t bake.Target, start, end time.Time) (bake.Stats, error) {
	var side simulator.Side
	switch t.Name {
	case bake.Green:
		side = simulator.Green
	case bake.Blue:
		side = simulator.Blue
	default:
		return bake.Stats{}, fmt.Errorf("side %q: %w", t.Name, bake.ErrUnsupported)
	}
	st := s.l.Stats(side, start, end)
	out := bake.Stats{Requests: float64(st.Requests), Errors5xx: float64(st.Errors5xx)}
	if st.Requests > 0 {
		out.Latency = &bake.Percentiles{P50: st.P50, P90: st.P90, P99: st.P99}
	}
	return out, nil
}

// deploymentAlarmState answers CloudWatch's DescribeAlarms for the one
// alarm local mode has, DeploymentAlarm, when names or prefixes select it.
func (l *Local) deploymentAlarmState(names, prefixes []string) (name, state, reason string, selected bool) {
	name, firing := l.deploymentAlarm(l.Clock.Now())
	selected = slices.Contains(names, name) || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
	state, reason = "OK", "green's production 5xx share is within the threshold"
	if firing {
		state = "ALARM"
		reason = fmt.Sprintf("more than %.0f%% of at least %d production requests to green answered 5xx in the last %s",
			deploymentAlarmThreshold*100, deploymentAlarmMinimum, simulator.AlarmPeriod)
	}
	return name, state, reason, selected
}

// approvalAlarms is the approval hook's alarm source locally (abortOnAlarms).
type approvalAlarms struct{ l *Local }

func (a approvalAlarms) Alarms(ctx context.Context, names, prefixes []string) ([]approval.Alarm, error) {
	name, state, reason, ok := a.l.deploymentAlarmState(names, prefixes)
	if !ok {
		return nil, nil
	}
	return []approval.Alarm{{Name: name, State: state, Reason: reason}}, nil
}

// bakeAlarms is the bake hook's alarm source locally (alarms).
type bakeAlarms struct{ l *Local }

func (a bakeAlarms) Alarms(ctx context.Context, names, prefixes []string) ([]bake.Alarm, error) {
	name, state, reason, ok := a.l.deploymentAlarmState(names, prefixes)
	if !ok {
		return nil, nil
	}
	return []bake.Alarm{{Name: name, State: state, Reason: reason}}, nil
}
