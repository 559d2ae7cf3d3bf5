package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/operator"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// newDeployments makes the ECS reader that tells whether a deployment still
// waits; tests replace it.
var newDeployments = func(cfg aws.Config, getenv func(string) string) *ecsdeploy.Reader {
	return ecsdeploy.New(ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.ECS) }))
}

// newIdentity makes the STS client; tests replace it.
var newIdentity = func(cfg aws.Config, getenv func(string) string) operator.Identity {
	return sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.STS) })
}

func runOperator(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("gatehouse "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	bucket := fs.String("bucket", getenv(config.EnvStateBucket), "the state bucket (default $"+config.EnvStateBucket+")")
	var stage, gate, comment *string
	var all, override *bool
	switch cmd {
	case "list":
		all = fs.Bool("all", false, "include decided and expired requests")
	default:
		stage = fs.String("stage", "", "the lifecycle stage, when the deployment has requests at several")
		gate = fs.String("gate", "", "the gate name, when several approval hooks hold the same stage")
		if cmd == "approve" || cmd == "reject" {
			comment = fs.String("comment", "", "a comment recorded with the decision")
		}
		if cmd == "approve" {
			override = fs.Bool("override", false, "approve as an emergency override of a freeze or change window (needs --comment with the reason)")
		}
	}
	// Flags may follow the deployment ARN.
	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return parseExit(err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "gatehouse %s: %v\n", cmd, err)
		return 1
	}
	want := 1
	if cmd == "list" {
		want = 0
	}
	if len(positional) != want {
		if want == 0 {
			fmt.Fprintf(stderr, "gatehouse list: unexpected argument %q\n", positional[0])
		} else {
			fmt.Fprintf(stderr, "gatehouse %s: want exactly one deployment ARN (arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID)\n", cmd)
		}
		return 2
	}
	if want == 1 {
		if _, err := hook.ParseDeploymentARN(positional[0]); err != nil {
			fmt.Fprintf(stderr, "gatehouse %s: %v\n", cmd, err)
			return 2
		}
	}
	if *bucket == "" {
		fmt.Fprintf(stderr, "gatehouse %s: no state bucket: pass --bucket or set %s\n", cmd, config.EnvStateBucket)
		return 2
	}
	if comment != nil && len(*comment) > approval.MaxCommentLen {
		fmt.Fprintf(stderr, "gatehouse %s: --comment is longer than %d bytes\n", cmd, approval.MaxCommentLen)
		return 2
	}
	if override != nil && *override && strings.TrimSpace(*comment) == "" {
		fmt.Fprintf(stderr, "gatehouse %s: --override needs --comment with the reason\n", cmd)
		return 2
	}
	// The SDK's default configuration: the whole credential chain
	// (profiles, SSO, roles), as for the AWS CLI. The functions do without
	// it (awsenv.FromEnv), which keeps SSO, STS and IMDS out of them.
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fail(fmt.Errorf("load aws config: %w", err))
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = cfg.Credentials.Retrieve(cctx)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("no AWS credentials: configure them as for the AWS CLI (aws configure, AWS_PROFILE, aws sso login): %w", err))
	}
	op := &operator.Operator{
		Store:    store.New(awsenv.NewS3(cfg, getenv), *bucket),
		Identity: newIdentity(cfg, getenv),
		Now:      time.Now,
		Out:      stdout,
		// An open request whose deployment ECS stopped or rolled back
		// takes no votes, and list and status say so.
		Deployments: newDeployments(cfg, getenv),
	}
	switch cmd {
	case "list":
		err = op.List(ctx, *all)
	case "status":
		err = op.Status(ctx, positional[0], operator.Selector{Stage: *stage, Gate: *gate})
	case "approve", "reject":
		d := approval.Approve
		if cmd == "reject" {
			d = approval.Reject
		}
		err = op.Decide(ctx, positional[0], operator.Selector{Stage: *stage, Gate: *gate}, d, strings.TrimSpace(*comment), override != nil && *override)
	}
	if errors.Is(err, operator.ErrNoRequest) {
		return fail(fmt.Errorf("%s in s3://%s: check the ARN and the bucket", err, *bucket))
	}
	if err != nil {
		return fail(err)
	}
	return 0
}
