// Package local runs a whole Amazon ECS blue/green deployment on one machine,
// with no AWS account: an embedded S3-compatible server (persisted in a state
// directory), the ECS lifecycle simulator, a real blue and green revision of a
// sample service behind production and test listeners, the gatehouse hooks
// called in-process through the same handlers as their Lambda functions, the
// review API, and a dashboard with an outbox that shows every notification as
// its addressee would receive it by email. Notifications are the only local
// substitution: they go to the outbox instead of SNS.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/cloudtrail"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/elbv2"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/s3local"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/token"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalapi"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalhook"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/bakehook"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/smokehook"
)

// Bucket is the embedded S3 bucket holding gatehouse's state.
const Bucket = "gatehouse-local"

// DefaultListen is where the dashboard and review API listen by default.
const DefaultListen = "127.0.0.1:8090"

// Service is the simulated ECS service.
var Service = simulator.Service{Partition: "aws", Region: "us-east-1", Account: "000000000000", Cluster: "local", Name: "demo"}

// Options configure a local run.
type Options struct {
	// StateDir keeps the embedded S3 data, the signing key, the outbox and
	// the deployments, so that a restart resumes where it stopped.
	StateDir string
	// Listen is the dashboard's and review API's address.
	Listen string
	// Config is the local configuration.
	Config Config
	// Out receives the narrative: stages, hook answers, messages.
	Out io.Writer
	// Scenario is set when a scenario runs: it tells the end itself.
	Scenario bool
}

// Local is a running local environment.
type Local struct {
	opts    Options
	Clock   *simulator.FastClock
	Outbox  *Outbox
	App     *App
	Sim     *simulator.Simulator
	Store   *store.S3
	UIURL   string
	log     *slog.Logger
	logFile *os.File
	keys    token.Keyring
	keyText string
	// Missing lists configured hook functions that local mode cannot run yet.
	Missing []string

	db    *s3local.Server
	s3srv *http.Server
	s3URL string
	// ecs answers the functions' ECS calls from the simulator.
	ecs ecsAPI
	// slack is Slack: the Web API the functions call, and the messages.
	slack *slackWorkspace
	// endpointWritten is set once the endpoint file says l runs.
	endpointWritten bool
	s3client        *s3.Client
	ui              *http.Server

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	saveMu      sync.Mutex
	mu          sync.Mutex
	deployments []*Tracked
	lastReason  map[string]string

	// tags are the service's tags: a PAUSE approval hook's settings.
	tags map[string]string

	// What the waiting costs, for the benchmarks: calls of the approval
	// hook's function (hook calls, events, sweeps) and requests to S3.
	approvalCalls, s3Requests atomic.Int64
}

// Costs returns how many times the approval hook's function was called,
// and how many requests S3 served, so far.
func (l *Local) Costs() (approvalCalls, s3Requests int64) {
	return l.approvalCalls.Load(), l.s3Requests.Load()
}

// Tracked is a deployment local mode runs.
type Tracked struct {
	D     *simulator.Deployment
	Green Mode
	done  chan struct{}
	// why is the approval gate's verdict on a PAUSE hook it continued,
	// which ECS does not record.
	mu  sync.Mutex
	why string
}

func (t *Tracked) setWhy(why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.why = why
}

// Why is the approval gate's verdict on the PAUSE hook it continued, if
// any: ECS says only "continued with ROLLBACK".
func (t *Tracked) Why() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.why
}

// Done is closed when the deployment has a final status.
func (t *Tracked) Done() <-chan struct{} { return t.done }

// Start brings up everything and resumes unfinished deployments found in the
// state directory. Close stops it.
func Start(opts Options) (*Local, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	opts.Config = opts.Config.resolved()
	if err := os.MkdirAll(filepath.Join(opts.StateDir, "deployments"), 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	recs, err := loadRecords(opts.StateDir, opts.Out)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	if t := lastSimulatedTime(recs); t.After(start) {
		start = t
	}
	l := &Local{opts: opts, Clock: simulator.NewFastClockFrom(start, opts.Config.Speed), ctx: ctx, cancel: cancel, lastReason: map[string]string{}}
	l.ecs.l = l
	ok := false
	defer func() {
		if !ok {
			l.Close()
		}
	}()
	if l.logFile, err = os.OpenFile(filepath.Join(opts.StateDir, "local.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	l.log = slog.New(slog.NewTextHandler(l.logFile, nil))
	if err := l.startS3(); err != nil {
		return nil, err
	}
	if l.keys, l.keyText, err = signingKeys(opts.StateDir); err != nil {
		return nil, err
	}
	l.Outbox = NewOutbox(l.Clock.Now, opts.Out)
	if err := l.Outbox.persistTo(filepath.Join(opts.StateDir, "outbox.jsonl")); err != nil {
		return nil, err
	}
	l.slack = newSlackWorkspace(l)
	if err := l.slack.persistTo(filepath.Join(opts.StateDir, "slack.jsonl")); err != nil {
		return nil, err
	}
	deployed := 0
	for _, r := range recs {
		if r.Snapshot.Status == simulator.StatusSuccessful {
			deployed++
		}
	}
	if l.App, err = NewAppAt(l.Clock.Now, opts.Config.Speed, deployed); err != nil {
		return nil, err
	}
	if err := l.startUI(); err != nil {
		return nil, err
	}
	if err := l.startSimulator(); err != nil {
		return nil, err
	}
	l.resume(recs)
	if err := l.writeEndpoint(); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	ok = true
	return l, nil
}

// startSimulator makes the ECS simulator, with a hook per configured
// function that has landed.
func (l *Local) startSimulator() error {
	cfg := l.opts.Config
	bake, err := time.ParseDuration(cfg.BakeTime)
	if err != nil {
		return err
	}
	behaviour, err := simulator.ParseBehaviour(cfg.ECS)
	if err != nil {
		return fmt.Errorf("ecs: %w", err)
	}
	strategy, err := cfg.Rollout()
	if err != nil {
		return err
	}
	l.Sim = &simulator.Simulator{Service: Service, Env: l.App, Clock: l.Clock, BakeTime: bake, Behaviour: behaviour, Strategy: strategy, OnEvent: l.onEvent,
		DeploymentAlarms: l.deploymentAlarm, OnPause: l.onPause}
	for _, hc := range cfg.Hooks {
		h, err := l.hook(hc)
		if errors.Is(err, errNotLanded) {
			l.Missing = append(l.Missing, hc.Function)
			continue
		}
		if err != nil {
			return err
		}
		l.Sim.Hooks = append(l.Sim.Hooks, h)
	}
	for _, h := range l.Sim.Hooks {
		if h.Pause && h.Invoke != nil {
			// One sweep serves every PAUSE request: they share the bucket.
			go l.sweep(h.Invoke)
			break
		}
	}
	return nil
}

// counted counts the calls of the approval hook's function.
func (l *Local) counted(fn func(context.Context, json.RawMessage) (hook.Response, error)) func(context.Context, json.RawMessage) (hook.Response, error) {
	return func(ctx context.Context, payload json.RawMessage) (hook.Response, error) {
		l.approvalCalls.Add(1)
		return fn(ctx, payload)
	}
}

// sweepEvent is the scheduled event of the suite's sweep rule.
var sweepEvent = json.RawMessage(`{"version":"0","id":"local-sweep","detail-type":"Scheduled Event","source":"aws.events",` +
	`"account":"000000000000","region":"us-east-1","resources":["arn:aws:events:us-east-1:000000000000:rule/gatehouse-sweep"],"detail":{}}`)

// sweep is the suite's sweep rule locally: each simulated minute, the
// approval hook's function gets the scheduled event, which keeps the time
// of PAUSE requests (reminders, expiry, alarms, retries).
func (l *Local) sweep(invoke func(context.Context, json.RawMessage) (hook.Response, error)) {
	for l.Clock.Sleep(l.ctx, time.Minute) == nil {
		if _, err := invoke(l.ctx, sweepEvent); err != nil {
			l.log.Warn("sweep failed", "err", err)
		}
	}
}

func (l *Local) startS3() error {
	srv, err := s3local.Open(filepath.Join(l.opts.StateDir, "s3.db"), Bucket)
	if err != nil {
		return err
	}
	l.db = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("embedded s3: %w", err)
	}
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.s3Requests.Add(1)
		srv.Handler.ServeHTTP(w, r)
	})
	l.s3srv = &http.Server{Handler: counted, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = l.s3srv.Serve(ln) }()
	endpoint := "http://" + ln.Addr().String()
	l.s3URL = endpoint
	l.s3client = s3Client(endpoint, 0)
	l.Store = store.New(l.s3client, Bucket)
	return nil
}

func (l *Local) startUI() error {
	// The outbox shows every signed review link: loopback only.
	host, _, err := net.SplitHostPort(l.opts.Listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", l.opts.Listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--listen %q: local mode serves review links and listens on loopback only (127.0.0.1 or [::1])", l.opts.Listen)
	}
	ln, err := net.Listen("tcp", l.opts.Listen)
	if err != nil {
		return fmt.Errorf("dashboard: %w (choose another address with --listen)", err)
	}
	l.UIURL = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	api, err := config.LoadApprovalAPI(l.getenv)
	if err != nil {
		return fmt.Errorf("review API: %w", err)
	}
	ecsClient := l.ecs.client()
	rh := approvalapi.New(api, approvalparts.Clients{S3: l.s3client, ECS: ecsdeploy.New(ecsClient), Keys: l.keys, Pauses: approvalparts.ECSPauses{API: ecsClient}, Notifier: l.Outbox,
		Slack: approvalparts.SlackOf(api.Slack, nil), Alarms: alarms{l}, Now: l.Clock.Now, Log: l.log})
	mux.Handle(review.Path, rh)
	mux.Handle(review.ReportPath, rh)
	// Slack: the Web API the functions call, and where its clicks go.
	// Only from this machine, by name: no page elsewhere may call it
	// (DNS rebinding).
	dash := &dashboard{l: l}
	mux.Handle("/slack-api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !dash.ownHost(r.Host) {
			http.Error(w, "unexpected Host", http.StatusForbidden)
			return
		}
		l.slack.ServeHTTP(w, r)
	}))
	mux.Handle(review.SlackPath, rh)
	mux.Handle("/", dash)
	l.ui = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = l.ui.Serve(ln) }()
	return nil
}

// subscribed are local mode's subscriptions: the outbox delivers to every
// approver configured, each as if subscribed to their own messages.
func (l *Local) subscribed() approvalhook.Subscribed {
	var out approvalhook.Subscribed
	add := func(list []string) {
		for _, a := range list {
			if a = strings.ToLower(a); !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	add(l.opts.Config.Approvers)
	for _, h := range l.opts.Config.Hooks {
		var d struct {
			Approvers []string `json:"approvers"`
		}
		if json.Unmarshal(h.HookDetails, &d) == nil {
			add(d.Approvers)
		}
	}
	return out
}

// LocalTopicARN stands for the suite's SNS topic: locally, messages go to
// the outbox.
const LocalTopicARN = "arn:aws:sns:us-east-1:000000000000:gatehouse-local"

// getenv is the environment the suite would give each function in AWS,
// with local mode's values: the embedded bucket, the dashboard's review
// URL, the state directory's signing key. The functions read it through
// package config exactly as their Lambda mains read theirs.
func (l *Local) getenv(name string) string {
	switch name {
	case config.EnvStateBucket:
		return Bucket
	case config.EnvTopicARN:
		return LocalTopicARN
	case config.EnvReviewURL:
		return l.UIURL
	case config.EnvSigningKey:
		return l.keyText
	case config.EnvSmokeFunction:
		return FnSmoke
	case config.EnvBakeFunction:
		return FnBake
	case config.EnvSlackSigningSecret:
		return l.slack.secret
	case config.EnvSlackBotToken:
		return SlackToken
	case config.EnvSlackAPIURL:
		return l.UIURL + "/slack-api/"
	}
	return ""
}

// errNotLanded marks a hook function local mode cannot run yet.
var errNotLanded = errors.New("not available yet")

// hook builds a simulator hook that calls the function's handler in
// process, wrapped exactly as its Lambda main wraps it.
func (l *Local) hook(hc HookConfig) (simulator.Hook, error) {
	h := simulator.Hook{Name: hc.Name, Function: hc.Function, Stages: hc.Stages, Details: hc.HookDetails, OnTimeout: hc.OnTimeout, Pause: hc.TargetType == "PAUSE"}
	if h.Name == "" {
		h.Name = hc.Function
	}
	if hc.Timeout != "" {
		d, err := time.ParseDuration(hc.Timeout)
		if err != nil {
			return h, err
		}
		h.Timeout = d
	}
	// Each function is composed as its Lambda main composes it (package
	// wiring), from the environment the suite would give it, with local
	// clients: the embedded S3 server, the outbox for SNS, and for ECS a
	// client the simulator answers at the SDK's seam, so the functions'
	// own ECS adapters run.
	log := l.log.With("hook", h.Name)
	ecsClient := l.ecs.client()
	switch hc.Function {
	case FnApproval:
		env, err := config.LoadApprovalHook(l.getenv)
		if err != nil {
			return h, fmt.Errorf("%s: %w", hc.Function, err)
		}
		var tags approval.ServiceTags
		if h.Pause {
			// ECS sends a PAUSE hook no hookDetails: locally, the hook's
			// configured ones stand for the service's gatehouse: tags, read
			// as in AWS, and freezes and change windows, which no tag can
			// hold, for the suite's.
			if env.Defaults, l.tags, err = pauseSettings(env.Defaults, hc.HookDetails); err != nil {
				return h, fmt.Errorf("%s: %w", hc.Function, err)
			}
			h.Details, tags = nil, ecsdeploy.ServiceTags{API: ecsClient}
		}
		h.Invoke = l.counted(approvalhook.New(env, approvalparts.Clients{S3: l.s3client, Notifier: l.Outbox, Subscriptions: l.subscribed(), Deployers: approvalhook.Trail{Starters: cloudtrail.New(l.ecs.trailClient())}, Slack: approvalparts.SlackOf(env.Slack, nil), Pauses: approvalparts.ECSPauses{API: ecsClient}, Tags: tags, ECS: ecsdeploy.New(ecsClient),
			TaskDefinitions: ecsClient, TestListeners: elbv2.NewFinder(ecsClient, l.ecs.elbClient()),
			Alarms: alarms{l}, Keys: l.keys, Now: l.Clock.Now, Log: log}))
	case FnSmoke:
		env, err := config.LoadSmokeHook(l.getenv)
		if err != nil {
			return h, fmt.Errorf("%s: %w", hc.Function, err)
		}
		// The checks find the test listener as in AWS: the revision's
		// load balancer, its test listener rule, listener and DNS name.
		h.Invoke = smokehook.New(env, smokehook.Clients{S3: l.s3client, ECS: ecsdeploy.New(ecsClient), HTTP: &http.Client{Timeout: 30 * time.Second},
			Discoverer: smokehook.Discoverer(ecsClient, l.ecs.elbClient()),
			Now:        l.Clock.Now, Sleep: l.Clock.Sleep, Log: log})
	case FnBake:
		env, err := bake.LoadHookEnv(l.getenv)
		if err != nil {
			return h, fmt.Errorf("%s: %w", hc.Function, err)
		}
		// Metrics come from the local production listener, and the one
		// alarm is the deployment alarm; there is no metric math locally.
		h.Invoke = bakehook.New(env, bakehook.Clients{S3: l.s3client, ECS: ecsdeploy.New(ecsClient), Rollouts: bakehook.Rollouts{Reader: ecsdeploy.New(ecsClient)}, Alarms: alarms{l},
			Targets: listenerStats{l.App.Production}, Now: l.Clock.Now, Log: log})
	default:
		return h, fmt.Errorf("%s: %w", hc.Function, errNotLanded)
	}
	return h, nil
}

// Deploy starts a deployment of a new green revision that behaves as mode.
// There is at most one deployment in progress, as in ECS.
func (l *Local) Deploy(mode Mode) (*Tracked, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.deployments {
		if !t.D.Snapshot().Status.Terminal() {
			return nil, fmt.Errorf("deployment %s is still in progress", t.D.ID)
		}
	}
	l.App.Prepare(mode)
	t := &Tracked{D: l.Sim.NewDeployment(l.opts.Config.deployer()), Green: mode, done: make(chan struct{})}
	l.deployments = append(l.deployments, t)
	blue, green := l.App.Versions()
	fmt.Fprintf(l.opts.Out, "\n▶ deployment %s: demo %s (blue) → %s (green, %s); times are simulated, %g× real time\n", t.D.ID, blue, green, mode, l.Clock.Speed())
	l.run(t)
	return t, nil
}

func (l *Local) run(t *Tracked) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		status := l.Sim.Run(l.ctx, t.D)
		l.save(t)
		if status.Terminal() {
			if !l.opts.Scenario {
				l.ended(t)
			}
			close(t.done)
		}
	}()
}

// ended tells the terminal how deployment t ended, in the line a scenario
// ends with: "deployment <id>: <STATUS>", after why.
func (l *Local) ended(t *Tracked) {
	fmt.Fprint(l.opts.Out, Ending(t, l.App))
}

// Ending is how a deployment's end is told: why it rolled back (what ECS
// says, and the approval gate's verdict it does not record), or the
// version production serves; then the final line, "deployment <id>:
// <STATUS>".
func Ending(t *Tracked, app *App) string {
	snap := t.D.Snapshot()
	var b strings.Builder
	switch {
	case snap.Status == simulator.StatusSuccessful:
		fmt.Fprintf(&b, "  production serves demo %s\n", app.Serving())
	case snap.Reason != "":
		fmt.Fprintf(&b, "  why: %s\n", snap.Reason)
		if why := t.Why(); why != "" {
			fmt.Fprintf(&b, "  gatehouse: %s\n", why)
		}
	}
	fmt.Fprintf(&b, "deployment %s: %s\n", snap.ID, snap.Status)
	return b.String()
}

// Deployments returns the deployments so far, oldest first.
func (l *Local) Deployments() []*Tracked {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Tracked(nil), l.deployments...)
}

// Rollback asks ECS to roll the deployment with id back, as an operator's
// `gatehouse rollback` (StopServiceDeployment, stopType ROLLBACK) does. It
// is offered while production traffic is on green and blue still runs:
// POST_PRODUCTION_TRAFFIC_SHIFT and BAKE_TIME.
func (l *Local) Rollback(id, by string) error {
	for _, t := range l.Deployments() {
		if t.D.ID != id {
			continue
		}
		snap := t.D.Snapshot()
		if !CanRollBack(snap) {
			return fmt.Errorf("deployment %s is %s at %s: a rollback is offered while production is on green and blue still runs (%s, %s)",
				id, snap.Status, snap.Stage, hook.StagePostProductionTrafficShift, simulator.StageBakeTime)
		}
		return l.Sim.RequestRollback(t.D, "rolled back by "+by+" during "+string(snap.Stage)+": production back to blue, which still runs")
	}
	return fmt.Errorf("no deployment %s", id)
}

// DeploymentAlarm is the local service's deployment alarm: green's share of
// 5xx answers on the production listener over the last minute.
const (
	DeploymentAlarm          = "demo-green-5xx"
	deploymentAlarmThreshold = 0.10
	deploymentAlarmMinimum   = 10
)

// deploymentAlarm reports whether DeploymentAlarm is in ALARM at now: more
// than 10% of at least 10 production requests to green answered 5xx in the
// last minute.
func (l *Local) deploymentAlarm(now time.Time) (string, bool) {
	st := l.App.Production.Stats(simulator.Green, now.Add(-simulator.AlarmPeriod), now)
	return DeploymentAlarm, st.Requests >= deploymentAlarmMinimum && float64(st.Errors5xx) > deploymentAlarmThreshold*float64(st.Requests)
}

// CanRollBack reports whether the dashboard offers a rollback of snap.
func CanRollBack(snap simulator.Snapshot) bool {
	return snap.Status == simulator.StatusInProgress &&
		(snap.Stage == hook.StagePostProductionTrafficShift || snap.Stage == simulator.StageBakeTime)
}

func (l *Local) find(arn string) *Tracked {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.deployments {
		if t.D.ARN == arn {
			return t
		}
	}
	return nil
}

// onEvent tells the terminal, and records the deployment so a restart can
// resume it.
func (l *Local) onEvent(d *simulator.Deployment, e simulator.Event) {
	at := e.At.Format("15:04:05")
	switch {
	case e.Hook == "" && e.Status == "STARTED" && e.Reason != "":
		fmt.Fprintf(l.opts.Out, "%s  %s (%s)\n", at, e.Stage, e.Reason)
	case e.Hook == "" && e.Status == "STARTED":
		fmt.Fprintf(l.opts.Out, "%s  %s\n", at, e.Stage)
	case e.Hook == "":
		fmt.Fprintf(l.opts.Out, "%s  %s %s", at, e.Stage, e.Status)
		if e.Reason != "" {
			fmt.Fprintf(l.opts.Out, ": %s", e.Reason)
		}
		fmt.Fprintln(l.opts.Out)
	default:
		key := d.ID + e.Hook + string(e.Stage)
		l.mu.Lock()
		repeat := e.Status == string(hook.StatusInProgress) && l.lastReason[key] == e.Reason
		l.lastReason[key] = e.Reason
		l.mu.Unlock()
		if !repeat {
			fmt.Fprintf(l.opts.Out, "%s    %-14s %-11s %s\n", at, e.Hook, e.Status, e.Reason)
		}
		// ECS records only that a PAUSE hook was continued: the approval
		// request says why, as the review page and gatehouse status do.
		if l.pauseHook(e.Hook) && (e.Status == string(hook.StatusSucceeded) || e.Status == string(hook.StatusFailed)) {
			if why := l.gateWhy(d.ARN, e.Stage); why != "" {
				if t := l.find(d.ARN); t != nil {
					t.setWhy(why)
				}
				fmt.Fprintf(l.opts.Out, "%s    %-14s %-11s gatehouse: %s\n", at, e.Hook, "", why)
			}
		}
	}
	if t := l.find(d.ARN); t != nil {
		l.save(t)
	}
}

// pauseHook reports whether name is a PAUSE hook.
func (l *Local) pauseHook(name string) bool {
	return slices.ContainsFunc(l.Sim.Hooks, func(h simulator.Hook) bool { return h.Pause && h.Name == name })
}

// requests returns the approval requests of deployment arn at stage (one
// per gate).
func (l *Local) requests(ctx context.Context, arn string, stage hook.Stage) []*approval.Request {
	d, err := hook.ParseDeploymentARN(arn)
	if err != nil {
		return nil
	}
	keys, err := l.Store.List(ctx, layout.Requests(d)+string(stage), 10)
	if err != nil {
		return nil
	}
	var out []*approval.Request
	for _, k := range keys {
		obj, err := l.Store.Get(ctx, k)
		if err != nil {
			continue
		}
		if r, err := approval.Decode(obj.Body); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// openRequests returns the requests of deployment arn at stage still open.
func (l *Local) openRequests(ctx context.Context, arn string, stage hook.Stage) []*approval.Request {
	return slices.DeleteFunc(l.requests(ctx, arn, stage), func(r *approval.Request) bool { return r.Outcome != approval.Pending })
}

// gateWhy is the verdict of the closed approval requests of deployment arn
// at stage, as the approval gate recorded it ("rejected by bob@example.com:
// not today"), or "" when there is none.
func (l *Local) gateWhy(arn string, stage hook.Stage) string {
	var why []string
	for _, r := range l.requests(l.ctx, arn, stage) {
		if r.Outcome != approval.Pending {
			why = append(why, r.Summary(r.Outcome))
		}
	}
	return strings.Join(why, "; ")
}

// record is what the state directory keeps of a deployment.
type record struct {
	Snapshot simulator.Snapshot `json:"snapshot"`
	Green    Mode               `json:"green"`
}

func (l *Local) save(t *Tracked) {
	// Parallel hooks report at once: one save at a time, each a fresh
	// snapshot, each through its own temporary file.
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	b, err := json.MarshalIndent(record{Snapshot: t.D.Snapshot(), Green: t.Green}, "", "  ")
	if err != nil {
		return
	}
	dir := filepath.Join(l.opts.StateDir, "deployments")
	f, err := os.CreateTemp(dir, ".save-*")
	if err != nil {
		return
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		_ = os.Remove(f.Name())
		return
	}
	_ = os.Rename(f.Name(), filepath.Join(dir, t.D.ID+".json"))
}

// loadRecords reads the deployment records in the state directory, oldest
// first. A damaged one is set aside, and out told: it must not keep local
// mode from starting.
func loadRecords(dir string, out io.Writer) ([]record, error) {
	files, err := filepath.Glob(filepath.Join(dir, "deployments", "*.json"))
	if err != nil {
		return nil, err
	}
	var recs []record
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil || r.Snapshot.ID == "" {
			_ = os.Rename(f, f+".damaged")
			fmt.Fprintf(out, "set aside an unreadable deployment record: %s.damaged\n", f)
			continue
		}
		recs = append(recs, r)
	}
	slices.SortStableFunc(recs, func(a, b record) int { return a.Snapshot.StartedAt.Compare(b.Snapshot.StartedAt) })
	return recs, nil
}

// lastSimulatedTime returns the latest simulated time in recs, so that a
// restart does not turn the clock back.
func lastSimulatedTime(recs []record) time.Time {
	var last time.Time
	for _, r := range recs {
		for _, e := range r.Snapshot.Events {
			if e.At.After(last) {
				last = e.At
			}
		}
	}
	return last
}

// resume tracks the deployments recorded in the state directory and
// continues the unfinished one.
func (l *Local) resume(recs []record) {
	for _, r := range recs {
		t := &Tracked{D: l.Sim.Restore(r.Snapshot), Green: r.Green, done: make(chan struct{})}
		l.deployments = append(l.deployments, t)
		if r.Snapshot.Status.Terminal() {
			close(t.done)
			continue
		}
		fmt.Fprintf(l.opts.Out, "\n▶ resuming deployment %s at %s\n", t.D.ID, r.Snapshot.Stage)
		l.App.Prepare(r.Green)
		l.run(t)
	}
}

// Close stops the deployments where they are (a restart resumes them) and
// every server.
func (l *Local) Close() {
	l.removeEndpoint()
	l.cancel()
	l.wg.Wait()
	// Requests in flight finish first (for a while), so that none reads
	// the embedded S3's database after it is closed.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if l.ui != nil {
		_ = l.ui.Shutdown(ctx)
		_ = l.ui.Close()
	}
	if l.App != nil {
		l.App.Close()
	}
	if l.s3srv != nil {
		_ = l.s3srv.Shutdown(ctx)
		_ = l.s3srv.Close()
	}
	if l.db != nil {
		_ = l.db.Close()
	}
	if l.Outbox != nil {
		l.Outbox.close()
	}
	if l.slack != nil {
		l.slack.close()
	}
	if l.logFile != nil {
		_ = l.logFile.Close()
	}
}

// describer tells the approval gate what a local deployment changes.
// onPause is EventBridge locally: the "ECS Hook State Change" event of a
// PAUSE hook goes to the approval hook's function, as the suite's rule
// sends it.
func (l *Local) onPause(d *simulator.Deployment, event []byte) {
	ev, _ := hook.ParsePauseEvent(event)
	for _, h := range l.Sim.Hooks {
		// One PAUSE approval hook a stage (Config.Validate): the one there.
		if h.Pause && h.Invoke != nil && slices.Contains(h.Stages, ev.Stage) {
			if _, err := h.Invoke(l.ctx, event); err != nil {
				l.log.Warn("pause event not handled", "deployment", d.ID, "err", err)
			}
		}
	}
}

// pauseSettings splits a local PAUSE hook's hookDetails into the suite's
// settings (freezes and changeWindows, which no tag can hold, and the
// timeout: locally the file plays the platform engineer too, who gives a
// pause-mode suite a wait over a day as its ApprovalTimeout) and the
// service's tags (the rest, as Attach writes them).
func pauseSettings(suite approval.Settings, details json.RawMessage) (approval.Settings, map[string]string, error) {
	m := map[string]any{}
	if len(details) > 0 {
		if err := json.Unmarshal(details, &m); err != nil {
			return suite, nil, fmt.Errorf("hookDetails: %w", err)
		}
	}
	own := map[string]any{}
	if v, ok := m["timeout"].(string); ok {
		t, err := approval.ParseTimeout(v)
		if err != nil {
			return suite, nil, fmt.Errorf("hookDetails.timeout: %w", err)
		}
		suite.Timeout = t
		delete(m, "timeout")
	}
	for _, k := range []string{"freezes", "changeWindows"} {
		if v, ok := m[k]; ok {
			own[k] = v
			delete(m, k)
		}
	}
	b, err := json.Marshal(own)
	if err != nil {
		return suite, nil, err
	}
	if suite, err = approval.Apply(suite, b); err != nil {
		return suite, nil, err
	}
	tags, err := approval.DetailTags(m)
	return suite, tags, err
}

// signingKeys returns the state directory's link-signing key, made once,
// and its text (as GATEHOUSE_SIGNING_KEY would hold it).
func signingKeys(dir string) (token.Keyring, string, error) {
	path := filepath.Join(dir, "signing.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return token.Keyring{}, "", err
		}
		b = []byte(hex.EncodeToString(raw))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return token.Keyring{}, "", fmt.Errorf("signing key: %w", err)
		}
	} else if err != nil {
		return token.Keyring{}, "", fmt.Errorf("signing key: %w", err)
	}
	k, err := token.ParseSecret(string(b))
	if err != nil {
		return token.Keyring{}, "", fmt.Errorf("signing key %s: %w", path, err)
	}
	return token.Keyring{Current: k}, string(b), nil
}
