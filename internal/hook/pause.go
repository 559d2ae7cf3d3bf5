package hook

import (
	"encoding/json"
	"strings"
)

// The EventBridge event ECS emits for a PAUSE hook.
const (
	PauseEventSource     = "aws.ecs"
	PauseEventDetailType = "ECS Hook State Change"
	HookAwaitingAction   = "HOOK_AWAITING_ACTION"
)

// PauseEvent is what an "ECS Hook State Change" event says, as far as it
// can be read: its detail's field names are not documented, so each is
// looked for under the names it may have, and what is missing (the hook id
// most of all) is for the caller to ask DescribeServiceDeployments.
type PauseEvent struct {
	// EventName is HOOK_AWAITING_ACTION, HOOK_SUCCEEDED, ...
	EventName string
	// DeploymentARN is the service deployment's ARN; HookID the hook's id,
	// when the event gives it; Stage the lifecycle stage, when it does.
	DeploymentARN string
	HookID        string
	Stage         Stage
	// ID is EventBridge's id of the event (a repeated delivery keeps it).
	ID string
}

// ParsePauseEvent reads payload as an EventBridge event from ECS about a
// hook's state. ok is false for anything else, such as a lifecycle hook
// invocation, which has no "detail-type".
func ParsePauseEvent(payload []byte) (e PauseEvent, ok bool) {
	var ev struct {
		ID         string                     `json:"id"`
		Source     string                     `json:"source"`
		DetailType string                     `json:"detail-type"`
		Resources  []string                   `json:"resources"`
		Detail     map[string]json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(payload, &ev) != nil || ev.Source != PauseEventSource || ev.DetailType != PauseEventDetailType {
		return PauseEvent{}, false
	}
	str := func(keys ...string) string {
		for _, k := range keys {
			var s string
			if json.Unmarshal(ev.Detail[k], &s) == nil && s != "" {
				return s
			}
		}
		return ""
	}
	e = PauseEvent{
		ID:            ev.ID,
		EventName:     str("eventName", "eventType"),
		DeploymentARN: str("serviceDeploymentArn", "deploymentArn", "serviceDeploymentARN"),
		HookID:        str("hookId", "lifecycleHookId", "hookID"),
		Stage:         Stage(str("lifecycleStage", "stage")),
	}
	if e.DeploymentARN == "" {
		for _, r := range ev.Resources {
			if strings.Contains(r, ":service-deployment/") {
				e.DeploymentARN = r
				break
			}
		}
	}
	return e, true
}

// The scheduled event of the suite's sweep rule (EventBridge's "Scheduled
// Event" from source aws.events).
const (
	ScheduledEventSource     = "aws.events"
	ScheduledEventDetailType = "Scheduled Event"
)

// IsScheduledEvent reports whether payload is an EventBridge scheduled
// event, such as the sweep rule sends.
func IsScheduledEvent(payload []byte) bool {
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	return json.Unmarshal(payload, &ev) == nil && ev.Source == ScheduledEventSource && ev.DetailType == ScheduledEventDetailType
}
