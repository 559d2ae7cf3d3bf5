package smoke

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBackoff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RetryDelay, cfg.MaxRetryDelay = 500*time.Millisecond, 3*time.Second
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, backoff(cfg, n))
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}
	cfg.RetryDelay, cfg.MaxRetryDelay = 0, 0
	if d := backoff(cfg, MaxRetries+1); d != 0 {
		t.Errorf("backoff with no delay = %s, want 0", d)
	}
	cfg.RetryDelay, cfg.MaxRetryDelay = MaxRetryDelay, MaxMaxRetryDelay
	if d := backoff(cfg, MaxRetries+1); d != MaxMaxRetryDelay {
		t.Errorf("backoff(%d) = %s, want the cap %s", MaxRetries+1, d, MaxMaxRetryDelay)
	}
}

func TestJitter(t *testing.T) {
	tests := []struct {
		d    time.Duration
		r    float64
		want time.Duration
	}{
		{time.Second, 0, 500 * time.Millisecond},
		{time.Second, 0.5, 750 * time.Millisecond},
		{time.Second, 0.999, 999500 * time.Microsecond},
		{time.Second, 7, time.Second},
		{time.Second, -1, 500 * time.Millisecond},
		{0, 0.5, 0},
	}
	for _, tt := range tests {
		if got := jitter(tt.d, tt.r); got != tt.want {
			t.Errorf("jitter(%s, %g) = %s, want %s", tt.d, tt.r, got, tt.want)
		}
	}
}

// TestRecord walks a check through the flake policy: passes in a row are
// needed, a failure breaks the streak and uses a retry.
func TestRecord(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Retries, cfg.ConsecutiveSuccesses = 2, 2
	cfg.RetryDelay, cfg.MaxRetryDelay = time.Second, time.Minute
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	ok := attempt{status: 200, latency: 12 * time.Millisecond}
	bad := attempt{status: 503, latency: 3 * time.Millisecond, problem: "status 503, want 200"}
	half := func() float64 { return 0.5 }

	c := checkState{Name: "h", Outcome: OutcomeRunning}
	steps := []struct {
		a        attempt
		outcome  Outcome
		streak   int
		failures int
		next     time.Duration // after t0
	}{
		{ok, OutcomeRunning, 1, 0, 750 * time.Millisecond},  // pause between passes: RetryDelay with jitter
		{bad, OutcomeRunning, 0, 1, 750 * time.Millisecond}, // first failure: RetryDelay
		{ok, OutcomeRunning, 1, 1, 750 * time.Millisecond},
		{bad, OutcomeRunning, 0, 2, 1500 * time.Millisecond}, // second failure: doubled
		{ok, OutcomeRunning, 1, 2, 750 * time.Millisecond},
		{ok, OutcomePassed, 2, 2, 750 * time.Millisecond}, // next unchanged once finished
	}
	for i, s := range steps {
		c.record(s.a, t0, cfg, half)
		if c.Outcome != s.outcome || c.Streak != s.streak || c.Failures != s.failures || c.Attempts != i+1 {
			t.Fatalf("step %d: %+v, want outcome %s streak %d failures %d attempts %d", i, c, s.outcome, s.streak, s.failures, i+1)
		}
		if got := time.UnixMilli(c.Next).Sub(t0); got != s.next {
			t.Errorf("step %d: next in %s, want %s", i, got, s.next)
		}
	}
	if c.Status != 200 || c.LatencyMs != 12 || c.Problem != "" {
		t.Errorf("last attempt = %d %dms %q, want 200 12ms and no problem", c.Status, c.LatencyMs, c.Problem)
	}

	c = checkState{Name: "h", Outcome: OutcomeRunning}
	for range cfg.Retries + 1 {
		c.record(bad, t0, cfg, half)
	}
	if c.Outcome != OutcomeFailed || c.Attempts != 3 || c.Problem != bad.problem {
		t.Errorf("after %d failures: %+v, want failed after 3 attempts", cfg.Retries+1, c)
	}
	if c.Attempts > maxAttempts(cfg) {
		t.Errorf("attempts %d above maxAttempts %d", c.Attempts, maxAttempts(cfg))
	}
}
