package approval

// What an open request watches: its alarms (abortOnAlarms) and, before it
// asks anyone, the smoke verdict (waitForSmoke).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// watch reads the alarms r watches and returns why r must be aborted, or ""
// to go on. An alarm in ALARM aborts; so does a named alarm that does not
// exist, a prefix that matches none, or an error that asking again will not
// mend (access denied): a watch that cannot see is no watch. A transient
// error is returned as such: the caller holds, and aborts once the trouble
// has lasted AlarmTroubleLimit.
func (g *Gate) watch(ctx context.Context, r *Request) (string, error) {
	w := r.AbortOnAlarms
	if g.Alarms == nil {
		return "abortOnAlarms: this approval hook cannot read CloudWatch alarms", nil
	}
	actx, cancel := context.WithTimeout(ctx, alarmTimeout)
	defer cancel()
	alarms, err := g.Alarms.Alarms(actx, w.Names, w.Prefixes)
	if err != nil {
		if hook.IsTransient(err) {
			g.Log.WarnContext(ctx, "watched alarms not read; reading them again on the next call", "deployment_arn", r.DeploymentARN, "err", err)
			return "", err
		}
		return "abortOnAlarms: cannot read the alarms: " + oneLine(err.Error()), nil
	}
	var firing, problems []string
	for _, a := range alarms {
		if a.State == "ALARM" {
			s := "alarm " + a.Name + " is in ALARM"
			if reason := oneLine(a.Reason); reason != "" {
				if len(reason) > maxAlarmReason {
					reason = strings.ToValidUTF8(reason[:maxAlarmReason-3], "") + "..."
				}
				s += " (" + reason + ")"
			}
			firing = append(firing, s)
		}
	}
	for _, n := range w.Names {
		if !slices.ContainsFunc(alarms, func(a Alarm) bool { return a.Name == n }) {
			problems = append(problems, fmt.Sprintf("alarm %q does not exist", n))
		}
	}
	for _, p := range w.Prefixes {
		if !slices.ContainsFunc(alarms, func(a Alarm) bool { return strings.HasPrefix(a.Name, p) }) {
			problems = append(problems, fmt.Sprintf("no alarm name starts with %q", p))
		}
	}
	switch {
	case len(firing) > 0:
		return strings.Join(firing, "; "), nil
	case len(problems) > 0:
		return "abortOnAlarms: " + strings.Join(problems, "; "), nil
	}
	return "", nil
}

// waitForSmoke decides whether to hold the messages for the smoke verdict:
// as configured, else when ECS reports the smoke hook among this stage's
// hooks. When ECS cannot say (why: unknown), a smoke report already written
// answers; with none, the gate asks again later rather than guess, for a
// bounded time (hook.Uncertain): a describe that is denied for good ends
// in FAILED naming it, not in a hold that only ECS's hook timeout ends.
func (g *Gate) waitForSmoke(ctx context.Context, p Poll, change Change, unknown error) (bool, error) {
	if p.Settings.WaitForSmoke != nil {
		return *p.Settings.WaitForSmoke, nil
	}
	if g.SmokeFunction == "" {
		return false, nil
	}
	if change.Known {
		for _, h := range change.Hooks {
			if functionName(h) == functionName(g.SmokeFunction) {
				return true, nil
			}
		}
		return false, nil
	}
	if g.Smoke != nil {
		_, _, err := g.Smoke.SmokeVerdict(ctx, p.Deployment.String(), p.Stage)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return false, fmt.Errorf("read smoke verdict: %w", err)
		}
	}
	return false, hook.Uncertain(fmt.Errorf("ECS did not say whether a smoke hook runs at this stage (%s); asking again before notifying anyone", oneLine(fmt.Sprint(unknown))))
}

// functionName returns the function name in a Lambda function ARN (without
// a qualifier), or s itself when it is a plain name.
func functionName(s string) string {
	if i := strings.Index(s, ":function:"); i >= 0 {
		s = s[i+len(":function:"):]
		if j := strings.Index(s, ":"); j >= 0 {
			s = s[:j]
		}
	}
	return s
}
