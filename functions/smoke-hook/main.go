// Command smoke-hook is the smoke-test gate: an ECS deployment lifecycle hook
// (POST_TEST_TRAFFIC_SHIFT by default) that runs declarative HTTP checks
// against the green revision through the test listener and fails the
// deployment, so that ECS rolls back, when a critical check fails.
package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/smoke/reportstore"
	"github.com/gatehouse-dev/gatehouse/internal/testlistener"
)

func main() {
	var cfg config.SmokeHook
	log, aws := awsenv.Boot(os.Getenv, func(getenv func(string) string) (err error) {
		cfg, err = config.LoadSmokeHook(getenv)
		return err
	})
	ecsClient := ecs.NewFromConfig(aws, func(o *ecs.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.ECS) })
	finder := testlistener.New(
		ecsClient,
		elb.NewFromConfig(aws, func(o *elb.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.ELBv2) }),
	)
	runner := &smoke.Runner{
		Client:     &http.Client{Transport: transport()},
		Discoverer: discoverer(finder),
		Log:        log,
	}
	if cfg.Bucket != "" {
		runner.Reports = reportstore.New(awsenv.NewS3(aws, os.Getenv), cfg.Bucket)
	} else {
		log.Warn("no state bucket: smoke reports will not be written", "env", config.EnvStateBucket)
	}
	lambda.Start(hook.Wrap(smoke.HookHandler(runner, cfg.Defaults), hook.Options{
		CallBackDelay: smoke.TransientCallBackDelay,
		Logger:        log,
		// A rollback is told by what ECS says, not by the weights alone.
		Deployments: ecsdeploy.New(ecsClient),
	}))
}

// discoverer adapts the test listener finder to the smoke domain's
// Discoverer, which knows nothing of ELBv2.
func discoverer(f *testlistener.Finder) smoke.Discoverer {
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
