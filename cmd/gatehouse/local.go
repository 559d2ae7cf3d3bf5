package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/local"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
)

const localUsage = `usage: gatehouse local [--scenario NAME] [--config FILE] [--speed N] [--green MODE] [--strategy S] [--approval-mode M] [--approval-stage S] [--ecs B] [--state-dir DIR] [--listen ADDR]
Runs whole blue/green deployments on this machine, with no AWS account: an
embedded S3 server, a simulated ECS, real blue and green HTTP servers, and a
dashboard with the review pages. Try the operator commands against it with
--local (gatehouse list --local).
`

func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse local", flag.ContinueOnError)
	var names []string
	for _, s := range local.Scenarios {
		names = append(names, s.Name)
	}
	scenario := fs.String("scenario", "", "run one deployment without a human and exit: "+strings.Join(names, ", "))
	configPath := fs.String("config", "", "configuration file, YAML or JSON (default: built-in settings)")
	speed := fs.Float64("speed", 0, "how many times faster than real time simulated time runs (default 60)")
	green := fs.String("green", "", "how the new revision behaves: healthy, broken, slow, degrading (default healthy)")
	stateDir := fs.String("state-dir", defaultStateDir(), "where the embedded S3 data and the deployments are kept")
	listen := fs.String("listen", local.DefaultListen, "address of the dashboard and the review pages")
	strategy := fs.String("strategy", "", "how production traffic moves to green: blue-green, linear or canary (default blue-green)")
	ecs := fs.String("ecs", "", "how the simulated ECS plays what its documentation leaves open: hookdetails=merge|replace|deep-merge,rollback-weights=reversed|empty|absent,mixed-stage=24h|pause-timeout (default "+simulator.DefaultBehaviour.String()+")")
	mode := fs.String("approval-mode", "", "how the approval gate holds a deployment: lambda (ECS calls the hook until it answers) or pause (an ECS PAUSE hook; the deciding vote continues it) (default lambda)")
	stage := fs.String("approval-stage", "", "where the approval hooks hold the deployment: a lifecycle stage such as PRE_SCALE_UP, before any green task starts (default: as configured, POST_TEST_TRAFFIC_SHIFT)")
	positional, code := parseFlags(fs, localUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if len(positional) > 0 {
		return usageError(stderr, "local", localUsage, "unexpected argument %q", positional[0])
	}
	cfg := local.DefaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = local.LoadConfig(*configPath); err != nil {
			fmt.Fprintf(stderr, "gatehouse local: %v\n", err)
			return 2
		}
	}
	if *speed != 0 {
		cfg.Speed = *speed
	}
	if *green != "" {
		cfg.Green = *green
	}
	if *ecs != "" {
		cfg.ECS = *ecs
	}
	if *strategy != "" {
		cfg.Strategy = *strategy
	}
	if *mode != "" {
		cfg.ApprovalMode = *mode
	}
	if *stage != "" {
		cfg.ApprovalStage = hook.Stage(strings.ToUpper(*stage))
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "gatehouse local: %v\n", err)
		return 2
	}
	if *scenario != "" {
		s, ok := local.FindScenario(*scenario)
		if !ok {
			return usageError(stderr, "local", localUsage, "unknown scenario %q (want one of %s)", *scenario, strings.Join(names, ", "))
		}
		if *green != "" && *green != string(s.Green) {
			return usageError(stderr, "local", localUsage, "--green %s does not go with --scenario %s, which is about a %s revision: each scenario sets how green behaves", *green, s.Name, s.Green)
		}
		return local.RunScenario(ctx, s, cfg, stdout)
	}
	return interactive(ctx, cfg, *stateDir, *listen, stdout, stderr)
}

func interactive(ctx context.Context, cfg local.Config, stateDir, listen string, stdout, stderr io.Writer) int {
	l, err := local.Start(local.Options{StateDir: stateDir, Listen: listen, Config: cfg, Out: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse local: %v\n", err)
		return 1
	}
	defer l.Close()
	kind := "blue/green"
	if s, err := cfg.Rollout(); err == nil && s.Kind != rollout.BlueGreen {
		kind = string(s.Kind)
	}
	fmt.Fprintf(stdout, "gatehouse local: a %s deployment on this machine, %g× faster than real time\n\n", kind, cfg.Speed)
	fmt.Fprintf(stdout, "  dashboard           %s\n", l.UIURL)
	fmt.Fprintf(stdout, "  production listener %s\n", l.App.Production.URL)
	fmt.Fprintf(stdout, "  test listener       %s\n", l.App.Test.URL)
	fmt.Fprintf(stdout, "  state               %s\n", stateDir)
	cli := "gatehouse list --local"
	if stateDir != defaultStateDir() {
		cli += " --state-dir " + stateDir
	}
	fmt.Fprintf(stdout, "  operator commands   %s (from a checkout: go run ./cmd/gatehouse list --local ...)\n", cli)
	for _, m := range l.Missing {
		fmt.Fprintf(stdout, "  (%s has not landed yet: not registered)\n", m)
	}
	fmt.Fprintf(stdout, "\nOpen the dashboard, follow the review link in its outbox, and approve or reject.\nCtrl-C stops; running again resumes where it stopped.\n")
	if !inProgress(l) {
		mode, _ := local.ParseMode(cfg.Green)
		if _, err := l.Deploy(mode); err != nil {
			fmt.Fprintf(stderr, "gatehouse local: %v\n", err)
			return 1
		}
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "\nstopping; deployments in progress resume on the next run")
	return 0
}

func inProgress(l *local.Local) bool {
	for _, t := range l.Deployments() {
		if !t.D.Snapshot().Status.Terminal() {
			return true
		}
	}
	return false
}

func defaultStateDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "gatehouse", "local")
}
