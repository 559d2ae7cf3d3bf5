// Package bakehook composes the bake hook: configuration, clients, handler
// (see package wiring).
package bakehook

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/elbv2"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Clients are what the bake hook talks to. Alarms, Expressions and Locator
// may be nil where there is no such source (local mode reads the
// production listener's own statistics): a configuration that needs one
// is then refused.
type Clients struct {
	// S3 holds the state bucket final verdicts go to, when there is one.
	S3 store.API
	// ECS says whether a deployment rolls back (hook.Wrap).
	ECS hook.DeploymentStatus
	// Alarms, Targets and Expressions read CloudWatch.
	Alarms      cwmetrics.AlarmReader
	Targets     bake.TargetStats
	Expressions bake.Expressions
	// Locator finds blue's and green's target groups.
	Locator bake.Locator
	// Rollouts says how a deployment moves production (the step check).
	Rollouts bake.Rollouts
	// Now is the clock.
	Now func() time.Time
	// Log receives the hook's log lines.
	Log *slog.Logger
}

// AWS returns the AWS clients, honouring the endpoint variables of getenv
// (awsenv).
func AWS(aws aws.Config, getenv func(string) string, log *slog.Logger) Clients {
	cw := cwmetrics.New(cwmetrics.NewClient(aws, getenv))
	ecsClient := ecsdeploy.NewClient(aws, getenv)
	return Clients{
		S3:          awsenv.NewS3(aws, getenv),
		ECS:         ecsdeploy.New(ecsClient),
		Rollouts:    Rollouts{ecsdeploy.New(ecsClient)},
		Alarms:      cw,
		Targets:     CloudWatch{cw},
		Expressions: CloudWatch{cw},
		Locator: Locator{elbv2.NewFinder(
			ecsClient,
			elbv2.NewClient(aws, getenv),
		)},
		Now: time.Now,
		Log: log,
	}
}

// New returns the bake hook's handler for lambda.Start.
func New(env bake.HookEnv, c Clients) func(context.Context, json.RawMessage) (hook.Response, error) {
	checker := &bake.Checker{
		Targets:     c.Targets,
		Expressions: c.Expressions,
		Locator:     c.Locator,
		Rollouts:    c.Rollouts,
		Now:         c.Now,
		Log:         c.Log,
	}
	if c.Alarms != nil {
		checker.Alarms = Alarms{c.Alarms}
	}
	if env.Bucket != "" {
		checker.Reports = store.New(c.S3, env.Bucket)
	} else {
		c.Log.Warn("no state bucket configured: bake verdicts are logged, not stored", "env", config.EnvStateBucket)
	}
	return hook.Wrap(bake.HookHandler(checker, env.Defaults), hook.Options{
		CallBackDelay: env.Defaults.CallbackDelay,
		Logger:        c.Log,
		Now:           c.Now,
		Reserved:      []string{bake.StateKey},
		// A rollback is told by what ECS says, not by the weights alone.
		Deployments: c.ECS,
	})
}
