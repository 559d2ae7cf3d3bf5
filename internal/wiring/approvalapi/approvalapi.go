// Package approvalapi composes the review API: configuration, clients,
// handler (see package wiring).
package approvalapi

import (
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
)

// Clients are what the review API talks to.
type Clients struct {
	// S3 holds the state bucket.
	S3 store.API
	// ECS says whether a request's deployment still runs: one ECS stopped
	// or rolled back takes no votes.
	ECS review.DeploymentStatus
	// Keys checks the review links' signatures.
	Keys review.Keys
	// Pauses ends ECS PAUSE hooks' waits after the deciding vote, and
	// Notifier announces the decision; both nil where no request holds a
	// PAUSE hook.
	Pauses   approval.PauseHooks
	Notifier approvalparts.Publisher
	// Alarms reads the alarms a settled request still watches
	// (abortOnAlarms); nil: a request that watches alarms is aborted.
	Alarms cwmetrics.AlarmReader
	// Now is the clock.
	Now func() time.Time
	// Log receives the API's log lines.
	Log *slog.Logger
}

// AWS returns the AWS clients for env, honouring the endpoint variables of
// getenv (awsenv).
func AWS(aws aws.Config, getenv func(string) string, env config.ApprovalAPI, log *slog.Logger) Clients {
	ecsClient := ecsdeploy.NewClient(aws, getenv)
	c := Clients{
		S3:   awsenv.NewS3(aws, getenv),
		ECS:  ecsdeploy.New(ecsClient),
		Keys: secrets.Source(aws, getenv, env.Signing.SecretARN, env.Signing.Key),
		Now:  time.Now,
		Log:  log,
	}
	if env.TopicARN != "" {
		// Pause mode: the deciding vote continues the deployment at once.
		c.Pauses = approvalparts.ECSPauses{API: ecsClient}
		c.Notifier = notify.New(notify.NewClient(aws, getenv), env.TopicARN)
		c.Alarms = cwmetrics.New(cwmetrics.NewClient(aws, getenv))
	}
	return c
}

// New returns the review API's HTTP handler; funcurl.Handler adapts it to
// the Function URL.
func New(env config.ApprovalAPI, c Clients) *review.Handler {
	st := store.New(c.S3, env.Bucket)
	var settler review.Settler
	if c.Pauses != nil && c.Notifier != nil {
		gate := &approval.Gate{Store: st, Notifier: approvalparts.Messages{Publisher: c.Notifier}, Pauses: c.Pauses, Now: c.Now, Log: c.Log}
		if c.Alarms != nil {
			gate.Alarms = approvalparts.Alarms{Reader: c.Alarms}
		}
		settler = gate
	}
	return &review.Handler{
		Settler:     settler,
		Store:       st,
		Keys:        c.Keys,
		Now:         c.Now,
		Log:         c.Log,
		Deployments: c.ECS,
		BasePath:    review.BasePath(env.ReviewURL),
	}
}
