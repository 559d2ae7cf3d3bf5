package smoke

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// PolicyKeys are the keys the smoke section of GATEHOUSE_POLICY may let
// services loosen.
func PolicyKeys() []string { return []string{"baseUrl", "checks", "consecutiveSuccesses"} }

// ParsePolicy reads the smoke hook's section of the suite's policy.
func ParsePolicy(path string, raw json.RawMessage) (hook.Loosen, error) {
	return hook.ParseLoosen(path, raw, PolicyKeys())
}

// ApplyService is Apply for a service's hookDetails over c, the suite's
// configuration, which is a floor: unless c.Policy lets services loosen a
// key, the suite's checks always run (a service's checks run besides them),
// consecutiveSuccesses may only rise, and the suite's baseUrl stays. What
// would loosen it is refused, naming the key and the rule.
func (c Config) ApplyService(doc json.RawMessage) (Config, error) {
	out, err := c.Apply(doc, "hookDetails")
	if err != nil {
		return out, err
	}
	keys, _, _ := hook.Document("hookDetails", doc)
	var errs []error
	refuse := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("hookDetails.%s: %s (GATEHOUSE_POLICY smoke.loosen.%s)", key, fmt.Sprintf(format, args...), rootKey(key)))
	}
	if slices.Contains(keys, "checks") && !c.Policy["checks"] && len(c.Checks) > 0 {
		checks, changed := hook.KeepFloor(c.Checks, out.Checks, func(ch Check) string { return ch.Name })
		for _, i := range changed {
			refuse(fmt.Sprintf("checks[%d]", i), "%q is one of the suite's checks, which always run as the suite gives them", out.Checks[i].Name)
		}
		out.Checks = checks
	}
	if out.ConsecutiveSuccesses < c.ConsecutiveSuccesses && !c.Policy["consecutiveSuccesses"] {
		refuse("consecutiveSuccesses", "%d is below the suite's %d", out.ConsecutiveSuccesses, c.ConsecutiveSuccesses)
	}
	if c.BaseURL != "" && out.BaseURL != c.BaseURL && !c.Policy["baseUrl"] {
		refuse("baseUrl", "the suite's checks go to %s", c.BaseURL)
	}
	return out, errors.Join(errs...)
}

// rootKey is the hookDetails key of a path such as checks[1].
func rootKey(path string) string {
	for i, r := range path {
		if r == '[' || r == '.' {
			return path[:i]
		}
	}
	return path
}
