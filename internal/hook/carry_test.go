package hook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCarry(t *testing.T) {
	tests := []struct {
		name, incoming, returned, want string
	}{
		{"configuration and new state", `{"checks":[{"path":"/"}],"smokeState":{"v":1,"calls":1}}`, `{"smokeState":{"v":1,"calls":2}}`,
			`{"checks":[{"path":"/"}],"smokeState":{"v":1,"calls":2}}`},
		{"nothing returned", `{"timeout":"4h"}`, ``, `{"timeout":"4h"}`},
		{"nothing configured", ``, `{"bakeState":{"v":1}}`, `{"bakeState":{"v":1}}`},
		{"neither", ``, `null`, ``},
		{"configured as a JSON string, as CloudFormation writes it", `"{\"timeout\":\"4h\"}"`, `{"s":1}`, `{"s":1,"timeout":"4h"}`},
	}
	for _, tt := range tests {
		got, err := Carry(json.RawMessage(tt.incoming), json.RawMessage(tt.returned))
		if err != nil {
			t.Errorf("%s: Carry = %v", tt.name, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s: Carry(%s, %s) = %s, want %s", tt.name, tt.incoming, tt.returned, got, tt.want)
		}
	}
	if _, err := Carry(json.RawMessage(`[1]`), nil); err == nil {
		t.Error("Carry of a list = nil error")
	}
}

// TestWrapCarriesConfiguration: whatever ECS does with returned hookDetails
// (shallow merge, deep merge or replacement), the next call of a Wrapped
// hook sees its configuration and its latest state, also after a transient
// error.
func TestWrapCarriesConfiguration(t *testing.T) {
	const configured = `{"checks":[{"path":"/health"}],"window":"10m"}`
	var seen []map[string]any
	calls := 0
	h := Wrap(func(_ context.Context, req Request) (Response, error) {
		var d map[string]any
		_ = json.Unmarshal(req.HookDetails, &d)
		seen = append(seen, d)
		calls++
		if calls == 2 {
			return Response{}, Transient(errors.New("throttled"))
		}
		return Response{HookStatus: StatusInProgress, HookDetails: json.RawMessage(`{"state":{"calls":` + string(rune('0'+calls)) + `}}`)}, nil
	}, Options{})
	for _, reading := range []string{"replace", "merge"} {
		seen, calls = nil, 0
		details := json.RawMessage(configured)
		for range 4 {
			var req Request
			_ = json.Unmarshal(sample(t, "post-test-traffic-shift.json"), &req)
			req.HookDetails = details
			payload, _ := json.Marshal(req)
			res, _ := h(context.Background(), payload)
			if res.HookStatus != StatusInProgress {
				t.Fatalf("%s: answer %+v", reading, res)
			}
			switch reading {
			case "replace":
				details = res.HookDetails
			case "merge":
				details, _ = Carry(json.RawMessage(configured), res.HookDetails)
			}
		}
		for i, d := range seen {
			if d["window"] != "10m" || d["checks"] == nil {
				t.Errorf("%s: call %d saw hookDetails %v, want the configuration", reading, i+1, d)
			}
		}
		// Call 3 follows the transient error: the state of call 1 is kept.
		want := []any{nil, map[string]any{"calls": 1.0}, map[string]any{"calls": 1.0}, map[string]any{"calls": 3.0}}
		for i, d := range seen {
			if diff := cmp.Diff(want[i], d["state"]); diff != "" {
				t.Errorf("%s: call %d state (-want +got):\n%s", reading, i+1, diff)
			}
		}
	}
}

type statusFunc func(ctx context.Context, arn string) (string, error)

func (f statusFunc) Status(ctx context.Context, arn string) (string, error) { return f(ctx, arn) }

// TestWrapRecognisesRollbackByECS: at the stages ECS re-runs during a
// rollback, a rollback is passed whether the weights say so or ECS does;
// a call whose weights are missing and whose deployment ECS cannot describe
// is held, never passed, and a forward step runs the gate.
func TestWrapRecognisesRollbackByECS(t *testing.T) {
	const target = "arn:aws:ecs:us-west-2:123456789012:service-revision/my-cluster/my-service/9313423515462893900"
	const source = "arn:aws:ecs:us-west-2:123456789012:service-revision/my-cluster/my-service/1111"
	forward := map[string]float64{target: 100, source: 0}
	reversed := map[string]float64{target: 0, source: 100}
	denied := errors.New("AccessDeniedException: not authorized")
	tests := []struct {
		name       string
		stage      Stage
		weights    map[string]float64 // nil: absent
		ecs        statusFunc         // nil: no reader
		wantStatus Status
		wantReason string
		wantCalled bool
	}{
		{"weights reversed, no reader", StageProductionTrafficShift, reversed, nil, StatusSucceeded, "rollback in progress", false},
		{"weights empty, ECS rolling back", StageProductionTrafficShift, map[string]float64{}, func(context.Context, string) (string, error) { return "ROLLBACK_IN_PROGRESS", nil },
			StatusSucceeded, "ECS reports the deployment ROLLBACK_IN_PROGRESS", false},
		{"weights absent, ECS rollback requested", StageTestTrafficShift, nil, func(context.Context, string) (string, error) { return "ROLLBACK_REQUESTED", nil },
			StatusSucceeded, "ROLLBACK_REQUESTED", false},
		{"weights forward, but ECS rolling back", StageProductionTrafficShift, forward, func(context.Context, string) (string, error) { return "ROLLBACK_IN_PROGRESS", nil },
			StatusSucceeded, "a gate never blocks a rollback", false},
		{"weights empty, ECS says forward", StageProductionTrafficShift, map[string]float64{}, func(context.Context, string) (string, error) { return "IN_PROGRESS", nil },
			StatusInProgress, "gate", true},
		{"weights empty, ECS cannot say", StageProductionTrafficShift, map[string]float64{}, func(context.Context, string) (string, error) { return "", denied },
			StatusInProgress, "cannot tell a rollback from a forward step", false},
		{"weights forward, ECS cannot say", StageProductionTrafficShift, forward, func(context.Context, string) (string, error) { return "", denied },
			StatusInProgress, "gate", true},
		{"not a stage ECS re-runs", StagePostTestTrafficShift, nil, func(context.Context, string) (string, error) { return "ROLLBACK_IN_PROGRESS", nil },
			StatusInProgress, "gate", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			opts := Options{}
			if tt.ecs != nil {
				opts.Deployments = tt.ecs
			}
			h := Wrap(func(context.Context, Request) (Response, error) {
				called = true
				return Response{HookStatus: StatusInProgress, Reason: "gate holds"}, nil
			}, opts)
			var req Request
			if err := json.Unmarshal(sample(t, "post-test-traffic-shift.json"), &req); err != nil {
				t.Fatal(err)
			}
			req.LifecycleStage = tt.stage
			req.ExecutionDetails.TargetServiceRevisionARN = target
			req.ExecutionDetails.TestTrafficWeights, req.ExecutionDetails.ProductionTrafficWeights = nil, nil
			if tt.stage == StageTestTrafficShift {
				req.ExecutionDetails.TestTrafficWeights = tt.weights
			} else {
				req.ExecutionDetails.ProductionTrafficWeights = tt.weights
			}
			req.HookDetails = json.RawMessage(`{"timeout":"4h"}`)
			payload, _ := json.Marshal(req)
			res, _ := h(context.Background(), payload)
			if res.HookStatus != tt.wantStatus || !strings.Contains(res.Reason, tt.wantReason) || called != tt.wantCalled {
				t.Errorf("answer %s %q (handler called: %v), want %s %q (called: %v)", res.HookStatus, res.Reason, called, tt.wantStatus, tt.wantReason, tt.wantCalled)
			}
			if res.HookStatus == StatusInProgress && string(res.HookDetails) != `{"timeout":"4h"}` {
				t.Errorf("IN_PROGRESS hookDetails = %s, want the configuration carried", res.HookDetails)
			}
		})
	}
}
