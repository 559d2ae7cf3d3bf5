// Package layout owns the state bucket's layout: every prefix and key the
// suite reads and writes, and the prefixes its IAM policies and lifecycle
// rules scope. Everything under a prefix is keyed by deployment:
// <account>/<region>/<cluster>/<service>/<deployment-id>/, whose segments
// come from a parsed deployment ARN and are safe in a key.
//
//	approvals/<deployment>/<STAGE>[.<gate>].json     approval requests
//	pauses/open/<deployment>/<STAGE>[.<gate>].json   one marker per open PAUSE request, for the sweep
//	reports/<deployment>/smoke-<STAGE>.{json,txt}    smoke verdicts
//	reports/<deployment>/bake-<STAGE>[.start].json   bake verdicts, and the start of a bake run
//	reports/<deployment>/bake-PRE_PRODUCTION_TRAFFIC_SHIFT-green-<SHARE>[.start].json   a step check's, per step
package layout

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// The state bucket's prefixes.
const (
	// Approvals holds the approval requests.
	Approvals = "approvals/"
	// PauseIndex holds one marker per open PAUSE request, named as the
	// request is under Approvals: the sweep lists them, not every request
	// ever made.
	PauseIndex = "pauses/open/"
	// Reports holds the smoke and bake verdicts.
	Reports = "reports/"
)

// deployment is a deployment's part of a key, with its trailing slash.
func deployment(d hook.DeploymentARN) string {
	return fmt.Sprintf("%s/%s/%s/%s/%s/", d.Account, d.Region, d.Cluster, d.Service, d.ID)
}

// Requests is the prefix of every approval request of deployment d.
func Requests(d hook.DeploymentARN) string { return Approvals + deployment(d) }

// Request is the key of the approval request of deployment d at stage,
// for gate ("" for the stage's only gate): two approval hooks at one stage
// keep separate requests when each has a gate name.
func Request(d hook.DeploymentARN, stage hook.Stage, gate string) string {
	name := string(stage)
	if gate != "" {
		name += "." + gate
	}
	return Requests(d) + name + ".json"
}

// RequestName splits a request's key under Requests(d) into its stage and
// gate.
func RequestName(d hook.DeploymentARN, key string) (stage hook.Stage, gate string, ok bool) {
	name, ok := strings.CutPrefix(key, Requests(d))
	if !ok {
		return "", "", false
	}
	name, ok = strings.CutSuffix(name, ".json")
	st, gate, _ := strings.Cut(name, ".")
	return hook.Stage(st), gate, ok
}

// IsRequest reports whether key may name an approval request: under
// Approvals, a .json document, without a parent-directory step.
func IsRequest(key string) bool {
	return strings.HasPrefix(key, Approvals) && strings.HasSuffix(key, ".json") && !strings.Contains(key, "..")
}

// PauseMarker is the key of the sweep's marker of the open PAUSE request at
// the request key.
func PauseMarker(requestKey string) string {
	return PauseIndex + strings.TrimPrefix(requestKey, Approvals)
}

// RequestOfMarker is the key of the request a PAUSE marker stands for.
func RequestOfMarker(marker string) string {
	return Approvals + strings.TrimPrefix(marker, PauseIndex)
}

// SmokeReport is the key of the smoke report of deployment d at stage,
// with extension ext ("json" or "txt").
func SmokeReport(d hook.DeploymentARN, stage hook.Stage, ext string) string {
	return fmt.Sprintf("%s%ssmoke-%s.%s", Reports, deployment(d), stage, ext)
}

// BakeReport is the key of the bake report of deployment d at stage.
func BakeReport(d hook.DeploymentARN, stage hook.Stage) string {
	return fmt.Sprintf("%s%sbake-%s.json", Reports, deployment(d), stage)
}

// Share names green's share of production in keys: 10, or 2.5.
func Share(percent float64) string { return strconv.FormatFloat(percent, 'f', -1, 64) }

// StepName names a step of a linear or canary deployment in the step
// check's report key, as the step check and an approval of the step
// (steps: each) both name it: by green's share in ECS's record of the
// deployment (ecs), else the event's production weight (event); "" with
// neither.
func StepName(ecs, event *float64) string {
	switch {
	case ecs != nil:
		return Share(*ecs)
	case event != nil:
		return Share(*event)
	}
	return ""
}

// BakeSteps is the prefix of the step check's reports (and start markers)
// of deployment d.
func BakeSteps(d hook.DeploymentARN) string {
	return fmt.Sprintf("%s%sbake-%s-green-", Reports, deployment(d), hook.StagePreProductionTrafficShift)
}

// BakeStepReport is the key of the report of the step check of deployment
// d with share percent of production on green, beside the bake's.
func BakeStepReport(d hook.DeploymentARN, share string) string {
	return BakeSteps(d) + share + ".json"
}

// BakeStepStart is the key of the start marker of the step check's run
// for the step with share percent on green, beside its report.
func BakeStepStart(d hook.DeploymentARN, share string) string {
	return strings.TrimSuffix(BakeStepReport(d, share), ".json") + ".start.json"
}

// BakeStart is the key of the start marker of the bake run of deployment d
// at stage, beside its report.
func BakeStart(d hook.DeploymentARN, stage hook.Stage) string {
	return strings.TrimSuffix(BakeReport(d, stage), ".json") + ".start.json"
}
