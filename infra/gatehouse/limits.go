package gatehouse

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Limits CloudFormation puts on a stack that deploys an ECS service: the
// stack operation waits for the service deployment to finish.
const (
	// MaxStackOperation is how long a CloudFormation stack operation may
	// last; a deployment still running then is rolled back by
	// CloudFormation, whatever the hooks decided.
	MaxStackOperation = 36 * time.Hour
	// MaxComputedDeployment is the longest computed time CloudFormation
	// accepts for a linear or canary deployment (AWS::ECS::Service
	// LinearConfiguration and CanaryConfiguration): BakeTimeInMinutes plus
	// the step or canary bake times.
	MaxComputedDeployment = 33 * time.Hour
)

// Rollout is how a service deployed by CloudFormation shifts production
// traffic, for CheckStackDuration.
type Rollout struct {
	// Strategy is BLUE_GREEN (also when empty), LINEAR or CANARY.
	Strategy string
	// BakeTime is the deployment's BakeTimeInMinutes.
	BakeTime time.Duration
	// StepPercent and StepBakeTime are LINEAR's LinearConfiguration.
	StepPercent  float64
	StepBakeTime time.Duration
	// CanaryPercent and CanaryBakeTime are CANARY's CanaryConfiguration.
	CanaryPercent  float64
	CanaryBakeTime time.Duration
}

// Strategies a Rollout may name.
const (
	StrategyBlueGreen = "BLUE_GREEN"
	StrategyLinear    = "LINEAR"
	StrategyCanary    = "CANARY"
)

// shifts is how many times production traffic moves: once for blue/green,
// twice for canary (the canary, then the rest), and for linear one step per
// StepPercent until 100. ECS calls the PRE_PRODUCTION_TRAFFIC_SHIFT and
// PRODUCTION_TRAFFIC_SHIFT hooks at every shift.
func (r Rollout) shifts() int {
	switch r.Strategy {
	case StrategyLinear:
		if r.StepPercent <= 0 {
			return 1
		}
		return int(math.Ceil(100/r.StepPercent - 1e-9))
	case StrategyCanary:
		return 2
	}
	return 1
}

// computed is CloudFormation's own computation for linear and canary
// deployments, which it refuses above MaxComputedDeployment: the bake time
// plus the step bake time for every step but the last (linear) or the
// canary bake time (canary).
func (r Rollout) computed() time.Duration {
	switch r.Strategy {
	case StrategyLinear:
		steps := 0
		if r.StepPercent > 0 {
			q := 100 / r.StepPercent
			steps = int(math.Floor(q + 1e-9))
			if math.Abs(q-math.Round(q)) < 1e-9 {
				steps = int(math.Round(q)) - 1
			}
		}
		return r.BakeTime + time.Duration(steps)*r.StepBakeTime
	case StrategyCanary:
		return r.BakeTime + r.CanaryBakeTime
	}
	return r.BakeTime
}

// CheckStackDuration reports why a service deployed by a CloudFormation
// stack, with these hooks and this rollout, could outlast what
// CloudFormation allows, or nil. The longest a deployment can wait is the
// longest hook timeout at each stage (hooks at one stage run in parallel;
// a hook without a Timeout has ECS's default of 24h), counted once per
// traffic shift at the per-step stages, plus the bake times. Above
// MaxStackOperation, CloudFormation would roll the stack back while a hook
// still waits, so a long approval could never take effect. Linear and
// canary deployments must also pass CloudFormation's own computed limit
// (MaxComputedDeployment).
func CheckStackDuration(hooks []Hook, r Rollout) error {
	var problems []string
	if r.Strategy == StrategyLinear || r.Strategy == StrategyCanary {
		if c := r.computed(); c > MaxComputedDeployment {
			problems = append(problems, fmt.Sprintf("CloudFormation refuses a %s deployment whose computed time (bake time plus step bake times) is over %s; this one's is %s",
				strings.ToLower(r.Strategy), hook.FormatDuration(MaxComputedDeployment), hook.FormatDuration(c)))
		}
	}
	longest := map[Stage]time.Duration{}
	for _, h := range hooks {
		t := h.Timeout
		if t == 0 {
			t = DefaultECSHookTimeout
		}
		for _, s := range h.Stages {
			longest[s] = max(longest[s], t)
		}
	}
	stages := slices.Sorted(maps.Keys(longest))
	var waits time.Duration
	parts := make([]string, 0, len(stages))
	for _, s := range stages {
		n := 1
		if s == StagePreProductionTrafficShift || s == StageProductionTrafficShift {
			n = r.shifts()
		}
		waits += time.Duration(n) * longest[s]
		if n > 1 {
			parts = append(parts, fmt.Sprintf("%s %d × %s", s, n, hook.FormatDuration(longest[s])))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s", s, hook.FormatDuration(longest[s])))
		}
	}
	bakes := r.BakeTime
	switch r.Strategy {
	case StrategyLinear:
		bakes += time.Duration(max(r.shifts()-1, 0)) * r.StepBakeTime
	case StrategyCanary:
		bakes += r.CanaryBakeTime
	}
	if total := waits + bakes; total > MaxStackOperation {
		problems = append(problems, fmt.Sprintf("the deployment could last %s (hook timeouts: %s; bake times: %s), more than the %s a CloudFormation stack operation may last: CloudFormation would roll the stack back while a hook still waits; shorten the hook timeouts",
			hook.FormatDuration(total), strings.Join(parts, ", "), hook.FormatDuration(bakes), hook.FormatDuration(MaxStackOperation)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}
