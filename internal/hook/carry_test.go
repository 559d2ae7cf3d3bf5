package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The three readings of "passes this data back": next returns the next
// call's hookDetails from the configured ones, the last call's and the
// answer's.
var readings = map[string]func(configured, last, answer json.RawMessage) json.RawMessage{
	"replace": func(_, _, answer json.RawMessage) json.RawMessage { return answer },
	"merge": func(_, last, answer json.RawMessage) json.RawMessage {
		var l, a map[string]json.RawMessage
		_ = json.Unmarshal(last, &l)
		_ = json.Unmarshal(answer, &a)
		if l == nil {
			l = map[string]json.RawMessage{}
		}
		for k, v := range a {
			l[k] = v
		}
		b, _ := json.Marshal(l)
		return b
	},
	"deep-merge": func(_, last, answer json.RawMessage) json.RawMessage {
		var l, a any
		_ = json.Unmarshal(last, &l)
		_ = json.Unmarshal(answer, &a)
		b, _ := json.Marshal(mergePatch(l, a))
		return b
	},
}

// mergePatch is RFC 7386: objects merge, null deletes, the rest replaces.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	out := map[string]any{}
	for k, v := range t {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = mergePatch(out[k], v)
		}
	}
	return out
}

// TestRestoreAndCarry: under every reading, the call after an IN_PROGRESS
// answer restores exactly the configuration of the first call (a null,
// which a merge patch would delete, included) with the latest state.
func TestRestoreAndCarry(t *testing.T) {
	const configured = `{"baseUrl":null,"checks":[{"path":"/"}],"opts":{"a":1,"b":null}}`
	for name, next := range readings {
		details := json.RawMessage(configured)
		for n := 1; n <= 3; n++ {
			config, got, err := restore(details)
			if err != nil {
				t.Fatalf("%s: call %d: restore = %v", name, n, err)
			}
			var g, w any
			_ = json.Unmarshal(got, &g)
			want := `{"baseUrl":null,"checks":[{"path":"/"}],"opts":{"a":1,"b":null}`
			if n > 1 {
				want += fmt.Sprintf(`,"state":{"n":%d}`, n-1)
			}
			_ = json.Unmarshal([]byte(want+"}"), &w)
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%s: call %d sees (-want +got):\n%s", name, n, diff)
			}
			answer, err := Carry(config, json.RawMessage(fmt.Sprintf(`{"state":{"n":%d}}`, n)))
			if err != nil {
				t.Fatal(err)
			}
			details = next(json.RawMessage(configured), details, answer)
		}
	}
	for _, bad := range []string{`{"gatehouseConfig":5}`, `{"gatehouseConfig":"[1]"}`, `{"gatehouseConfig":"{"}`} {
		if _, _, err := restore(json.RawMessage(bad)); err == nil || !strings.Contains(err.Error(), "hookDetails.gatehouseConfig") {
			t.Errorf("restore(%s) = %v, want an error naming the key", bad, err)
		}
	}
	if got, err := Carry(nil, nil); err != nil || got != nil {
		t.Errorf("Carry(nothing) = %s, %v", got, err)
	}
	if _, err := Carry(nil, json.RawMessage(`[1]`)); err == nil {
		t.Error("Carry of a list = nil error")
	}
}

// TestWrapCarriesConfiguration: whatever ECS does with returned hookDetails
// (shallow merge, deep merge or replacement), the next call of a Wrapped
// hook sees its configuration and its latest state, also after a transient
// error.
func TestWrapCarriesConfiguration(t *testing.T) {
	const configured = `{"checks":[{"path":"/health"}],"window":"10m","baseUrl":null}`
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
		return Response{HookStatus: StatusInProgress, HookDetails: json.RawMessage(fmt.Sprintf(`{"state":{"calls":%d}}`, calls))}, nil
	}, Options{})
	for reading, next := range readings {
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
			details = next(json.RawMessage(configured), details, res.HookDetails)
		}
		for i, d := range seen {
			base, hasBase := d["baseUrl"]
			if d["window"] != "10m" || d["checks"] == nil || !hasBase || base != nil || d[ConfigKey] != nil {
				t.Errorf("%s: call %d saw hookDetails %v, want the configuration as configured", reading, i+1, d)
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
		{"a malformed ARN is answered as malformed, not held", StageProductionTrafficShift, map[string]float64{}, func(context.Context, string) (string, error) { return "", denied },
			StatusFailed, "malformed event", false},
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
			if strings.HasPrefix(tt.name, "a malformed ARN") {
				req.ResourceARN = "not-an-arn"
			}
			payload, _ := json.Marshal(req)
			res, _ := h(context.Background(), payload)
			if res.HookStatus != tt.wantStatus || !strings.Contains(res.Reason, tt.wantReason) || called != tt.wantCalled {
				t.Errorf("answer %s %q (handler called: %v), want %s %q (called: %v)", res.HookStatus, res.Reason, called, tt.wantStatus, tt.wantReason, tt.wantCalled)
			}
			if res.HookStatus == StatusInProgress {
				_, got, err := restore(res.HookDetails)
				if err == nil {
					_, got, err = takeUncertain(got)
				}
				if err != nil || string(got) != `{"timeout":"4h"}` {
					t.Errorf("IN_PROGRESS hookDetails = %s, want the configuration carried", res.HookDetails)
				}
			}
		})
	}
}
