package hook

import (
	"encoding/json"
	"strings"
	"time"
)

// The EventBridge event ECS emits for a PAUSE hook.
const (
	PauseEventSource     = "aws.ecs"
	PauseEventDetailType = "ECS Hook State Change"
	HookAwaitingAction   = "HOOK_AWAITING_ACTION"
	// The outcome events: the hook ended, however it ended.
	HookSucceeded = "HOOK_SUCCEEDED"
	HookFailed    = "HOOK_FAILED"
	HookTimedOut  = "HOOK_TIMED_OUT"
)

// PauseEvent is what an "ECS Hook State Change" event says (ECS-HOOKS.md,
// section 7). Every event may be late, repeated or forged: what it says is
// confirmed with DescribeServiceDeployments before anything is decided.
type PauseEvent struct {
	// EventName is HOOK_AWAITING_ACTION, HOOK_SUCCEEDED, ... (the detail's
	// eventType is a severity, INFO, never the name).
	EventName string
	// HookType is PAUSE for a PAUSE hook.
	HookType string
	// DeploymentARN is the service deployment's ARN; HookID the hook's id;
	// Stage the lifecycle stage; ServiceARN the service.
	DeploymentARN string
	HookID        string
	Stage         Stage
	ServiceARN    string
	// Account is the account the event came from.
	Account string
	// ExpiresAt is when the hook times out, when the event says.
	ExpiresAt *time.Time
	// ID is EventBridge's id of the event (a repeated delivery keeps it).
	ID string
}

// ParsePauseEvent reads payload as an EventBridge event from ECS about a
// hook's state. ok is false for anything else, such as a lifecycle hook
// invocation, which has no "detail-type".
func ParsePauseEvent(payload []byte) (e PauseEvent, ok bool) {
	var ev struct {
		ID         string   `json:"id"`
		Source     string   `json:"source"`
		DetailType string   `json:"detail-type"`
		Account    string   `json:"account"`
		Resources  []string `json:"resources"`
		Detail     struct {
			EventName            string `json:"eventName"`
			HookID               string `json:"hookId"`
			HookType             string `json:"hookType"`
			LifecycleStage       Stage  `json:"lifecycleStage"`
			ServiceArn           string `json:"serviceArn"`
			ServiceDeploymentArn string `json:"serviceDeploymentArn"`
			ExpiresAt            string `json:"expiresAt"`
		} `json:"detail"`
	}
	if json.Unmarshal(payload, &ev) != nil || ev.Source != PauseEventSource || ev.DetailType != PauseEventDetailType {
		return PauseEvent{}, false
	}
	dt := ev.Detail
	e = PauseEvent{ID: ev.ID, EventName: dt.EventName, HookType: dt.HookType, DeploymentARN: dt.ServiceDeploymentArn,
		HookID: dt.HookID, Stage: dt.LifecycleStage, ServiceARN: dt.ServiceArn, Account: ev.Account}
	if t, err := time.Parse(time.RFC3339, dt.ExpiresAt); err == nil {
		e.ExpiresAt = &t
	}
	if e.DeploymentARN == "" {
		// resources may name it, or be absent.
		for _, r := range ev.Resources {
			if strings.Contains(r, ":service-deployment/") {
				e.DeploymentARN = r
				break
			}
		}
	}
	return e, true
}

// Ended reports whether the event says a hook ended: HOOK_SUCCEEDED,
// HOOK_FAILED or HOOK_TIMED_OUT.
func (e PauseEvent) Ended() bool {
	return e.EventName == HookSucceeded || e.EventName == HookFailed || e.EventName == HookTimedOut
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

// The settle event: gatehouse's CLI invokes the approval hook with it
// after a deciding vote, so that the suite's own role (not the voter's)
// announces the decision and tells ECS.
const (
	SettleEventSource     = "gatehouse"
	SettleEventDetailType = "Settle"
)

// SettleEvent returns the settle event for the request at key.
func SettleEvent(key string) []byte {
	b, _ := json.Marshal(map[string]any{"source": SettleEventSource, "detail-type": SettleEventDetailType, "detail": map[string]string{"key": key}})
	return b
}

// ParseSettleEvent reads payload as a settle event: ok is false for
// anything else.
func ParseSettleEvent(payload []byte) (key string, ok bool) {
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Detail     struct {
			Key string `json:"key"`
		} `json:"detail"`
	}
	if json.Unmarshal(payload, &ev) != nil || ev.Source != SettleEventSource || ev.DetailType != SettleEventDetailType {
		return "", false
	}
	return ev.Detail.Key, true
}
