package approvalparts

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
	"github.com/gatehouse-dev/gatehouse/internal/slackapp"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// ECS is what the approval service asks ECS of a deployment: whether it
// still runs forward (its status) and what it changes. *ecsdeploy.Reader
// satisfies it.
type ECS interface {
	approval.DeploymentStatus
	// Describe returns what ECS reports about the deployment.
	Describe(ctx context.Context, deploymentARN string) (ecsdeploy.Deployment, error)
}

// Suite is what the approval service is told of the suite it runs in
// (package config reads it from the environment).
type Suite struct {
	// Bucket is the state bucket.
	Bucket string
	// ReviewURL is the base of the review links.
	ReviewURL string
	// Defaults are the suite's approval settings.
	Defaults approval.Settings
	// SmokeFunction is the smoke hook's function name or ARN, if any;
	// Function the approval hook's own (how it finds itself among the
	// hooks ECS reports).
	SmokeFunction, Function string
	// BakeFunction is the bake hook's function name or ARN, if any: a
	// request of one step waits for its step check's verdict when ECS runs
	// it at the stage.
	BakeFunction string
}

// Clients are what the approval service talks to: the AWS SDK's clients
// behind their adapters in AWS (the functions' AWS), local mode's in
// gatehouse local. S3, Keys, Now and Log are required; a nil port is not
// reached, as each field says.
type Clients struct {
	// S3 holds the state bucket: requests and, beside them, smoke reports.
	S3 store.API
	// Notifier sends the approvers' messages: SNS in AWS. nil: only where
	// no request is ever opened or settled (the review API in Lambda mode).
	Notifier Publisher
	// Deployers tells who started a deployment (CloudTrail in AWS); nil:
	// not looked up.
	Deployers approval.Deployers
	// Pauses reads ECS PAUSE hooks and ends their waits; nil: PAUSE hooks'
	// events are ignored, and a vote leaves ECS to the suite's sweep.
	Pauses approval.PauseHooks
	// Tags reads the service's gatehouse: tags, its settings for a PAUSE
	// hook; nil: the suite's settings apply.
	Tags approval.ServiceTags
	// Subscriptions tells who receives the messages, so that expiry
	// approves only when every approver is reachable; nil: it cannot be
	// told, and expiry rejects.
	Subscriptions approval.Subscriptions
	// ECS describes deployments; nil: not asked. TaskDefinitions reads
	// task definitions, for the diff reviewers see, and TestListeners
	// finds where green can be tried; nil: not shown.
	ECS             ECS
	TaskDefinitions ecsdeploy.TaskDefinitionsAPI
	TestListeners   TestListeners
	// Slack asks approvers in Slack besides the email, and takes their
	// clicks; nil: email alone.
	Slack *Slack
	// Alarms reads the alarms of abortOnAlarms; nil: a request that
	// watches alarms is refused.
	Alarms cwmetrics.AlarmReader
	// Keys signs the review links and checks their signatures.
	Keys review.Keys
	// Now is the clock.
	Now func() time.Time
	// Log receives the log lines.
	Log *slog.Logger
}

// NewService assembles the approval service: the one place its gate is
// put together, for the approval hook, the review API, and local mode.
func NewService(s Suite, c Clients) *approval.Service {
	st := store.New(c.S3, s.Bucket)
	gate := &approval.Gate{
		Store:         st,
		Subscriptions: c.Subscriptions,
		Deployers:     c.Deployers,
		Pauses:        c.Pauses,
		Tags:          c.Tags,
		Linker:        review.Links{Base: s.ReviewURL, Keys: c.Keys},
		Now:           c.Now,
		Log:           c.Log,
		// Smoke reports live in the same bucket.
		Smoke:         smoke.Verdicts{Reader: st},
		SmokeFunction: s.SmokeFunction,
		BakeFunction:  s.BakeFunction,
		// So do the bake's step check's.
		Steps:    bake.Verdicts{Reader: st},
		Function: s.Function,
	}
	if c.Slack != nil {
		gate.Chat = &slackapp.Chat{API: c.Slack.API}
	}
	if c.Notifier != nil {
		gate.Notifier = Messages{Publisher: c.Notifier}
	}
	if c.Alarms != nil {
		gate.Alarms = Alarms{Reader: c.Alarms}
	}
	if c.Pauses != nil {
		// Open PAUSE requests are marked beside them, for the sweep.
		gate.Index = st
	}
	p := approval.Parts{Gate: gate, Defaults: s.Defaults}
	if c.ECS != nil {
		gate.Describer = changes{ecs: c.ECS, tds: c.TaskDefinitions, finder: c.TestListeners}
		p.Deployments = c.ECS
	}
	return approval.NewService(p)
}

// Slack is the Slack app's Web API and its secrets (Refresh reads them
// anew; nil: nothing to read anew).
type Slack struct {
	API              slackapp.API
	Secrets, Refresh func(context.Context) (slackapi.Secrets, error)
}

// SlackOf returns the Slack app cfg configures, reading its secret with
// api (Secrets Manager); nil without Slack.
func SlackOf(cfg *config.Slack, api secrets.API) *Slack {
	if cfg == nil {
		return nil
	}
	sec, refresh := secrets.SlackSource(api, cfg.SecretARN, cfg.Local)
	return &Slack{API: slackapp.NewClient(sec, cfg.APIURL), Secrets: sec, Refresh: refresh}
}
