package gatehouse

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
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
// traffic, for CheckStackDuration: its strategy (blue/green when zero) and
// its BakeTimeInMinutes.
type Rollout struct {
	rollout.Strategy
	BakeTime time.Duration
}

// computed is CloudFormation's own computation for linear and canary
// deployments, which it refuses above MaxComputedDeployment: the bake time
// plus the step bake after every step but the last (linear) or the canary
// bake (canary).
func (r Rollout) computed() time.Duration {
	s := r.Strategy.WithDefaults()
	switch s.Kind {
	case rollout.Linear:
		return r.BakeTime + time.Duration(len(s.Steps())-1)*s.StepBake
	case rollout.Canary:
		return r.BakeTime + s.CanaryBake
	}
	return r.BakeTime
}

// bakes is every wait the rollout itself makes: the step or canary bakes
// and the bake time.
func (r Rollout) bakes() time.Duration {
	d := r.BakeTime
	for i := range r.Strategy.Steps() {
		d += r.Strategy.BakeAfter(i)
	}
	return d
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
	if err := r.Strategy.WithDefaults().Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	if kind := r.Strategy.WithDefaults().Kind; kind == rollout.Linear || kind == rollout.Canary {
		if c := r.computed(); c > MaxComputedDeployment {
			problems = append(problems, fmt.Sprintf("CloudFormation refuses a %s deployment whose computed time (bake time plus step bake times) is over %s; this one's is %s",
				kind, hook.FormatDuration(MaxComputedDeployment), hook.FormatDuration(c)))
		}
	}
	shifts := len(r.Strategy.Steps())
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
			n = shifts
		}
		waits += time.Duration(n) * longest[s]
		if n > 1 {
			parts = append(parts, fmt.Sprintf("%s %d × %s", s, n, hook.FormatDuration(longest[s])))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s", s, hook.FormatDuration(longest[s])))
		}
	}
	bakes := r.bakes()
	if total := waits + bakes; total > MaxStackOperation {
		problems = append(problems, fmt.Sprintf("the deployment could last %s (hook timeouts: %s; bake times: %s), more than the %s a CloudFormation stack operation may last: CloudFormation would roll the stack back while a hook still waits; shorten the hook timeouts",
			hook.FormatDuration(total), strings.Join(parts, ", "), hook.FormatDuration(bakes), hook.FormatDuration(MaxStackOperation)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}
