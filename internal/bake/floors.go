package bake

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// PolicyKeys are the keys the bake section of GATEHOUSE_POLICY may let
// services loosen.
func PolicyKeys() []string {
	return []string{"alarms", "metrics", "minRequests", "stepMinRequests", "onNoTraffic", "window"}
}

// ParsePolicy reads the bake hook's section of the suite's policy.
func ParsePolicy(path string, raw json.RawMessage) (hook.Loosen, error) {
	return hook.ParseLoosen(path, raw, PolicyKeys())
}

// floors holds c, the configuration hookDetails made of the suite's (suite),
// to what the suite set (SuiteKeys) as a floor, unless the suite's Policy
// lets services loosen the key: the suite's alarms and metric checks are always checked (a
// service's are checked besides them), the window and minRequests may only
// grow, and onNoTraffic and alarms.insufficientData may not turn lenient.
// What would loosen the suite is refused, naming the key and the rule.
func (suite Config) floors(hookDetails json.RawMessage, c Config) (Config, error) {
	keys, _, _ := hook.Document("hookDetails", hookDetails)
	given := func(k string) bool {
		return slices.Contains(keys, k) && slices.Contains(suite.SuiteKeys, k) && !suite.Policy[k]
	}
	var errs []error
	refuse := func(path, key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("hookDetails.%s: %s (GATEHOUSE_POLICY bake.loosen.%s)", path, fmt.Sprintf(format, args...), key))
	}
	if given("alarms") {
		for _, n := range suite.Alarms.Names {
			if !slices.Contains(c.Alarms.Names, n) {
				c.Alarms.Names = append(c.Alarms.Names, n)
			}
		}
		for _, p := range suite.Alarms.Prefixes {
			if !slices.Contains(c.Alarms.Prefixes, p) {
				c.Alarms.Prefixes = append(c.Alarms.Prefixes, p)
			}
		}
		if suite.Alarms.InsufficientData == Fail && c.Alarms.InsufficientData != Fail {
			refuse("alarms.insufficientData", "alarms", "%s where the suite fails on missing alarm data", c.Alarms.InsufficientData)
		}
	}
	if given("metrics") {
		metrics, changed := hook.KeepFloor(suite.Metrics, c.Metrics, func(m MetricCheck) string { return m.Name })
		for _, i := range changed {
			refuse(fmt.Sprintf("metrics[%d]", i), "metrics", "%q is one of the suite's metric checks, which always run as the suite gives them", c.Metrics[i].Name)
		}
		c.Metrics = metrics
	}
	if given("window") && c.Window < suite.Window {
		refuse("window", "window", "%s is shorter than the suite's %s", hook.FormatDuration(c.Window), hook.FormatDuration(suite.Window))
	}
	if given("minRequests") && c.MinRequests < suite.MinRequests {
		refuse("minRequests", "minRequests", "%d is below the suite's %d", c.MinRequests, suite.MinRequests)
	}
	if floor, ok := suite.stepFloor(); ok && slices.Contains(keys, "stepMinRequests") && !suite.Policy["stepMinRequests"] &&
		c.StepMinRequests != nil && *c.StepMinRequests < floor {
		refuse("stepMinRequests", "stepMinRequests", "%d is below the suite's %d for a step", *c.StepMinRequests, floor)
	}
	if given("onNoTraffic") && suite.OnNoTraffic == Fail && c.OnNoTraffic == Pass {
		refuse("onNoTraffic", "onNoTraffic", "pass where the suite fails a bake without evidence")
	}
	return c, errors.Join(errs...)
}

// stepFloor is the fewest requests the suite asks of a step: its
// stepMinRequests, or else its minRequests, when it set either.
func (suite Config) stepFloor() (int, bool) {
	switch {
	case slices.Contains(suite.SuiteKeys, "stepMinRequests") && suite.StepMinRequests != nil:
		return *suite.StepMinRequests, true
	case slices.Contains(suite.SuiteKeys, "minRequests"):
		return suite.MinRequests, true
	}
	return 0, false
}
