package local

import (
	"context"
	"fmt"
	"time"

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
