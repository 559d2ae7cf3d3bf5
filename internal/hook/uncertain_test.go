package hook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestUncertainIsBounded: under every reading of returned hookDetails, a
// hook that cannot tell answers IN_PROGRESS until it has not been able to
// for MaxUncertain, then FAILED naming why; once it can tell, the bound is
// cleared, and a later spell of not telling starts afresh.
func TestUncertainIsBounded(t *testing.T) {
	denied := errors.New("AccessDeniedException: not authorized to perform ecs:DescribeServiceDeployments")
	for name, next := range readings {
		t.Run(name, func(t *testing.T) {
			now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
			tell := false
			h := Wrap(func(_ context.Context, req Request) (Response, error) {
				if strings.Contains(string(req.HookDetails), UncertainKey) {
					t.Errorf("the handler sees %s: %s", UncertainKey, req.HookDetails)
				}
				if !tell {
					return Response{}, Uncertain(denied)
				}
				return Response{HookStatus: StatusInProgress, Reason: "waiting for approval"}, nil
			}, Options{MaxUncertain: 10 * time.Minute, Now: func() time.Time { return now }})
			var req Request
			if err := json.Unmarshal(sample(t, "post-test-traffic-shift.json"), &req); err != nil {
				t.Fatal(err)
			}
			configured := json.RawMessage(`{"approvers":["alice@example.com"]}`)
			details := configured
			call := func() Response {
				req.HookDetails = details
				payload, _ := json.Marshal(req)
				res, err := h(context.Background(), payload)
				if err != nil {
					t.Fatal(err)
				}
				if res.HookStatus == StatusInProgress {
					details = next(configured, details, res.HookDetails)
				}
				return res
			}
			for _, at := range []time.Duration{0, 5 * time.Minute, 9*time.Minute + 59*time.Second} {
				now = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).Add(at)
				if res := call(); res.HookStatus != StatusInProgress || !strings.Contains(res.Reason, "cannot tell yet: AccessDenied") {
					t.Fatalf("at %s: %s %q, want IN_PROGRESS", at, res.HookStatus, res.Reason)
				}
			}
			// It can tell: the bound is cleared.
			tell = true
			now = now.Add(time.Minute)
			if res := call(); res.HookStatus != StatusInProgress {
				t.Fatalf("told: %s %q", res.HookStatus, res.Reason)
			}
			// Not again: a new spell, measured from its own start.
			tell = false
			start := now.Add(time.Minute)
			now = start
			if res := call(); res.HookStatus != StatusInProgress {
				t.Fatalf("a new spell: %s %q, want IN_PROGRESS", res.HookStatus, res.Reason)
			}
			now = start.Add(10 * time.Minute)
			res := call()
			if res.HookStatus != StatusFailed || !strings.Contains(res.Reason, "could not tell for 10m (at most 10m): AccessDeniedException") {
				t.Errorf("after the bound: %s %q, want FAILED naming the error", res.HookStatus, res.Reason)
			}
		})
	}
}

// TestRollbackUncertaintyBoundedOnlyWhenDenied: at a stage ECS re-runs on
// rollback, with no weights, a denied describe ends in FAILED after the
// bound; throttling holds (a FAILED could block a rollback).
func TestRollbackUncertaintyBoundedOnlyWhenDenied(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want Status
	}{
		{"denied", errors.New("AccessDeniedException: not authorized"), StatusFailed},
		{"throttled", Transient(errors.New("ThrottlingException: rate exceeded")), StatusInProgress},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
			h := Wrap(func(context.Context, Request) (Response, error) {
				t.Error("the handler ran although nothing tells a rollback from a forward step")
				return Response{}, nil
			}, Options{MaxUncertain: 10 * time.Minute, Now: func() time.Time { return now },
				Deployments: statusFunc(func(context.Context, string) (string, error) { return "", tt.err })})
			var req Request
			if err := json.Unmarshal(sample(t, "post-test-traffic-shift.json"), &req); err != nil {
				t.Fatal(err)
			}
			req.LifecycleStage = StageProductionTrafficShift
			req.ExecutionDetails.TestTrafficWeights, req.ExecutionDetails.ProductionTrafficWeights = nil, nil
			var res Response
			for range 2 {
				payload, _ := json.Marshal(req)
				res, _ = h(context.Background(), payload)
				req.HookDetails = res.HookDetails
				now = now.Add(10 * time.Minute)
			}
			if res.HookStatus != tt.want {
				t.Errorf("after the bound: %s %q, want %s", res.HookStatus, res.Reason, tt.want)
			}
		})
	}
}
