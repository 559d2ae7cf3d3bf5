package local

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
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

// deploymentAlarmState is the state of the one alarm local mode has,
// DeploymentAlarm.
func (l *Local) deploymentAlarmState() cwmetrics.Alarm {
	name, firing := l.deploymentAlarm(l.Clock.Now())
	a := cwmetrics.Alarm{Name: name, State: cwmetrics.StateOK, Reason: "green's production 5xx share is within the threshold"}
	if firing {
		a.State = cwmetrics.StateAlarm
		a.Reason = fmt.Sprintf("more than %.0f%% of at least %d production requests to green answered 5xx in the last %s",
			deploymentAlarmThreshold*100, deploymentAlarmMinimum, simulator.AlarmPeriod)
	}
	return a
}

// alarms is the alarm source of the approval hook (abortOnAlarms) and of
// the bake (alarms) locally: local mode's one alarm, selected as CloudWatch
// selects alarms.
type alarms struct{ l *Local }

func (a alarms) Alarms(ctx context.Context, names, prefixes []string) ([]cwmetrics.Alarm, error) {
	var m cwmetrics.Memory
	m.SetAlarm(a.l.deploymentAlarmState())
	return m.Alarms(ctx, names, prefixes)
}
