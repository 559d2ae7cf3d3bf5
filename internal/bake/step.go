package bake

// The step check: the bake hook registered at PRE_PRODUCTION_TRAFFIC_SHIFT
// of a linear or canary deployment. ECS calls it before every production
// step; it judges the step just baked, green's share of production over
// the step's own window (the deployment's step or canary bake time, as ECS
// describes it), with exactly the bake's checks, so that a breach rolls
// back while most traffic is still on blue. Before the first step (nothing
// on green yet) and under blue/green (one step, judged by the bake after
// the shift) it passes without a verdict, saying why.
//
// The step's window is the step bake before the run's first call: the step
// has baked by the time ECS asks. Blue is compared over the same window,
// serving the rest of production beside green. A smoke run through the
// test listener reaches green's target group too: a window that overlaps
// one starts after it, and is held until a whole window of production
// evidence is in.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Rollout is how a deployment moves production traffic, as ECS describes
// it.
type Rollout struct {
	// Over is set when the deployment no longer goes forward (stopping,
	// rolling back, ended); Status is ECS's word for it.
	Over   bool
	Status string
	// Stepped is set for a linear or canary deployment.
	Stepped bool
	// Strategy is ECS's name for it, for the reasons.
	Strategy string
	// StepBake is the wait after each step but the last.
	StepBake time.Duration
	// GreenShare is the target revision's share of production in percent,
	// as ECS last requested it; nil when ECS does not say.
	GreenShare *float64
}

// Rollouts says how a deployment moves production traffic. In AWS, ECS
// answers it (DescribeServiceDeployments).
type Rollouts interface {
	Rollout(ctx context.Context, deploymentARN string) (Rollout, error)
}

// MinStepWindow is the shortest window a step is judged over: a step bake
// shorter than this (ECS allows none) is held by the step check until a
// minute of evidence is in.
const MinStepWindow = time.Minute

// StepSettle is how long after the step bake a step is held before it may
// pass: load balancer metrics reach CloudWatch a minute or two late, and
// the step's last minutes must be in. A breach fails at once.
const StepSettle = 2 * time.Minute

// step is the step a step check's call is about.
type step struct {
	// share is green's share of production during the step, in percent.
	share float64
	// baked is the step bake that ended as ECS called (at most MaxWindow):
	// the window starts that long before the run's first call.
	baked time.Duration
	// window is the step's window: the step bake, at least MinStepWindow,
	// then StepSettle.
	window time.Duration
	// skip, when set, is why the call passes without a verdict.
	skip string
	// traffic is where production goes, when a Locator found it.
	traffic *Traffic
	// key names the step in its report's key and run state: the share
	// ECS's record gives, else the event's (as an approval of the step,
	// steps: each, names it too), or else share.
	key string
}

// stepOf finds out what step the call at PRE_PRODUCTION_TRAFFIC_SHIFT is
// about. ECS's record of the deployment gives the strategy and the step
// bake; green's share is the production listener's own weight of green's
// target group when a Locator finds it (locate: the checks need the
// target groups; alarms alone do not, nor a service without a load
// balancer), else the lower of the event's
// production weight and ECS's record (ECS's documents leave open whether
// the event's weights are production as it stands or the step about to
// be made: a share green never had must not be judged). A deployment
// rolling back, or with nothing on green yet, passes without a verdict.
// Errors that may pass are Uncertain: hook.Wrap retries them, and fails
// the call once they have lasted its bound.
func (c *Checker) stepOf(ctx context.Context, req hook.Request, locate bool) (step, error) {
	if c.Rollouts == nil {
		return step{}, hook.Permanent(fmt.Errorf("no source of the deployment's strategy here (ECS): the step check cannot tell a step: %w", ErrUnsupported))
	}
	r, err := call(ctx, c, func(ctx context.Context) (Rollout, error) { return c.Rollouts.Rollout(ctx, req.ResourceARN) })
	if err != nil {
		return step{}, uncertain(fmt.Errorf("describe the deployment (strategy, step bake, green's share): %w", err))
	}
	if r.Over {
		return step{skip: fmt.Sprintf("ECS reports the deployment %s: nothing to judge, and a rollback is never held", r.Status)}, nil
	}
	hint, known := math.Inf(1), false
	var event *float64
	if w, found := req.ExecutionDetails.ProductionTrafficWeights[req.ExecutionDetails.TargetServiceRevisionARN]; found {
		hint, known, event = w, true, &w
	}
	if r.GreenShare != nil {
		hint, known = min(hint, *r.GreenShare), true
	}
	if known && (math.IsNaN(hint) || hint < 0 || hint > 100) {
		known = false
	}
	s := step{share: hint}
	if c.Locator != nil && locate {
		t, err := call(ctx, c, func(ctx context.Context) (Traffic, error) {
			return c.Locator.Locate(ctx, req.ExecutionDetails.TargetServiceRevisionARN)
		})
		if err != nil {
			return step{}, uncertain(fmt.Errorf("locate target groups: %w", err))
		}
		var first string
		if !t.ByTestListener && t.BlueWeight > 0 {
			if first, err = c.firstStep(ctx, req); err != nil {
				return step{}, uncertain(err)
			}
		}
		if s.share, err = listenerShare(&t, first, hint, known); err != nil {
			return step{}, hook.Permanent(err)
		}
		s.traffic = &t
	} else if !known {
		return step{}, hook.Permanent(errors.New("cannot tell green's share of production: neither the event's productionTrafficWeights nor ECS's record of the deployment gives the target revision a weight from 0 to 100"))
	}
	switch {
	case s.share == 0:
		s.skip = "no production traffic on green yet (before the first step): nothing to judge"
	case !r.Stepped:
		return step{}, hook.Permanent(fmt.Errorf("green has %s%% of production before a production step, but ECS describes no linear or canary configuration (strategy %q): cannot tell the step's bake", layout.Share(s.share), r.Strategy))
	}
	s.key = cmp.Or(layout.StepName(r.GreenShare, event), layout.Share(s.share))
	s.baked = min(max(r.StepBake, 0), MaxWindow)
	s.window = max(s.baked, MinStepWindow) + StepSettle
	return s, nil
}

// firstStep returns green's target group as the step check recorded it
// before the first step, when production was all blue; "" when there is
// no such record. The report is found by its share (0), not its key,
// which is the share the event and ECS give.
func (c *Checker) firstStep(ctx context.Context, req hook.Request) (string, error) {
	d, err := req.Deployment()
	if err != nil || c.Reports == nil {
		return "", nil
	}
	reps, err := call(ctx, c, func(ctx context.Context) ([]Report, error) { return Steps(ctx, c.Reports, d) })
	if err != nil {
		return "", fmt.Errorf("read the first step's report: %w", err)
	}
	for _, rep := range reps {
		if rep.GreenShare != nil && *rep.GreenShare == 0 && rep.Traffic != nil {
			return rep.Traffic.Green, nil
		}
	}
	return "", nil
}

// uncertain marks err for hook.Wrap to retry, within its bound, when it
// is transient.
func uncertain(err error) error {
	if hook.IsTransient(err) {
		return hook.Uncertain(err)
	}
	return err
}

// listenerShare returns green's share of production by the production
// rule's weights of t, turning t round when Locate took blue for green.
// Green's target group is, in order: the one the test listener forwards
// to; before the first step, the one production does not reach (all of it
// is on blue then); the one the step check recorded before the first step
// (first); the one whose share is what the event and ECS say (hint, within
// a point), when exactly one is. Otherwise it cannot be told, and blue is
// never judged as green.
func listenerShare(t *Traffic, first string, hint float64, known bool) (float64, error) {
	total := float64(t.GreenWeight) + float64(t.BlueWeight)
	if total <= 0 {
		return 0, fmt.Errorf("the production listener rule %s gives the target groups no weight", t.ProductionRule)
	}
	turn := func() {
		t.Green, t.Blue, t.GreenWeight, t.BlueWeight = t.Blue, t.Green, t.BlueWeight, t.GreenWeight
	}
	green := 100 * float64(t.GreenWeight) / total
	switch {
	case t.ByTestListener:
	case t.BlueWeight == 0:
		// Locate took the one target group production reaches for green.
		turn()
	case first != "" && (first == t.Green || first == t.Blue):
		if first == t.Blue {
			turn()
		}
	case known && math.Abs(hint-green) <= 1 && math.Abs(hint-(100-green)) > 1:
	case known && math.Abs(hint-(100-green)) <= 1 && math.Abs(hint-green) > 1:
		turn()
	default:
		return 0, fmt.Errorf("cannot tell green's target group: the revision has no test listener rule forwarding to one of them, there is no record of it from before the first step, and the production shares (%s%% and %s%%) do not tell it by what the event and ECS say green has (%s)",
			layout.Share(math.Round(green*10)/10), layout.Share(math.Round((100-green)*10)/10), hintText(hint, known))
	}
	return 100 * float64(t.GreenWeight) / total, nil
}

func hintText(hint float64, known bool) string {
	if !known {
		return "nothing"
	}
	return layout.Share(hint) + "%"
}

// StepKey returns the state-bucket key of the report of the step check of
// deployment d with share percent of production on green:
// reports/<deployment>/bake-PRE_PRODUCTION_TRAFFIC_SHIFT-green-SHARE.json.
func StepKey(d hook.DeploymentARN, share float64) string {
	return layout.BakeStepReport(d, layout.Share(share))
}

// staleSmoke is how long after its last report a smoke run without a
// verdict is taken to have ended: it reports on every call, at most
// MaxCallbackDelay apart.
const staleSmoke = 2*MaxCallbackDelay*time.Second + time.Minute

// smokeStages are the stages whose smoke runs may overlap a step's window:
// a smoke run at PRODUCTION_TRAFFIC_SHIFT runs inside it, one at an earlier
// stage before it unless the step bake is short.
var smokeStages = []hook.Stage{hook.StagePostTestTrafficShift, hook.StagePreProductionTrafficShift, hook.StageProductionTrafficShift}

// smokeEnd returns the latest time a smoke run of deployment d that began
// before now reached green through the test listener after start (its
// finish, or now while it runs), or start when none did. Without a state bucket
// there are no smoke reports to read; a report that cannot be read is an
// error, transient or not as the bucket says.
func (c *Checker) smokeEnd(ctx context.Context, d hook.DeploymentARN, start, now time.Time) (time.Time, error) {
	if c.Reports == nil {
		return start, nil
	}
	end := start
	for _, stage := range smokeStages {
		run, err := call(ctx, c, func(ctx context.Context) (smoke.Report, error) {
			return smoke.LoadReport(ctx, c.Reports, d, stage)
		})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return start, fmt.Errorf("read the smoke report at %s, to keep its requests out of the step: %w", stage, err)
		}
		last := run.Finished
		switch {
		case !last.IsZero():
		case now.Sub(run.Updated) < staleSmoke:
			// Still running: its requests go on.
			last = now
		default:
			// A run whose last report is long gone ended then, its final
			// report unwritten: it must not hold every step.
			last = run.Updated
		}
		if run.Started.Before(now) && last.After(end) {
			end = last
		}
	}
	return end, nil
}

// stepState completes a step's run state: the target groups the call
// located, and the window's start past any smoke run (clipSmoke).
func (c *Checker) stepState(ctx context.Context, d hook.DeploymentARN, st *State, located *Traffic, now time.Time) error {
	if st.Traffic == nil {
		st.Traffic = located
	}
	return c.clipSmoke(ctx, d, st, now)
}

// clipSmoke starts the step's window st after any smoke run that reached
// green in it. It runs on every call of the run: a smoke run beside the
// step check (at the same stage) may start after its first call.
func (c *Checker) clipSmoke(ctx context.Context, d hook.DeploymentARN, st *State, now time.Time) error {
	end, err := c.smokeEnd(ctx, d, st.Start, now)
	if err != nil {
		return err
	}
	if end.After(st.Start) {
		c.logger().InfoContext(ctx, "step window starts after a smoke run, whose requests reached green through the test listener",
			"deployment_arn", st.Deployment, "step", st.Step, "start", end)
		st.Start, st.Marked = end, false
	}
	return nil
}

// StepReader reads the step check's reports. *store.S3 and *store.Memory
// satisfy it.
type StepReader interface {
	Get(ctx context.Context, key string) (store.Object, error)
	List(ctx context.Context, prefix string, limit int) ([]string, error)
}

// maxSteps bounds the reports Steps reads: a linear deployment's steps of
// at least 3% each, the step before the first, and room to spare.
const maxSteps = 64

// Steps returns the step check's reports of deployment d, by green's
// share, the first step first: what was judged at each step, and how.
func Steps(ctx context.Context, r StepReader, d hook.DeploymentARN) ([]Report, error) {
	keys, err := r.List(ctx, layout.BakeSteps(d), maxSteps*2)
	if err != nil {
		return nil, fmt.Errorf("list step reports: %w", err)
	}
	var out []Report
	for _, k := range keys {
		if !strings.HasSuffix(k, ".json") || strings.HasSuffix(k, ".start.json") {
			continue
		}
		obj, err := r.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("read step report %s: %w", k, err)
		}
		var rep Report
		if err := json.Unmarshal(obj.Body, &rep); err != nil {
			return nil, fmt.Errorf("step report %s: %w", k, err)
		}
		out = append(out, rep)
	}
	slices.SortFunc(out, func(a, b Report) int { return cmp.Compare(shareOf(a), shareOf(b)) })
	return out, nil
}

func shareOf(r Report) float64 {
	if r.GreenShare == nil {
		return -1
	}
	return *r.GreenShare
}

// Summary sums up a step report in one line: the share, the verdict and
// green's traffic against blue's over the window.
func (rep Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%% on green: %s", layout.Share(shareOf(rep)), rep.HookStatus)
	if rep.WindowStart != nil && rep.WindowEnd != nil {
		// Judged until the verdict: a breach ends the window early.
		end := *rep.WindowEnd
		if !rep.DecidedAt.IsZero() && rep.DecidedAt.Before(end) {
			end = rep.DecidedAt
		}
		fmt.Fprintf(&b, " over %s", hook.FormatDuration(end.Sub(*rep.WindowStart)))
	}
	side := func(name string, s *Stats) {
		if s == nil {
			return
		}
		fmt.Fprintf(&b, "; %s %s requests", name, num(s.Requests))
		if r, ok := s.Rate5xx(); ok {
			fmt.Fprintf(&b, ", %.2f%% 5xx", r*100)
		}
		if s.Latency != nil {
			fmt.Fprintf(&b, ", p99 %s ms", num(math.Round(s.Latency.P99)))
		}
	}
	side("green", rep.Green)
	side("blue", rep.BlueBaseline)
	return b.String()
}

// Verdicts reads the step check's verdicts from the state bucket, for the
// approval gate's request of one step (steps: each).
type Verdicts struct {
	Reader interface {
		Get(ctx context.Context, key string) (store.Object, error)
	}
}

// StepVerdict returns the step check's verdict on the step of the
// deployment named share (its report's key), in one line (Summary, then
// the reason), and whether the step passed. It returns an error wrapping
// store.ErrNotFound while there is none.
func (v Verdicts) StepVerdict(ctx context.Context, deploymentARN, share string) (string, bool, error) {
	d, err := hook.ParseDeploymentARN(deploymentARN)
	if err != nil {
		return "", false, err
	}
	obj, err := v.Reader.Get(ctx, layout.BakeStepReport(d, share))
	if err != nil {
		return "", false, err
	}
	var rep Report
	if err := json.Unmarshal(obj.Body, &rep); err != nil {
		return "", false, fmt.Errorf("step check report: %w", err)
	}
	return rep.Summary() + " (" + rep.Reason + ")", rep.HookStatus == hook.StatusSucceeded, nil
}
