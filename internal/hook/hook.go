// Package hook implements the wire protocol of Amazon ECS deployment lifecycle
// hooks: the request ECS sends to a hook Lambda function, the response the
// function returns, and Wrap, the one place where a handler's outcome (a
// verdict, an error or a panic) becomes a hookStatus.
//
// aws-lambda-go has no type for this event, so the types are defined here.
// Decoding is tolerant of the two payload shapes seen in AWS documentation
// (executionDetails wrapped, or its fields flat at the top level) and of
// hookDetails written as a JSON string, as CloudFormation does.
package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Stage is a lifecycle stage of an ECS service deployment.
type Stage string

// The stages at which a Lambda hook can be registered, in deployment order.
const (
	StageReconcileService           Stage = "RECONCILE_SERVICE"
	StagePreScaleUp                 Stage = "PRE_SCALE_UP"
	StagePostScaleUp                Stage = "POST_SCALE_UP"
	StageTestTrafficShift           Stage = "TEST_TRAFFIC_SHIFT"
	StagePostTestTrafficShift       Stage = "POST_TEST_TRAFFIC_SHIFT"
	StagePreProductionTrafficShift  Stage = "PRE_PRODUCTION_TRAFFIC_SHIFT"
	StageProductionTrafficShift     Stage = "PRODUCTION_TRAFFIC_SHIFT"
	StagePostProductionTrafficShift Stage = "POST_PRODUCTION_TRAFFIC_SHIFT"
)

// Stages lists every hookable stage in the order a deployment runs them.
var Stages = []Stage{
	StageReconcileService,
	StagePreScaleUp,
	StagePostScaleUp,
	StageTestTrafficShift,
	StagePostTestTrafficShift,
	StagePreProductionTrafficShift,
	StageProductionTrafficShift,
	StagePostProductionTrafficShift,
}

// PauseStages are the stages at which ECS allows a PAUSE hook: every
// hookable stage but the two traffic shifts (ECS-HOOKS.md, section 7).
var PauseStages = []Stage{
	StageReconcileService,
	StagePreScaleUp,
	StagePostScaleUp,
	StagePostTestTrafficShift,
	StagePreProductionTrafficShift,
	StagePostProductionTrafficShift,
}

// Valid reports whether s is a stage at which a Lambda hook can run.
func (s Stage) Valid() bool {
	for _, v := range Stages {
		if s == v {
			return true
		}
	}
	return false
}

// ReinvokedOnRollback reports whether ECS invokes hooks registered at s again
// when it rolls a deployment back. Only the two traffic-shift stages are.
func (s Stage) ReinvokedOnRollback() bool {
	return s == StageTestTrafficShift || s == StageProductionTrafficShift
}

// Status is the hookStatus a hook answers with.
type Status string

// The three answers ECS understands.
const (
	// StatusSucceeded lets the deployment move on to the next stage.
	StatusSucceeded Status = "SUCCEEDED"
	// StatusFailed makes ECS roll the deployment back.
	StatusFailed Status = "FAILED"
	// StatusInProgress makes ECS call the hook again after CallBackDelay.
	StatusInProgress Status = "IN_PROGRESS"
)

// ExecutionDetails describes the deployment a hook is called for.
type ExecutionDetails struct {
	// ServiceARN is the ARN of the ECS service being deployed.
	ServiceARN string `json:"serviceArn"`
	// TargetServiceRevisionARN is the revision being deployed (green). It stays
	// the same during a rollback, when its weights drop to zero.
	TargetServiceRevisionARN string `json:"targetServiceRevisionArn"`
	// TestTrafficWeights maps service revision ARNs to their share of test
	// traffic in percent. Often empty.
	TestTrafficWeights map[string]float64 `json:"testTrafficWeights"`
	// ProductionTrafficWeights maps service revision ARNs to their share of
	// production traffic in percent. Often empty.
	ProductionTrafficWeights map[string]float64 `json:"productionTrafficWeights"`
}

// Request is the payload ECS sends to a lifecycle hook function.
type Request struct {
	// ExecutionID identifies this hook execution.
	ExecutionID string `json:"executionId"`
	// LifecycleStage is the stage the hook is invoked at.
	LifecycleStage Stage `json:"lifecycleStage"`
	// ResourceARN is the service-deployment ARN: the natural key of one deployment.
	ResourceARN string `json:"resourceArn"`
	// ExecutionDetails describes the service and revisions involved.
	ExecutionDetails ExecutionDetails `json:"executionDetails"`
	// HookDetails is the JSON object the hook was configured with, merged with
	// the hookDetails of the last IN_PROGRESS answer. Nil when absent.
	HookDetails json.RawMessage `json:"hookDetails,omitempty"`
}

// Deployment returns the service deployment the call is for: ResourceARN
// parsed, or an error naming resourceArn. Wrap has validated it before a
// handler runs; a handler asks here rather than parsing it again.
func (r *Request) Deployment() (DeploymentARN, error) {
	d, err := ParseDeploymentARN(r.ResourceARN)
	if err != nil {
		return DeploymentARN{}, fmt.Errorf("resourceArn: %w", err)
	}
	return d, nil
}

// UnmarshalJSON decodes the wrapped payload and tolerates the flat one, and
// normalises hookDetails given as a JSON string into the object it contains.
func (r *Request) UnmarshalJSON(data []byte) error {
	type wire struct {
		ExecutionID      string            `json:"executionId"`
		LifecycleStage   Stage             `json:"lifecycleStage"`
		ResourceARN      string            `json:"resourceArn"`
		ExecutionDetails *ExecutionDetails `json:"executionDetails"`
		HookDetails      json.RawMessage   `json:"hookDetails"`
		flatDetails
	}
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	hd, err := normaliseDetails(w.HookDetails)
	if err != nil {
		return err
	}
	*r = Request{
		ExecutionID:    w.ExecutionID,
		LifecycleStage: w.LifecycleStage,
		ResourceARN:    w.ResourceARN,
		HookDetails:    hd,
	}
	if w.ExecutionDetails != nil {
		r.ExecutionDetails = *w.ExecutionDetails
	} else {
		r.ExecutionDetails = ExecutionDetails(w.flatDetails)
	}
	return nil
}

// flatDetails is ExecutionDetails at the top level of the payload, the shape an
// older version of the AWS documentation showed.
type flatDetails ExecutionDetails

// normaliseDetails returns hookDetails as a JSON object, or nil when absent.
// CloudFormation declares HookDetails as a JSON string, so a string holding an
// object is accepted and unwrapped.
func normaliseDetails(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("hookDetails: %w", err)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		raw = json.RawMessage(s)
	}
	if raw[0] != '{' || !json.Valid(raw) {
		return nil, errors.New("hookDetails: want a JSON object")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("hookDetails: %w", err)
	}
	return b.Bytes(), nil
}

// Validate reports, in one error, every field of r that a hook needs and that
// is missing or malformed.
func (r *Request) Validate() error {
	var errs []error
	if r.ResourceARN == "" {
		errs = append(errs, errors.New("resourceArn is missing"))
	} else if _, err := r.Deployment(); err != nil {
		errs = append(errs, err)
	}
	if r.LifecycleStage == "" {
		errs = append(errs, errors.New("lifecycleStage is missing"))
	} else if !r.LifecycleStage.Valid() {
		errs = append(errs, fmt.Errorf("lifecycleStage %q is not a hookable stage", r.LifecycleStage))
	}
	if r.ExecutionDetails.ServiceARN == "" {
		errs = append(errs, errors.New("executionDetails.serviceArn is missing"))
	}
	if r.ExecutionDetails.TargetServiceRevisionARN == "" {
		errs = append(errs, errors.New("executionDetails.targetServiceRevisionArn is missing"))
	}
	return errors.Join(errs...)
}

// IsRollback reports whether r is ECS re-invoking a traffic-shift hook while it
// rolls the deployment back: at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT
// with the target revision at weight zero and another revision carrying
// traffic. A hook must never block a rollback.
func (r *Request) IsRollback() bool {
	if !r.LifecycleStage.ReinvokedOnRollback() {
		return false
	}
	w := r.ExecutionDetails.TestTrafficWeights
	if r.LifecycleStage == StageProductionTrafficShift {
		w = r.ExecutionDetails.ProductionTrafficWeights
	}
	target := r.ExecutionDetails.TargetServiceRevisionARN
	tw, ok := w[target]
	if !ok || tw != 0 {
		return false
	}
	for arn, weight := range w {
		if arn != target && weight > 0 {
			return true
		}
	}
	return false
}

// hasWeights reports whether the call carries traffic weights for its stage
// (test weights at TEST_TRAFFIC_SHIFT, production weights at
// PRODUCTION_TRAFFIC_SHIFT).
func (r *Request) hasWeights() bool {
	if r.LifecycleStage == StageProductionTrafficShift {
		return len(r.ExecutionDetails.ProductionTrafficWeights) > 0
	}
	return len(r.ExecutionDetails.TestTrafficWeights) > 0
}

// Response is what a hook function returns to ECS.
type Response struct {
	// HookStatus is the verdict: SUCCEEDED, FAILED or IN_PROGRESS.
	HookStatus Status `json:"hookStatus"`
	// CallBackDelay is the number of seconds ECS waits before calling again
	// after IN_PROGRESS. Zero leaves ECS's default (30 seconds).
	CallBackDelay int `json:"callBackDelay,omitempty"`
	// HookDetails is merged into the hookDetails of the next call of this hook
	// in this deployment.
	HookDetails json.RawMessage `json:"hookDetails,omitempty"`
	// Reason explains the verdict. ECS ignores it; it is kept for logs,
	// the local simulator and anyone reading the function's output.
	Reason string `json:"reason,omitempty"`
}

// Callback delays outside this range are clamped: ECS documents no range, and
// these bounds are safe either way.
const (
	MinCallBackDelay = 1
	MaxCallBackDelay = 900
)

// ClampDelay returns seconds limited to [MinCallBackDelay, MaxCallBackDelay].
func ClampDelay(seconds int) int {
	return min(max(seconds, MinCallBackDelay), MaxCallBackDelay)
}
