package bake_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// listener stands for a local production listener that counts requests,
// status codes and latencies per side: a TargetStats that tells green and
// blue apart by name, with no target groups and no CloudWatch.
type listener map[string]bake.Stats

func (l listener) TargetStats(ctx context.Context, t bake.Target, start, end time.Time) (bake.Stats, error) {
	s, ok := l[t.Name]
	if !ok {
		return bake.Stats{}, fmt.Errorf("side %q: %w", t.Name, bake.ErrUnsupported)
	}
	return s, nil
}

// A bake against a local source: no alarms, no metric math, no locator, no
// state bucket. Green degrades after the shift, and the second call rolls
// the deployment back.
func ExampleHookHandler() {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	src := listener{
		bake.Green: {Requests: 240, Errors5xx: 1, Latency: &bake.Percentiles{P50: 12, P90: 30, P99: 80}},
		bake.Blue:  {Requests: 900, Errors5xx: 2, Latency: &bake.Percentiles{P50: 11, P90: 28, P99: 75}},
	}
	checker := &bake.Checker{Targets: src, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	cfg, err := bake.ParseConfig([]byte(`{"window": "2m", "minRequests": 20, "callbackDelay": 10,
		"metrics": [{"name": "5xx rate", "kind": "targetGroup5xxRate", "max": 0.05},
		            {"name": "p99", "kind": "targetGroupLatencyP99", "maxRelativeToBlue": 2}]}`))
	if err != nil {
		panic(err)
	}
	h := bake.HookHandler(checker, cfg)
	req := hook.Request{
		LifecycleStage: hook.StagePostProductionTrafficShift,
		ResourceARN:    "arn:aws:ecs:us-east-1:000000000000:service-deployment/local/web/d1",
		ExecutionDetails: hook.ExecutionDetails{
			ServiceARN:               "arn:aws:ecs:us-east-1:000000000000:service/local/web",
			TargetServiceRevisionARN: "arn:aws:ecs:us-east-1:000000000000:service-revision/local/web/2",
		},
	}
	res, _ := h(context.Background(), req)
	fmt.Println(res.HookStatus, res.CallBackDelay, res.Reason)

	// ECS calls again with the returned hookDetails; meanwhile green fails a
	// third of its requests.
	req.HookDetails = res.HookDetails
	now = now.Add(30 * time.Second)
	src[bake.Green] = bake.Stats{Requests: 300, Errors5xx: 100, Latency: &bake.Percentiles{P50: 12, P90: 30, P99: 90}}
	res, _ = h(context.Background(), req)
	fmt.Println(res.HookStatus, res.Reason)
	// Output:
	// IN_PROGRESS 10 baking 0s of 2m, every check within limits, green served 240 requests
	// FAILED bake failed after 30s: 5xx rate: 0.3333 > max 0.05
}
