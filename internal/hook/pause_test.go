package hook

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParsePauseEvent reads the event whatever the undocumented detail's
// fields are called, falls back to the resources for the deployment, and
// tells it from a lifecycle hook invocation by its shape.
func TestParsePauseEvent(t *testing.T) {
	const dep = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"
	tests := []struct {
		name    string
		payload string
		want    PauseEvent
		ok      bool
	}{
		{"documented names", `{"id": "ev-1", "source": "aws.ecs", "detail-type": "ECS Hook State Change",
			"detail": {"eventName": "HOOK_AWAITING_ACTION", "serviceDeploymentArn": "` + dep + `", "hookId": "hook-1", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT"}}`,
			PauseEvent{ID: "ev-1", EventName: HookAwaitingAction, DeploymentARN: dep, HookID: "hook-1", Stage: StagePostTestTrafficShift}, true},
		{"other names, the deployment only in resources", `{"id": "ev-2", "source": "aws.ecs", "detail-type": "ECS Hook State Change",
			"resources": ["arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders", "` + dep + `"],
			"detail": {"eventType": "HOOK_SUCCEEDED", "lifecycleHookId": "hook-2"}}`,
			PauseEvent{ID: "ev-2", EventName: "HOOK_SUCCEEDED", DeploymentARN: dep, HookID: "hook-2"}, true},
		{"no hook id: ask ECS", `{"source": "aws.ecs", "detail-type": "ECS Hook State Change", "detail": {"eventName": "HOOK_AWAITING_ACTION", "deploymentArn": "` + dep + `"}}`,
			PauseEvent{EventName: HookAwaitingAction, DeploymentARN: dep}, true},
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
