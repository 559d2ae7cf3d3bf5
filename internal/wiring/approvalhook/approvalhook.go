// Package approvalhook composes the approval hook: configuration, clients,
// handler (see package wiring).
package approvalhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	gtrail "github.com/gatehouse-dev/gatehouse/internal/cloudtrail"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
)

// ECS is what the approval hook asks ECS: whether a deployment rolls back
// (hook.Wrap) and what it changes (the gate). *ecsdeploy.Reader satisfies
// it.
type ECS interface {
	hook.DeploymentStatus
	// Describe returns what ECS reports about the deployment.
	Describe(ctx context.Context, deploymentARN string) (ecsdeploy.Deployment, error)
}

// Clients are what the approval hook talks to.
type Clients struct {
	// S3 holds the state bucket: requests and, beside them, smoke reports.
	S3 store.API
	// Notifier sends the approvers' messages: SNS in AWS.
	Notifier approvalparts.Publisher
	// Deployers tells who started a deployment (CloudTrail in AWS); nil:
	// not looked up.
	Deployers approval.Deployers
	// Pauses reads ECS PAUSE hooks, for requests opened by their events,
	// and ends their waits; nil: such events are ignored.
	Pauses approval.PauseHooks
	// Tags reads the service's gatehouse: tags, its settings for a PAUSE
	// hook; nil: the suite's settings apply.
	Tags approval.ServiceTags
	// Subscriptions tells who receives them, so that expiry approves only
	// when every approver is reachable; nil: it cannot be told, and expiry
	// rejects.
	Subscriptions approval.Subscriptions
	// ECS describes deployments.
	ECS ECS
	// Alarms reads the alarms of abortOnAlarms; nil when there is no alarm
	// source, and then a request that watches alarms is refused.
	Alarms cwmetrics.AlarmReader
	// Keys signs the review links.
	Keys review.Keys
	// Now is the clock.
	Now func() time.Time
	// Log receives the hook's log lines.
	Log *slog.Logger
}

// AWS returns the AWS clients for cfg, honouring the endpoint variables of
// getenv (awsenv).
func AWS(aws aws.Config, getenv func(string) string, env config.ApprovalHook, log *slog.Logger) Clients {
	snsClient := notify.NewClient(aws, getenv)
	ecsClient := ecsdeploy.NewClient(aws, getenv)
	var deployers approval.Deployers
	if env.DeployerLookup {
		deployers = Trail{gtrail.NewClient(aws, getenv)}
	}
	return Clients{
		Deployers:     deployers,
		S3:            awsenv.NewS3(aws, getenv),
		Notifier:      notify.New(snsClient, env.TopicARN),
		Subscriptions: &TopicSubscriptions{API: snsClient, Topic: env.TopicARN, Now: time.Now},
		ECS:           ecsdeploy.New(ecsClient),
		Pauses:        approvalparts.ECSPauses{API: ecsClient},
		Tags:          ServiceTags{API: ecsClient},
		Alarms:        cwmetrics.New(cwmetrics.NewClient(aws, getenv)),
		Keys:          secrets.Source(aws, getenv, env.Signing.SecretARN, env.Signing.Key),
		Now:           time.Now,
		Log:           log,
	}
}

// New returns the approval hook's handler for lambda.Start.
func New(env config.ApprovalHook, c Clients) func(context.Context, json.RawMessage) (hook.Response, error) {
	st := store.New(c.S3, env.Bucket)
	gate := &approval.Gate{
		Store:         st,
		Notifier:      approvalparts.Messages{Publisher: c.Notifier},
		Subscriptions: c.Subscriptions,
		Deployers:     c.Deployers,
		Pauses:        c.Pauses,
		Tags:          c.Tags,
		Describer:     changes{c.ECS},
		Linker:        review.Links{Base: env.ReviewURL, Keys: c.Keys},
		Now:           c.Now,
		Log:           c.Log,
		// Smoke reports live in the same bucket.
		Smoke:         smoke.Verdicts{Reader: st},
		SmokeFunction: env.SmokeFunction,
		Function:      env.Function,
	}
	if c.Alarms != nil {
		gate.Alarms = approvalparts.Alarms{Reader: c.Alarms}
	}
	if c.Pauses != nil {
		// Open PAUSE requests are marked beside them, for the sweep.
		gate.Index = st
	}
	hookCall := hook.Wrap(approval.HookHandler(gate, env.Defaults), hook.Options{
		CallBackDelay: env.Defaults.CallbackDelay,
		Logger:        c.Log,
		Now:           c.Now,
		Deployments:   c.ECS,
	})
	return func(ctx context.Context, payload json.RawMessage) (hook.Response, error) {
		// An "ECS Hook State Change" event, from EventBridge, for a PAUSE
		// hook: its answer is ignored, and an error makes Lambda deliver
		// it again.
		if hook.IsScheduledEvent(payload) {
			// The sweep rule: the clock of PAUSE requests.
			swept, err := gate.Sweep(ctx, env.Defaults)
			if err != nil {
				// An error, for the function's Errors alarm; the next
				// sweep tries again.
				c.Log.ErrorContext(ctx, "sweep incomplete", "open", swept.Open, "ended", swept.Ended, "failed", swept.Failed, "err", err)
				return hook.Response{}, err
			}
			c.Log.InfoContext(ctx, "swept the open PAUSE requests", "open", swept.Open, "ended", swept.Ended)
			return hook.Response{}, nil
		}
		if key, ok := hook.ParseSettleEvent(payload); ok {
			// The CLI, after a deciding vote: settled with this role.
			v, err := gate.SettlePause(ctx, key)
			if err != nil {
				c.Log.ErrorContext(ctx, "settle event not handled", "err", err)
				return hook.Response{}, err
			}
			return hook.Response{Reason: v.Reason}, nil
		}
		if ev, ok := hook.ParsePauseEvent(payload); ok {
			var err error
			if ev.Ended() {
				// A PAUSE hook ended: its request is checked with ECS now.
				err = gate.EndPause(ctx, ev)
			} else {
				_, err = gate.OpenPause(ctx, ev, env.Defaults)
			}
			if err != nil {
				c.Log.ErrorContext(ctx, "pause event not handled", "deployment_arn", ev.DeploymentARN, "event", ev.EventName, "err", err)
				return hook.Response{}, err
			}
			return hook.Response{}, nil
		}
		return hookCall(ctx, payload)
	}
}
