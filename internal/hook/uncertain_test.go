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

// TestRollbackUncertaintyHolds: at a stage ECS re-runs on rollback, with
// no weights, a call ECS will not describe is held however long it lasts,
// denied or throttled: a FAILED could block a rollback.
func TestRollbackUncertaintyHolds(t *testing.T) {
	for _, err := range []error{errors.New("AccessDeniedException: not authorized"), Transient(errors.New("ThrottlingException: rate exceeded"))} {
		now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		h := Wrap(func(context.Context, Request) (Response, error) {
			t.Error("the handler ran although nothing tells a rollback from a forward step")
			return Response{}, nil
		}, Options{MaxUncertain: 10 * time.Minute, Now: func() time.Time { return now },
			Deployments: statusFunc(func(context.Context, string) (string, error) { return "", err })})
		var req Request
		if err := json.Unmarshal(sample(t, "post-test-traffic-shift.json"), &req); err != nil {
			t.Fatal(err)
		}
		req.LifecycleStage = StageProductionTrafficShift
		req.ExecutionDetails.TestTrafficWeights, req.ExecutionDetails.ProductionTrafficWeights = nil, nil
		for range 5 {
			payload, _ := json.Marshal(req)
			res, _ := h(context.Background(), payload)
			if res.HookStatus != StatusInProgress {
				t.Fatalf("%v: %s %q, want IN_PROGRESS", err, res.HookStatus, res.Reason)
			}
			req.HookDetails = res.HookDetails
			now = now.Add(10 * time.Minute)
		}
	}
}

// TestConfiguredStateIsRefused: a service's configured hookDetails may not
// set the hook's state keys (they would stand in for what the hook
// returned) nor the uncertainty bound; once the run carries its
// configuration, the keys are the hook's own.
func TestConfiguredStateIsRefused(t *testing.T) {
	h := Wrap(func(context.Context, Request) (Response, error) {
		return Response{HookStatus: StatusInProgress, HookDetails: json.RawMessage(`{"smokeState":{"v":1}}`)}, nil
	}, Options{Reserved: []string{"smokeState"}})
	var req Request
	if err := json.Unmarshal(sample(t, "post-test-traffic-shift.json"), &req); err != nil {
		t.Fatal(err)
	}
	for _, details := range []string{`{"smokeState": {"passed": true}}`, `{"gatehouseUncertain": ""}`} {
		req.HookDetails = json.RawMessage(details)
		payload, _ := json.Marshal(req)
		res, _ := h(context.Background(), payload)
		if res.HookStatus != StatusFailed || !strings.Contains(res.Reason, "is reserved for the hook's own state") {
			t.Errorf("configured %s: %s %q, want FAILED", details, res.HookStatus, res.Reason)
		}
	}
	req.HookDetails = json.RawMessage(`{"retries": 2}`)
	payload, _ := json.Marshal(req)
	res, _ := h(context.Background(), payload)
	if res.HookStatus != StatusInProgress {
		t.Fatalf("first call: %s %q", res.HookStatus, res.Reason)
	}
	req.HookDetails = res.HookDetails // the hook's own state comes back
	payload, _ = json.Marshal(req)
	if res, _ = h(context.Background(), payload); res.HookStatus != StatusInProgress {
		t.Errorf("second call with the hook's own state: %s %q", res.HookStatus, res.Reason)
	}
}
