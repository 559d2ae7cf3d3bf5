// Package smokehook composes the smoke hook: configuration, clients,
// handler (see package wiring).
package smokehook

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/elbv2"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Clients are what the smoke hook talks to.
type Clients struct {
	// S3 holds the state bucket the reports go to, when there is one.
	S3 store.API
	// ECS says whether a deployment rolls back (hook.Wrap).
	ECS hook.DeploymentStatus
	// Discoverer finds green's test listener (Discoverer); nil: the
	// checks must name their baseUrl.
	Discoverer smoke.Discoverer
	// HTTP makes the checks' requests.
	HTTP *http.Client
	// Now and Sleep are the clock; nil means the real one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Log receives the hook's log lines.
	Log *slog.Logger
}

// AWS returns the AWS clients, honouring the endpoint variables of getenv
// (awsenv).
func AWS(aws aws.Config, getenv func(string) string, log *slog.Logger) Clients {
	ecsClient := ecsdeploy.NewClient(aws, getenv)
	return Clients{
		S3:         awsenv.NewS3(aws, getenv),
		ECS:        ecsdeploy.New(ecsClient),
		Discoverer: Discoverer(ecsClient, elbv2.NewClient(aws, getenv)),
		HTTP:       &http.Client{Transport: transport()},
		Log:        log,
	}
}

// New returns the smoke hook's handler for lambda.Start.
func New(env config.SmokeHook, c Clients) func(context.Context, json.RawMessage) (hook.Response, error) {
	runner := &smoke.Runner{
		Client:     c.HTTP,
		Discoverer: c.Discoverer,
		Now:        c.Now,
		Sleep:      c.Sleep,
		Log:        c.Log,
	}
	if env.Bucket != "" {
		runner.Reports = store.New(c.S3, env.Bucket)
	} else {
		c.Log.Warn("no state bucket: smoke reports will not be written", "env", config.EnvStateBucket)
	}
	return hook.Wrap(smoke.HookHandler(runner, env.Defaults), hook.Options{
		CallBackDelay: smoke.TransientCallBackDelay,
		Logger:        c.Log,
		Now:           c.Now,
		Reserved:      []string{smoke.StateKey},
		// A rollback is told by what ECS says, not by the weights alone.
		Deployments: c.ECS,
	})
}

// Discoverer finds green's test listener with ECS and ELBv2 (the test
// listener finder), for the smoke domain, which knows nothing of ELBv2.
func Discoverer(ecsAPI elbv2.RevisionsAPI, elbAPI elbv2.API) smoke.Discoverer {
	f := elbv2.NewFinder(ecsAPI, elbAPI)
	return smoke.DiscoverFunc(func(ctx context.Context, revisionARN string) (smoke.Target, error) {
		t, err := f.Find(ctx, revisionARN)
		if err != nil {
			return smoke.Target{}, err
		}
		return smoke.Target{BaseURL: t.BaseURL, Headers: t.Headers, Source: t.Source(), Notes: t.Notes,
			PathPatterns: t.PathPatterns, Methods: t.Methods, Unsatisfiable: t.Unsatisfiable}, nil
	})
}

// transport is the checks' HTTP transport: proxies from the environment, and
// connections that do not outlive a warm function's idle periods by much.
// Per-request timeouts come from the configuration.
func transport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   smoke.MaxConcurrency,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
