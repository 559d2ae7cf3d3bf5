package approval

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TestNullDoesNotKeepTheSuitesValue: a key given as null is refused as
// before, rather than leaving the suite's value in place (an onExpiry:
// approve from the environment must not survive "onExpiry": null).
func TestNullDoesNotKeepTheSuitesValue(t *testing.T) {
	defaults := DefaultSettings()
	defaults.Approvers = []string{"alice@example.com"}
	defaults.OnExpiry = Approve
	for _, key := range []string{"requiredApprovals", "callbackDelay", "onExpiry"} {
		if _, err := Apply(defaults, json.RawMessage(`{"`+key+`": null}`)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Apply(%s: null) = %v, want a refusal naming %s", key, err, key)
		}
	}
}

// TestConfigurationRefusalIsFinal: a refusal quoting a value that reads
// like a network error still answers FAILED, not a retry.
func TestConfigurationRefusalIsFinal(t *testing.T) {
	h := hook.Wrap(HookHandler(&Gate{}, DefaultSettings()), hook.Options{})
	payload, _ := json.Marshal(map[string]any{
		"executionId": "e", "lifecycleStage": hook.StagePostTestTrafficShift,
		"resourceArn":      "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/orders/abc",
		"executionDetails": map[string]any{"serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/prod/orders", "targetServiceRevisionArn": "arn:aws:ecs:us-west-2:123456789012:service-revision/prod/orders/1"},
		"hookDetails":      map[string]any{"approvers": []string{"alice@example.com"}, "gate": "connection reset"},
	})
	res, err := h(context.Background(), payload)
	if err != nil || res.HookStatus != hook.StatusFailed {
		t.Errorf("gate \"connection reset\": %s %q, %v; want FAILED", res.HookStatus, res.Reason, err)
	}
}

// TestLambdaHookWaitsADayAtMost: called by ECS, the approval hook is a
// Lambda hook, whose stage ECS ends after 24 hours: a timeout that cannot
// expire before it is refused, naming the key, whether it comes from
// hookDetails or from the suite's default, and nothing is stored.
func TestLambdaHookWaitsADayAtMost(t *testing.T) {
	for _, tt := range []struct {
		name     string
		defaults time.Duration
		details  map[string]any
	}{
		{"from hookDetails", DefaultTimeout, map[string]any{"approvers": []string{"alice@example.com"}, "timeout": "47h"}},
		{"from the suite", 24 * time.Hour, map[string]any{"approvers": []string{"alice@example.com"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []string{"alice@example.com"}, 1)
			defaults := DefaultSettings()
			defaults.Timeout = tt.defaults
			// A policy that lets services wait longer: no Lambda hook can.
			defaults.Policy.MaxTimeout = MaxTimeout
			h := hook.Wrap(HookHandler(f.gate, defaults), hook.Options{})
			payload := f.lambdaCall(tt.details)
			res, err := h(context.Background(), payload)
			if err != nil || res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "hookDetails.timeout") || !strings.Contains(res.Reason, "cannot expire before ECS's 24-hour limit") {
				t.Errorf("%s %q, %v; want FAILED naming hookDetails.timeout and the limit", res.HookStatus, res.Reason, err)
			}
			if _, err := f.st.Get(context.Background(), f.key); err == nil {
				t.Error("a request was stored")
			}
		})
	}
	// Just under a day is held as usual.
	f := newFixture(t, []string{"alice@example.com"}, 1)
	defaults := DefaultSettings()
	defaults.Policy.MaxTimeout = MaxTimeout
	h := hook.Wrap(HookHandler(f.gate, defaults), hook.Options{})
	payload := f.lambdaCall(map[string]any{"approvers": []string{"alice@example.com"}, "timeout": "23h59m"})
	if res, err := h(context.Background(), payload); err != nil || res.HookStatus != hook.StatusInProgress {
		t.Errorf("23h59m: %s %q, %v; want IN_PROGRESS", res.HookStatus, res.Reason, err)
	}
}

// TestOpenLambdaRequestKeepsItsTerms: a Lambda hook's request opened with
// a timeout over a day (as an earlier release allowed) and approved is not
// refused after an upgrade: the 24-hour limit applies to requests it would
// open.
func TestOpenLambdaRequestKeepsItsTerms(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.poll.Settings.Timeout = 30 * time.Hour
	f.mustPoll(t, Pending)
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	defaults := DefaultSettings()
	defaults.Policy.MaxTimeout = MaxTimeout
	h := hook.Wrap(HookHandler(f.gate, defaults), hook.Options{})
	payload := f.lambdaCall(map[string]any{"approvers": []string{"alice@example.com"}, "timeout": "30h"})
	if res, err := h(context.Background(), payload); err != nil || res.HookStatus != hook.StatusSucceeded {
		t.Errorf("the approved request answered %s %q, %v; want SUCCEEDED", res.HookStatus, res.Reason, err)
	}
}

// lambdaCall is ECS's call of the approval hook for f's deployment, with
// details as its hookDetails.
func (f *fixture) lambdaCall(details map[string]any) []byte {
	payload, _ := json.Marshal(map[string]any{
		"executionId": "e", "lifecycleStage": hook.StagePostTestTrafficShift, "resourceArn": f.poll.Deployment.String(),
		"executionDetails": map[string]any{"serviceArn": f.poll.ServiceARN, "targetServiceRevisionArn": f.poll.TargetRevisionARN},
		"hookDetails":      details,
	})
	return payload
}
