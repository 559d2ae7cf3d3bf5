package approval

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

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
