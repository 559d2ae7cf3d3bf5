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

// Limits of a hook's timeoutConfiguration: how long ECS waits for a hook to
// answer SUCCEEDED or FAILED (a PAUSE hook, to be continued) before its
// timeout action. ECS documents timeoutInMinutes 1 to 1440 for Lambda hooks
// and 1 to 20160 for PAUSE hooks; the API type allows 20160 for both, since
// one type serves both kinds. A stage with Lambda hooks lasts at most 24
// hours, then the deployment fails and rolls back, and a whole deployment
// at most 30 days. DefaultTimeout is what ECS gives a hook without one.
const (
	MinTimeout       = time.Minute
	MaxLambdaTimeout = 1440 * time.Minute
	MaxPauseTimeout  = 20160 * time.Minute
	// MaxTimeout is the longest any hook waits: a PAUSE hook's.
	MaxTimeout     = MaxPauseTimeout
	DefaultTimeout = 24 * time.Hour
	// MaxLambdaStage is how long a stage with Lambda hooks may last.
	MaxLambdaStage = 24 * time.Hour
	// MaxDeployment is how long a whole service deployment may last.
	MaxDeployment = 30 * 24 * time.Hour
)

// MaxHookTimeout is the longest timeoutConfiguration ECS accepts for a
// PAUSE hook (pause) or a Lambda hook.
func MaxHookTimeout(pause bool) time.Duration {
	if pause {
		return MaxPauseTimeout
	}
	return MaxLambdaTimeout
}
