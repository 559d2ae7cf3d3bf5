package local

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
)

// benchLocal starts local mode with the approval hook alone, in mode, at
// speed.
func benchLocal(b *testing.B, mode string, speed float64) *Local {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Speed = speed
	cfg.ApprovalMode = mode
	cfg.Hooks = onlyApproval(cfg.Hooks)
	l, err := Start(Options{StateDir: b.TempDir(), Listen: "127.0.0.1:0", Config: cfg, Out: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.Close)
	return l
}

// BenchmarkDecisionToContinue: from the deciding vote (the review page
// opened, the form posted) to ECS going on past the approval stage, in
// both modes, side by side. In pause mode nothing waits: the time is the
// work, measured on the wall clock. In poll mode the vote waits for the
// hook's next call, up to callbackDelay (30 s): measured on the simulated
// clock, as ECS would see it at speed 1.
func BenchmarkDecisionToContinue(b *testing.B) {
	for _, mode := range []string{ModePause, ModeLambda} {
		b.Run(mode, func(b *testing.B) {
			l := benchLocal(b, mode, 60)
			var total time.Duration
			for range b.N {
				total += decideAndTime(b, l, mode)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s-to-continue")
		})
	}
}

// decideAndTime runs one deployment to its approval, approves, and returns
// how long ECS took to go on.
func decideAndTime(b *testing.B, l *Local, mode string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr, m := deployToReview(ctx, b, l, Healthy)
	wall, sim := time.Now(), l.Clock.Now()
	if code, body, err := press(ctx, m, "approve"); err != nil || code != http.StatusOK {
		b.Fatalf("approve: %d %v\n%s", code, err, body)
	}
	for tr.D.Snapshot().Stage == hook.StagePostTestTrafficShift {
		if ctx.Err() != nil {
			b.Fatal("ECS did not go on within 2 minutes")
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(wall)
	if mode == ModeLambda {
		took = l.Clock.Now().Sub(sim)
	}
	waitEnd(ctx, b, tr)
	return took
}

// BenchmarkWaitingHour: what an hour of waiting for a decision costs, per
// open request, in both modes: calls of the approval hook's function (ECS's
// hook calls every callbackDelay; the sweep each minute, which serves every
// open request at once) and S3 requests (one read a poll; in pause mode a
// read a sweep, and the sweep's one list, shared). Each iteration waits 12
// simulated minutes, so that the edges of the window weigh little.
func BenchmarkWaitingHour(b *testing.B) {
	for _, mode := range []string{ModePause, ModeLambda} {
		b.Run(mode, func(b *testing.B) {
			l := benchLocal(b, mode, MaxSpeed)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			tr, err := l.Deploy(Healthy)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := l.Outbox.Wait(ctx, func(m Mail) bool { return IsReview(m, tr.D.ID) }); err != nil {
				b.Fatal(err)
			}
			// Past the opening calls.
			if err := l.Clock.Sleep(ctx, 2*time.Minute); err != nil {
				b.Fatal(err)
			}
			calls0, s30 := l.Costs()
			start := l.Clock.Now()
			b.ResetTimer()
			for range b.N {
				if err := l.Clock.Sleep(ctx, 12*time.Minute); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			calls, s3 := l.Costs()
			hours := l.Clock.Now().Sub(start).Hours()
			b.ReportMetric(float64(calls-calls0)/hours, "calls/h")
			b.ReportMetric(float64(s3-s30)/hours, "s3-requests/h")
		})
	}
}

// BenchmarkSlackClick: a click on a Slack message's Approve button, as
// Slack posts it (signed), in both modes: from the click to the answer
// Slack gets (the voter's answer shown, every copy rewritten), which
// Slack wants within 3 seconds; and in pause mode to ECS's
// ContinueServiceDeployment, which that answer waits for. Wall clock.
func BenchmarkSlackClick(b *testing.B) {
	for _, mode := range []string{ModePause, ModeLambda} {
		b.Run(mode, func(b *testing.B) {
			l := benchLocal(b, mode, 60)
			var answer, toECS time.Duration
			for range b.N {
				a, c := clickAndTime(b, l, mode)
				answer += a
				toECS += c
			}
			b.ReportMetric(answer.Seconds()*1000/float64(b.N), "ms-to-answer")
			if mode == ModePause {
				b.ReportMetric(toECS.Seconds()*1000/float64(b.N), "ms-to-continue")
			}
		})
	}
}

// clickAndTime runs one deployment to its approval, approves in Slack, and
// returns how long the answer took and, in pause mode, how long until ECS
// was told to go on.
func clickAndTime(b *testing.B, l *Local, mode string) (answer, toECS time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr, err := l.Deploy(Healthy)
	if err != nil {
		b.Fatal(err)
	}
	m, err := l.WaitSlack(ctx, func(m SlackMessage) bool { return m.About(tr.D.ID) })
	if err != nil {
		b.Fatal(err)
	}
	continues := l.AWSCalls()["ContinueServiceDeployment"]
	start := time.Now()
	said, err := l.SlackClick(ctx, m.TS, "gatehouse_approve")
	answer = time.Since(start)
	if err != nil || !strings.Contains(said, "is recorded") {
		b.Fatalf("click: %q, %v", said, err)
	}
	for mode == ModePause && l.AWSCalls()["ContinueServiceDeployment"] == continues {
		if ctx.Err() != nil {
			b.Fatal("ECS was not told to go on within 2 minutes")
		}
		time.Sleep(time.Millisecond)
	}
	toECS = time.Since(start)
	waitEnd(ctx, b, tr)
	return answer, toECS
}

// BenchmarkExposure: the largest share of production a degrading green
// receives before it is rolled back, under linear and canary deployments
// (local mode, the default hooks, a reviewer who approves). The goal
// is that a canary never leaves its first share and a linear deployment
// rolls back at the first step after green degrades: the step check does
// it (10% and 25% with local mode's defaults); a bake that judged only
// after the last step exposed 100%.
func BenchmarkExposure(b *testing.B) {
	for _, strategy := range []string{"canary", "linear"} {
		b.Run(strategy, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Speed, cfg.Strategy = MaxSpeed, strategy
			l, err := Start(Options{StateDir: b.TempDir(), Listen: "127.0.0.1:0", Config: cfg, Out: io.Discard})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(l.Close)
			worst := 0.0
			for range b.N {
				worst = max(worst, exposure(b, l))
			}
			b.ReportMetric(worst, "%-exposure")
		})
	}
}

// exposure deploys a degrading green, approves it, waits for the end, and
// returns the largest production share green received.
func exposure(b *testing.B, l *Local) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tr, m := deployToReview(ctx, b, l, Degrading)
	if code, body, err := press(ctx, m, "approve"); err != nil || code != http.StatusOK {
		b.Fatalf("approve: %d %v\n%s", code, err, body)
	}
	waitEnd(ctx, b, tr)
	snap := tr.D.Snapshot()
	if snap.Status != simulator.StatusRollbackSuccessful {
		b.Fatalf("a degrading green ended %s, want rolled back", snap.Status)
	}
	return Exposure(snap)
}

// deployToReview starts a deployment of a green that behaves as mode and
// waits for its review message.
func deployToReview(ctx context.Context, b *testing.B, l *Local, mode Mode) (*Tracked, Mail) {
	b.Helper()
	tr, err := l.Deploy(mode)
	if err != nil {
		b.Fatal(err)
	}
	m, err := l.Outbox.Wait(ctx, func(m Mail) bool { return IsReview(m, tr.D.ID) })
	if err != nil {
		b.Fatal(err)
	}
	return tr, m
}

// waitEnd waits for tr to end, or fails when ctx does first.
func waitEnd(ctx context.Context, b *testing.B, tr *Tracked) {
	b.Helper()
	select {
	case <-tr.Done():
	case <-ctx.Done():
		b.Fatal("the deployment did not end")
	}
}
