package hook

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestParsePauseEvent reads the documented fields (ECS-HOOKS.md, section
// 7): eventName, never eventType (a severity); hookType, expiresAt and
// serviceArn; the deployment from resources when the detail lacks it; and
// tells the event from a lifecycle hook invocation by its shape.
func TestParsePauseEvent(t *testing.T) {
	const dep = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"
	const svc = "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"
	expires := time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		payload string
		want    PauseEvent
		ok      bool
	}{
		{"as documented", `{"id": "ev-1", "account": "123456789012", "source": "aws.ecs", "detail-type": "ECS Hook State Change", "resources": ["` + dep + `"],
			"detail": {"eventType": "INFO", "eventName": "HOOK_AWAITING_ACTION", "hookId": "ecs-pause-e7tK9G", "hookType": "PAUSE", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
			"clusterArn": "arn:aws:ecs:us-west-2:123456789012:cluster/prod-cluster", "serviceArn": "` + svc + `", "serviceDeploymentArn": "` + dep + `",
			"expiresAt": "2026-06-02T10:00:00Z", "updatedAt": "2026-05-31T10:00:00Z"}}`,
			PauseEvent{ID: "ev-1", EventName: HookAwaitingAction, HookType: "PAUSE", DeploymentARN: dep, HookID: "ecs-pause-e7tK9G", Stage: StagePostTestTrafficShift,
				ServiceARN: svc, Account: "123456789012", ExpiresAt: &expires}, true},
		{"an outcome, the deployment only in resources", `{"id": "ev-2", "source": "aws.ecs", "detail-type": "ECS Hook State Change",
			"resources": ["` + dep + `"], "detail": {"eventType": "INFO", "eventName": "HOOK_SUCCEEDED", "hookId": "ecs-pause-2", "hookType": "PAUSE"}}`,
			PauseEvent{ID: "ev-2", EventName: HookSucceeded, HookType: "PAUSE", DeploymentARN: dep, HookID: "ecs-pause-2"}, true},
		{"eventType is a severity, not the name", `{"source": "aws.ecs", "detail-type": "ECS Hook State Change", "detail": {"eventType": "HOOK_AWAITING_ACTION", "serviceDeploymentArn": "` + dep + `"}}`,
			PauseEvent{DeploymentARN: dep}, true},
		{"a lifecycle hook invocation", `{"executionId": "e", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "resourceArn": "` + dep + `"}`, PauseEvent{}, false},
		{"another ECS event", `{"source": "aws.ecs", "detail-type": "ECS Deployment State Change", "detail": {}}`, PauseEvent{}, false},
		{"not JSON", `hookId`, PauseEvent{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParsePauseEvent([]byte(tt.payload))
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePauseEvent (-want +got):\n%s", diff)
			}
		})
	}
	for name, want := range map[string]bool{HookAwaitingAction: false, "HOOK_IN_PROGRESS": false, HookSucceeded: true, HookFailed: true, HookTimedOut: true} {
		if got := (PauseEvent{EventName: name}).Ended(); got != want {
			t.Errorf("Ended(%s) = %v, want %v", name, got, want)
		}
	}
}

func TestIsScheduledEvent(t *testing.T) {
	for payload, want := range map[string]bool{
		`{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","resources":["arn:aws:events:eu-west-1:111122223333:rule/sweep"],"detail":{}}`: true,
		`{"detail-type":"ECS Hook State Change","source":"aws.ecs","detail":{}}`:                                                                                      false,
		`{"detail-type":"Scheduled Event","source":"aws.ecs"}`:                                                                                                        false,
		`{"executionDetails":{},"lifecycleStage":"POST_TEST_TRAFFIC_SHIFT"}`:                                                                                          false,
		`not json`: false,
	} {
		if got := IsScheduledEvent([]byte(payload)); got != want {
			t.Errorf("IsScheduledEvent(%s) = %v, want %v", payload, got, want)
		}
	}
}
