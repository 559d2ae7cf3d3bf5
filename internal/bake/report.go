package bake

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
)

// ReportVersion is the version of the stored report document.
const ReportVersion = 1

// ReportPrefix is where verdict reports live in the state bucket
// (package layout).
const ReportPrefix = layout.Reports

// Key returns the state-bucket key of the bake report for one deployment
// and stage: reports/ACCOUNT/REGION/CLUSTER/SERVICE/DEPLOYMENT-ID/bake-STAGE.json,
// beside the reports of the other hooks of the same deployment.
func Key(d hook.DeploymentARN, stage hook.Stage) string {
	return layout.BakeReport(d, stage)
}

// StartKey returns the state-bucket key of the start marker of the bake
// run for one deployment and stage, beside its report (Key):
// reports/ACCOUNT/REGION/CLUSTER/SERVICE/DEPLOYMENT-ID/bake-STAGE.start.json.
func StartKey(d hook.DeploymentARN, stage hook.Stage) string {
	return layout.BakeStart(d, stage)
}

// Report is a bake's final verdict with its numbers, written once to the
// state bucket for the audit trail.
type Report struct {
	// SchemaVersion is ReportVersion.
	SchemaVersion int `json:"schemaVersion"`
	// DeploymentARN is the service-deployment ARN.
	DeploymentARN string `json:"deploymentArn"`
	// ServiceARN is the service deployed.
	ServiceARN string `json:"serviceArn"`
	// TargetRevisionARN is the green revision.
	TargetRevisionARN string `json:"targetRevisionArn"`
	// Stage is the lifecycle stage the hook ran at.
	Stage hook.Stage `json:"stage"`
	// GreenShare is, for the step check (at PRE_PRODUCTION_TRAFFIC_SHIFT),
	// green's share of production during the step judged, in percent; nil
	// for the bake, and when it could not be told.
	GreenShare *float64 `json:"greenShare,omitempty"`
	// Step names a step check's step in its key: the share ECS's record
	// gives, else the event's, as an approval of the step names it (see
	// stepOf); empty for the bake.
	Step string `json:"step,omitempty"`
	// HookStatus is the answer: SUCCEEDED or FAILED.
	HookStatus hook.Status `json:"hookStatus"`
	// Reason explains it, in full.
	Reason string `json:"reason"`
	// DecidedAt is when the verdict was reached.
	DecidedAt time.Time `json:"decidedAt"`
	// WindowStart and WindowEnd bound the bake; nil when it never started
	// (bad configuration).
	WindowStart *time.Time `json:"windowStart,omitempty"`
	WindowEnd   *time.Time `json:"windowEnd,omitempty"`
	// Extended tells whether the window was extended for lack of evidence.
	Extended bool `json:"extended"`
	// Traffic names the target groups compared, when located.
	Traffic *Traffic `json:"traffic,omitempty"`
	// Green is green's traffic over the window, when read.
	Green *Stats `json:"green,omitempty"`
	// BlueBaseline is blue's traffic over the window's length before the
	// shift, when read; for a step, blue's beside green over the window.
	BlueBaseline *Stats `json:"blueBaseline,omitempty"`
	// Checks are the outcomes of the last evaluation.
	Checks []Result `json:"checks,omitempty"`
	// Alarms names every alarm checked.
	Alarms []string `json:"alarms,omitempty"`
	// History holds the latest evaluations; Sample.Values follow the order
	// of Config.Metrics.
	History []Sample `json:"history,omitempty"`
	// Config is the configuration the bake ran with; nil when invalid.
	Config *Config `json:"config,omitempty"`
}

// UnmarshalJSON reads a configuration in the shape MarshalJSON writes, the
// shape it is configured with, so that stored reports decode.
func (c *Config) UnmarshalJSON(data []byte) error {
	v, err := ParseConfig(data)
	if err != nil {
		return err
	}
	*c = v
	return nil
}
