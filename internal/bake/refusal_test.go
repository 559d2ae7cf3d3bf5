package bake

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TestRefusalsQuotingErrorTextAreFinal: a refusal quotes the value at fault,
// and a value reading like a network error ("connection reset") must not
// make hook.Wrap retry the refusal instead of answering FAILED.
func TestRefusalsQuotingErrorTextAreFinal(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	h := hook.Wrap(HookHandler(newChecker(healthySources(), &fakeLocator{}, nil, &now), DefaultConfig()), hook.Options{})
	for name, details := range map[string]string{
		"bad value":     `{"alarms": {"names": ["a"]}, "minRequests": "connection reset"}`,
		"unknown key":   `{"alarms": {"names": ["a"]}, "use of closed network connection": 1}`,
		"corrupt state": `{"alarms": {"names": ["a"]}, "bakeState": {"v": 2, "start": "connection reset"}}`,
	} {
		payload, _ := json.Marshal(map[string]any{
			"executionId": "e", "lifecycleStage": hook.StagePostProductionTrafficShift, "resourceArn": deploymentARN,
			"executionDetails": map[string]any{"serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders", "targetServiceRevisionArn": greenRevision},
			"hookDetails":      json.RawMessage(details),
		})
		res, err := h(context.Background(), payload)
		if err != nil || res.HookStatus != hook.StatusFailed {
			t.Errorf("%s: %s %q, %v; want FAILED", name, res.HookStatus, res.Reason, err)
		}
	}
}
