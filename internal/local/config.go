package local

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
)

// The hook functions local mode can run, by the name of their Lambda.
const (
	FnApproval = "approval-hook"
	FnSmoke    = "smoke-hook"
	FnBake     = "bake-hook"
)

// MaxSpeed bounds how much faster than real time local mode runs: beyond it
// the sample service cannot send the bake enough requests per simulated
// minute.
const MaxSpeed = 300

// Config is the optional local configuration file (YAML or JSON).
type Config struct {
	// Speed makes simulated time run this many times faster than real time.
	Speed float64 `json:"speed,omitempty"`
	// BakeTime is the deployment's bake time (BAKE_TIME stage), a duration.
	BakeTime string `json:"bakeTime,omitempty"`
	// Green is how the new revision behaves: healthy, broken, slow, degrading.
	Green string `json:"green,omitempty"`
	// Approvers, when set, are the approval hooks' approvers unless a hook's
	// hookDetails name its own.
	Approvers []string `json:"approvers,omitempty"`
	// Hooks are the lifecycle hooks registered on the service.
	Hooks []HookConfig `json:"hooks,omitempty"`
	// Strategy is how production traffic moves to green: blue-green (the
	// default), linear or canary. StepPercent and StepBake (linear),
	// CanaryPercent and CanaryBake (canary) default to DefaultStepPercent,
	// DefaultStepBake, DefaultCanaryPercent and DefaultCanaryBake: shorter
	// than ECS's own defaults, so that a local run stays short.
	Strategy      string  `json:"strategy,omitempty"`
	StepPercent   float64 `json:"stepPercent,omitempty"`
	StepBake      string  `json:"stepBake,omitempty"`
	CanaryPercent float64 `json:"canaryPercent,omitempty"`
	CanaryBake    string  `json:"canaryBake,omitempty"`
	// ECS is how the simulated ECS plays what its documentation leaves
	// open, as "hookdetails=replace|merge|deep-merge,rollback-weights=
	// reversed|empty|absent"; empty means simulator.DefaultBehaviour.
	ECS string `json:"ecs,omitempty"`
	// Deployer is the IAM identity that starts deployments locally, as
	// CloudTrail would name the caller; empty means DefaultDeployer. An
	// approver it names (an IAM Identity Center session of their address)
	// cannot approve the deployments they start.
	Deployer string `json:"deployer,omitempty"`
	// ApprovalMode is lambda (the default) or pause: in pause mode every
	// approval hook at a stage where ECS allows PAUSE hooks is one
	// (targetType PAUSE), as `cdk deploy -c approvalMode=pause` makes it.
	ApprovalMode string `json:"approvalMode,omitempty"`
	// ApprovalStage, when set, is where every approval hook holds the
	// deployment (its stages), as `cdk deploy -c approvalStage=...` sets
	// it: PRE_SCALE_UP holds it before any green task starts.
	ApprovalStage hook.Stage `json:"approvalStage,omitempty"`
}

// Approval modes (Config.ApprovalMode).
const (
	ModeLambda = "lambda"
	ModePause  = "pause"
)

// PauseStages are where ECS allows a PAUSE hook.
var PauseStages = hook.PauseStages

// resolved returns c with its approval stage and mode applied to the
// hooks.
func (c Config) resolved() Config {
	c.Hooks = slices.Clone(c.Hooks)
	if c.ApprovalStage != "" {
		for i, h := range c.Hooks {
			if h.Function == FnApproval {
				c.Hooks[i].Stages = []hook.Stage{c.ApprovalStage}
			}
		}
	}
	if kind, err := rollout.ParseKind(c.Strategy); err == nil && kind != rollout.BlueGreen {
		// As the CDK app's demo service: the bake after the shift also
		// judges every step, as the step check.
		for i, h := range c.Hooks {
			if h.Function == FnBake && slices.Contains(h.Stages, hook.StagePostProductionTrafficShift) && !slices.Contains(h.Stages, hook.StagePreProductionTrafficShift) {
				c.Hooks[i].Stages = append([]hook.Stage{hook.StagePreProductionTrafficShift}, h.Stages...)
			}
		}
	}
	if c.ApprovalMode != ModePause {
		return c
	}
	for i, h := range c.Hooks {
		if h.Function == FnApproval && h.TargetType == "" && !slices.ContainsFunc(h.Stages, func(s hook.Stage) bool { return !slices.Contains(PauseStages, s) }) {
			c.Hooks[i].TargetType = "PAUSE"
		}
	}
	return c
}

// DefaultDeployer starts local deployments: an identity that is no
// approver.
const DefaultDeployer = "arn:aws:iam::000000000000:user/local-operator"

// deployer is who starts c's deployments.
func (c Config) deployer() string {
	if c.Deployer == "" {
		return DefaultDeployer
	}
	return c.Deployer
}

// HookConfig registers one hook function at some stages.
type HookConfig struct {
	// Function is approval-hook, smoke-hook or bake-hook.
	Function string `json:"function"`
	// Name labels the hook on the dashboard; defaults to Function.
	Name string `json:"name,omitempty"`
	// Stages are lifecycle stages such as POST_TEST_TRAFFIC_SHIFT.
	Stages []hook.Stage `json:"stages"`
	// HookDetails are passed to the hook as ECS would.
	HookDetails json.RawMessage `json:"hookDetails,omitempty"`
	// Timeout is the hook's timeoutConfiguration, a duration from 1m to
	// 24h for a Lambda hook, or to 336h (20160m, 14 days) for a PAUSE hook;
	// default 24h.
	Timeout string `json:"timeout,omitempty"`
	// OnTimeout is ROLLBACK (default) or CONTINUE.
	OnTimeout string `json:"onTimeout,omitempty"`
	// TargetType is AWS_LAMBDA (default) or, for the approval hook, PAUSE:
	// ECS pauses the deployment and the approval hook is told by the
	// "ECS Hook State Change" event; the deciding vote continues it.
	TargetType string `json:"targetType,omitempty"`
}

// Local defaults of a linear or canary deployment's steps.
const (
	DefaultStepPercent   = 25.0
	DefaultStepBake      = "1m"
	DefaultCanaryPercent = 10.0
	DefaultCanaryBake    = "2m"
)

// Rollout returns the deployment strategy the configuration names, with the
// local defaults filled in, or an error naming the key at fault.
func (c Config) Rollout() (rollout.Strategy, error) {
	kind, err := rollout.ParseKind(c.Strategy)
	if err != nil {
		return rollout.Strategy{}, fmt.Errorf("strategy: %w", err)
	}
	s := rollout.Strategy{Kind: kind, StepPercent: c.StepPercent, CanaryPercent: c.CanaryPercent}
	var errs []error
	bake := func(key, v, def string) time.Duration {
		if v == "" {
			v = def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration like 1m", key, v))
		}
		// Zero is allowed, and stays zero.
		return rollout.Bake(d)
	}
	switch kind {
	case rollout.Linear:
		if s.StepPercent == 0 {
			s.StepPercent = DefaultStepPercent
		}
		s.StepBake = bake("stepBake", c.StepBake, DefaultStepBake)
	case rollout.Canary:
		if s.CanaryPercent == 0 {
			s.CanaryPercent = DefaultCanaryPercent
		}
		s.CanaryBake = bake("canaryBake", c.CanaryBake, DefaultCanaryBake)
	}
	if len(errs) == 0 {
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return s, errors.Join(errs...)
}

// DefaultConfig is what local mode runs without a file: the approval gate
// (and the smoke and bake hooks) on a service whose new revision is healthy,
// with time running 60 times faster.
func DefaultConfig() Config {
	return Config{
		Speed:    60,
		BakeTime: "1m",
		Green:    string(Healthy),
		Hooks: []HookConfig{
			{Function: FnSmoke, Stages: []hook.Stage{hook.StagePostTestTrafficShift},
				HookDetails: json.RawMessage(`{"retries":2,"retryDelayMs":500,"checks":[` +
					`{"name":"health","path":"/health","bodyContains":"ok","maxLatencyMs":2000},` +
					`{"name":"version","path":"/api/version","jsonPath":"$.version"},` +
					`{"name":"home page","path":"/","bodyContains":"demo"}]}`)},
			{Function: FnApproval, Stages: []hook.Stage{hook.StagePostTestTrafficShift},
				HookDetails: json.RawMessage(`{"approvers":["alice@example.com","bob@example.com"],"requiredApprovals":1,"timeout":"2h"}`)},
			{Function: FnBake, Stages: []hook.Stage{hook.StagePostProductionTrafficShift},
				HookDetails: json.RawMessage(`{"window":"3m","minRequests":20,"stepMinRequests":5,"metrics":[` +
					`{"name":"5xx rate","kind":"targetGroup5xxRate","max":0.05},` +
					`{"name":"p99 latency","kind":"targetGroupLatencyP99","maxMs":1000}]}`)},
		},
	}
}

// LoadConfig reads a YAML or JSON configuration file. Settings it leaves out
// keep their defaults; unknown keys are refused.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig parses YAML or JSON configuration text.
func ParseConfig(data []byte) (Config, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c := DefaultConfig()
	if len(bytes.TrimSpace(js)) > 0 && string(bytes.TrimSpace(js)) != "null" {
		var f Config
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if f.Speed != 0 {
			c.Speed = f.Speed
		}
		if f.BakeTime != "" {
			c.BakeTime = f.BakeTime
		}
		if f.Green != "" {
			c.Green = f.Green
		}
		if f.Hooks != nil {
			c.Hooks = f.Hooks
		}
		if f.ApprovalMode != "" {
			c.ApprovalMode = f.ApprovalMode
		}
		c.ApprovalStage = f.ApprovalStage
		if f.Deployer != "" {
			c.Deployer = f.Deployer
		}
		c.ECS, c.Strategy, c.StepPercent, c.StepBake, c.CanaryPercent, c.CanaryBake = f.ECS, f.Strategy, f.StepPercent, f.StepBake, f.CanaryPercent, f.CanaryBake
		if len(f.Approvers) > 0 {
			c.Approvers = f.Approvers
			for i, h := range c.Hooks {
				if h.Function == FnApproval {
					c.Hooks[i].HookDetails = withDefault(withoutKey(h.HookDetails, "approvers", f.Hooks == nil), "approvers", f.Approvers)
				}
			}
		}
	}
	return c, c.Validate()
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	if c.ApprovalMode != "" && c.ApprovalMode != ModeLambda && c.ApprovalMode != ModePause {
		errs = append(errs, fmt.Errorf("approvalMode: %q, want %s or %s", c.ApprovalMode, ModeLambda, ModePause))
	}
	switch s := c.ApprovalStage; {
	case s == "":
	case !s.Valid():
		errs = append(errs, fmt.Errorf("approvalStage: %q is not a stage a hook can run at: want one of %v", s, hook.Stages))
	case c.ApprovalMode == ModePause && !slices.Contains(PauseStages, s):
		errs = append(errs, fmt.Errorf("approvalStage: %s: ECS allows a PAUSE hook (approvalMode: pause) only at %v", s, PauseStages))
	case s == hook.StageReconcileService:
		errs = append(errs, fmt.Errorf("approvalStage: RECONCILE_SERVICE runs only when several revisions are active, which never happens locally"))
	}
	c = c.resolved()
	if c.Deployer != "" && (!strings.HasPrefix(c.Deployer, "arn:") || strings.Count(c.Deployer, ":") < 5) {
		errs = append(errs, fmt.Errorf("deployer: %q is not an IAM identity ARN such as %s", c.Deployer, DefaultDeployer))
	}
	if c.Speed <= 0 || c.Speed > MaxSpeed {
		errs = append(errs, fmt.Errorf("speed: %g, want more than 0 and at most %d", c.Speed, MaxSpeed))
	}
	if _, err := time.ParseDuration(c.BakeTime); err != nil {
		errs = append(errs, fmt.Errorf("bakeTime: %q is not a duration like 5m", c.BakeTime))
	}
	if _, err := ParseMode(c.Green); err != nil {
		errs = append(errs, err)
	}
	if _, err := simulator.ParseBehaviour(c.ECS); err != nil {
		errs = append(errs, fmt.Errorf("ecs: %w", err))
	}
	if _, err := c.Rollout(); err != nil {
		errs = append(errs, err)
	}
	if _, err := approval.ParseApprovers(c.Approvers); err != nil {
		errs = append(errs, fmt.Errorf("approvers: %w", err))
	}
	pauseHooks := 0
	for i, h := range c.Hooks {
		at := fmt.Sprintf("hooks[%d]", i)
		errs = append(errs, h.problems(at)...)
		if h.TargetType == "PAUSE" {
			if pauseHooks++; pauseHooks == 2 {
				errs = append(errs, fmt.Errorf("%s.targetType: a second PAUSE approval hook: the service's gatehouse: tags hold one hook's settings (list its stages in one hook)", at))
			}
		}
	}
	return errors.Join(errs...)
}

// problems reports every problem of hook entry h, at is where it is in the
// file (hooks[i]).
func (h HookConfig) problems(at string) []error {
	var errs []error
	switch h.Function {
	case FnApproval, FnSmoke, FnBake:
	default:
		errs = append(errs, fmt.Errorf("%s.function: %q, want %s, %s or %s", at, h.Function, FnApproval, FnSmoke, FnBake))
	}
	if len(h.Stages) == 0 {
		errs = append(errs, fmt.Errorf("%s.stages: at least one stage", at))
	}
	for _, s := range h.Stages {
		if !s.Valid() {
			errs = append(errs, fmt.Errorf("%s.stages: %q is not a hookable stage", at, s))
		}
		if s == hook.StageReconcileService {
			errs = append(errs, fmt.Errorf("%s.stages: RECONCILE_SERVICE runs only when several revisions are active, which never happens locally", at))
		}
	}
	if len(h.HookDetails) > 0 && !strings.HasPrefix(strings.TrimSpace(string(h.HookDetails)), "{") {
		errs = append(errs, fmt.Errorf("%s.hookDetails: want an object", at))
	}
	if h.Timeout != "" {
		limit, kind := hook.MaxHookTimeout(h.TargetType == "PAUSE"), "a Lambda hook; a PAUSE hook (approvalMode: pause) waits up to 336h"
		if h.TargetType == "PAUSE" {
			kind = "a PAUSE hook"
		}
		if d, err := time.ParseDuration(h.Timeout); err != nil || d < hook.MinTimeout || d > limit || d%time.Minute != 0 {
			errs = append(errs, fmt.Errorf("%s.timeout: %q, want whole minutes from %s to %s, the most ECS allows %s", at, h.Timeout, hook.FormatDuration(hook.MinTimeout), hook.FormatDuration(limit), kind))
		}
	}
	if h.Function == FnApproval {
		err := h.checkExpiry()
		if h.TargetType != "PAUSE" {
			err = cmp.Or(lambdaApproval(h.HookDetails), err)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", at, err))
		}
	}
	if err := h.checkDetails(); err != nil {
		msg := hook.OneLine(err.Error())
		for _, p := range []string{"hookDetails: ", "tags: "} {
			msg = strings.TrimPrefix(msg, p)
		}
		if !strings.HasPrefix(msg, "hookDetails.") {
			msg = "hookDetails: " + msg
		}
		errs = append(errs, fmt.Errorf("%s.%s (the %s would answer FAILED and roll every deployment back)", at, msg, h.Function))
	}
	if h.TargetType != "" && h.TargetType != "AWS_LAMBDA" && !(h.TargetType == "PAUSE" && h.Function == FnApproval) {
		errs = append(errs, fmt.Errorf("%s.targetType: %q, want AWS_LAMBDA, or PAUSE for %s", at, h.TargetType, FnApproval))
	}
	if h.TargetType == "PAUSE" {
		for _, st := range h.Stages {
			if !slices.Contains(PauseStages, st) {
				errs = append(errs, fmt.Errorf("%s.stages: ECS allows a PAUSE hook only at %v, not at %s", at, PauseStages, st))
			}
		}
	}
	if h.OnTimeout != "" && h.OnTimeout != simulator.TimeoutRollback && h.OnTimeout != simulator.TimeoutContinue {
		errs = append(errs, fmt.Errorf("%s.onTimeout: %q, want ROLLBACK or CONTINUE", at, h.OnTimeout))
	}
	return errs
}

// checkDetails reads h's hookDetails with its function's own decoder over
// the defaults local mode gives the function, as the function will at every
// invocation: an unknown key, a bad value or a quorum above the approvers is
// refused when the file is read rather than shown as a FAILED deployment. A
// PAUSE hook's details are read as the service's tags Attach would write.
func (h HookConfig) checkDetails() error {
	if len(h.HookDetails) == 0 || !strings.HasPrefix(strings.TrimSpace(string(h.HookDetails)), "{") {
		return nil
	}
	switch h.Function {
	case FnApproval:
		if h.TargetType == "PAUSE" {
			suite, tags, err := pauseSettings(approval.DefaultSettings(), h.HookDetails)
			if err == nil {
				_, err = approval.ApplyTags(suite, tags)
			}
			return err
		}
		_, err := approval.Apply(approval.DefaultSettings(), h.HookDetails)
		return err
	case FnSmoke:
		// The checks go to the test listener unless baseUrl says otherwise.
		c, err := smoke.DefaultConfig().ApplyService(withDefault(h.HookDetails, "baseUrl", "http://127.0.0.1:8080"))
		if err == nil {
			err = c.Validate()
		}
		return err
	case FnBake:
		_, err := bake.Apply(bake.DefaultConfig(), h.HookDetails)
		return err
	}
	return nil
}

// checkExpiry reports an approval timeout in h's hookDetails that is not
// below the hook's own ECS timeout: ECS would time the hook out and roll
// back as the request expires, so onExpiry could never take effect.
func (h HookConfig) checkExpiry() error {
	var d struct {
		Timeout *string `json:"timeout"`
	}
	if h.Function != FnApproval || json.Unmarshal(h.HookDetails, &d) != nil || d.Timeout == nil {
		return nil
	}
	t, err1 := approval.ParseTimeout(*d.Timeout)
	ecs, err2 := time.ParseDuration(cmp.Or(h.Timeout, hook.FormatDuration(hook.DefaultTimeout)))
	if err1 != nil || err2 != nil || t < ecs {
		return nil // reported elsewhere, or fine
	}
	return fmt.Errorf("hookDetails.timeout: %s is not below the hook's timeout %s (hooks[].timeout, default %s): ECS would time the hook out and roll back as the request expires, so onExpiry could never take effect; give a longer timeout",
		hook.FormatDuration(t), hook.FormatDuration(ecs), hook.FormatDuration(hook.DefaultTimeout))
}

// lambdaApproval reports an approval timeout in details that a Lambda hook
// cannot hold (approval.Settings.CheckLambda), naming hookDetails.timeout.
func lambdaApproval(details json.RawMessage) error {
	var d struct {
		Timeout *string `json:"timeout"`
	}
	if json.Unmarshal(details, &d) != nil || d.Timeout == nil {
		return nil
	}
	t, err := approval.ParseTimeout(*d.Timeout)
	if err != nil {
		return fmt.Errorf("hookDetails.timeout: %w", err)
	}
	return approval.Settings{Timeout: t}.CheckLambda("hookDetails.timeout")
}

// withoutKey returns details without key when drop is true: the built-in
// approvers give way to the file's.
func withoutKey(details json.RawMessage, key string, drop bool) json.RawMessage {
	if !drop || len(details) == 0 {
		return details
	}
	m := map[string]any{}
	if err := json.Unmarshal(details, &m); err != nil {
		return details
	}
	delete(m, key)
	b, _ := json.Marshal(m)
	return b
}

// uses reports whether a hook of function fn is configured.
func (c Config) uses(fn string) bool {
	for _, h := range c.Hooks {
		if h.Function == fn {
			return true
		}
	}
	return false
}
