package hook

import (
	"strings"
	"time"
)

// FormatDuration writes d to the second, the way hookDetails durations are
// written and parsed (time.ParseDuration), without zero units: 10s, 30s,
// 1m30s, 10m, 1h, 1h30m, 1h0m30s, 0s. Sub-second parts are rounded.
func FormatDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	// time.Duration.String writes every unit below the largest: 10m0s,
	// 1h0m0s. Drop only whole trailing zero units, never a digit of a
	// non-zero one (10s stays 10s).
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Limits of a hook's timeoutConfiguration (timeoutInMinutes 1 to 20160 in
// the ECS API and in CloudFormation's AWS::ECS::Service HookTimeoutConfig):
// how long ECS waits for a hook to answer SUCCEEDED or FAILED before its
// timeout action. DefaultTimeout is what ECS gives a hook without one.
const (
	MinTimeout     = time.Minute
	MaxTimeout     = 20160 * time.Minute
	DefaultTimeout = 24 * time.Hour
)
