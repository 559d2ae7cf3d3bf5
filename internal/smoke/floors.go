package smoke

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// PolicyKeys are the keys the smoke section of GATEHOUSE_POLICY may let
// services loosen.
func PolicyKeys() []string {
	return []string{"baseUrl", "checks", "consecutiveSuccesses", "headers", "retries", "timeoutMs"}
}

// ParsePolicy reads the smoke hook's section of the suite's policy.
func ParsePolicy(path string, raw json.RawMessage) (hook.Loosen, error) {
	return hook.ParseLoosen(path, raw, PolicyKeys())
}

// ApplyService is Apply for a service's hookDetails over c, the suite's
// configuration, which is a floor: unless c.Policy lets services loosen a
// key, the suite's checks always run (a service's checks run besides them)
// and consecutiveSuccesses may only rise. Where the suite gives checks,
// they also run as it gives them: against its baseUrl (or the discovered
// test listener), without run-wide headers of the service's (a Host header
// would send them elsewhere), with no more retries and no longer a timeout.
// What would loosen it is refused, naming the key and the rule.
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
	if len(c.Checks) == 0 {
		return out, errors.Join(errs...)
	}
	if out.BaseURL != c.BaseURL && !c.Policy["baseUrl"] {
		refuse("baseUrl", "the suite's checks go to %s", cmp.Or(c.BaseURL, "the discovered test listener"))
	}
	if slices.Contains(keys, "headers") && !maps.Equal(out.Headers, c.Headers) && !c.Policy["headers"] {
		refuse("headers", "run-wide headers apply to the suite's checks too; give them in this service's own checks")
	}
	if out.Retries > c.Retries && !c.Policy["retries"] {
		refuse("retries", "%d is above the suite's %d", out.Retries, c.Retries)
	}
	if out.Timeout > c.Timeout && !c.Policy["timeoutMs"] {
		refuse("timeoutMs", "%d is above the suite's %d", out.Timeout.Milliseconds(), c.Timeout.Milliseconds())
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
