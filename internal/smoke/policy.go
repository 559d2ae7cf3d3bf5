package smoke

import (
	"strings"
	"time"
)

// maxProblemLen bounds the reason kept for a check's last attempt.
const maxProblemLen = 300

// The flake policy. A check passes after ConsecutiveSuccesses passing
// attempts in a row and fails after more than Retries failed attempts; a
// failure breaks the streak. After the n-th failure the next attempt waits
// RetryDelay·2^(n-1), capped at MaxRetryDelay; between the passes of a streak
// it waits RetryDelay. Every wait has jitter: it is drawn evenly from the
// upper half of its nominal value, so that checks (and hooks of many
// services) that failed together do not retry in lockstep, and no wait is
// shorter than half what was asked for.

// record applies the policy to c after attempt a ended at now. rnd returns a
// number in [0, 1).
func (c *checkState) record(a attempt, now time.Time, cfg Config, rnd func() float64) {
	c.Attempts++
	c.Status = a.status
	c.LatencyMs = a.latency.Milliseconds()
	c.Problem = a.problem
	if len(c.Problem) > maxProblemLen {
		// The state travels in hookDetails: keep it small.
		c.Problem = strings.ToValidUTF8(c.Problem[:maxProblemLen-3], "") + "..."
	}
	if a.problem == "" {
		c.Streak++
		if c.Streak >= cfg.ConsecutiveSuccesses {
			c.Outcome = OutcomePassed
			return
		}
		c.Next = now.Add(jitter(cfg.RetryDelay, rnd())).UnixMilli()
		return
	}
	c.Streak = 0
	c.Failures++
	if c.Failures > cfg.Retries {
		c.Outcome = OutcomeFailed
		return
	}
	c.Next = now.Add(jitter(backoff(cfg, c.Failures), rnd())).UnixMilli()
}

// backoff is the nominal wait after the n-th failure (n >= 1).
func backoff(cfg Config, n int) time.Duration {
	d := cfg.RetryDelay
	for i := 1; i < n && d < cfg.MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, cfg.MaxRetryDelay)
}

// jitter draws a wait from [d/2, d) with r in [0, 1).
func jitter(d time.Duration, r float64) time.Duration {
	r = min(max(r, 0), 1)
	half := d / 2
	return half + time.Duration(float64(d-half)*r)
}
