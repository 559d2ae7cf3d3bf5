package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// deploymentsAPI is what `gatehouse rollback` asks of ECS, through the
// ECS adapter (ecsdeploy).
type deploymentsAPI interface {
	ecsdeploy.API
	ecsdeploy.StopAPI
}

// newECS makes the ECS client for rollback; tests replace it.
var newECS = func(cfg aws.Config, getenv func(string) string) deploymentsAPI {
	return ecsdeploy.NewClient(cfg, getenv)
}

// stdin is where the confirmation is read; tests replace it.
var stdin io.Reader = os.Stdin

// rollbackPoll is how often rollback asks ECS how the rollback goes.
var rollbackPoll = 5 * time.Second

const rollbackUsage = `usage: gatehouse rollback <deployment-arn | service-arn> [--yes] [--wait D] [--region R]
Rolls the deployment back (ECS StopServiceDeployment, stopType ROLLBACK):
production traffic goes back to blue, which still runs until CLEAN_UP.
Given a service ARN, it takes the service's deployment in progress.
`

func runRollback(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("gatehouse rollback", flag.ContinueOnError)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for production to be back on blue (0: do not wait)")
	region := fs.String("region", "", "the AWS region (default: the ARN's)")
	positional, code := parseFlags(fs, rollbackUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if len(positional) != 1 {
		return usageError(stderr, "rollback", rollbackUsage, "want exactly one deployment or service ARN")
	}
	target := positional[0]
	isService := strings.Contains(target, ":service/")
	if _, err := hook.ParseDeploymentARN(target); err != nil && !isService {
		return usageError(stderr, "rollback", rollbackUsage, "%q is neither a service-deployment ARN nor a service ARN", target)
	}
	if *wait < 0 {
		return usageError(stderr, "rollback", rollbackUsage, "--wait must not be negative")
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "gatehouse rollback: %v\n", explain(err))
		return 1
	}
	cfg, err := loadAWS(ctx, *region, target)
	if err != nil {
		return fail(err)
	}
	api := newECS(cfg, getenv)
	arn := target
	if isService {
		if arn, err = deploymentInProgress(ctx, api, target); err != nil {
			return fail(err)
		}
	}
	status, err := describe(ctx, api, arn)
	if err != nil {
		return fail(err)
	}
	if status != string(ecstypes.ServiceDeploymentStatusInProgress) && status != string(ecstypes.ServiceDeploymentStatusPending) {
		return fail(fmt.Errorf("deployment %s is %s: there is nothing to roll back (nothing was done)", arn, status))
	}
	if !*yes {
		fmt.Fprintf(stdout, "Roll back deployment %s (%s)?\nProduction traffic goes back to the previous revision. Type yes to go on: ", arn, status)
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			fmt.Fprintln(stdout)
			return fail(errors.New("not confirmed: nothing was done"))
		}
	}
	start := time.Now()
	if err := ecsdeploy.Rollback(ctx, api, arn); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "rollback requested at %s: ECS sends production traffic back to the previous revision\n", start.UTC().Format(time.RFC3339))
	if *wait == 0 {
		return 0
	}
	return waitForRollback(ctx, api, arn, start, *wait, stdout, fail)
}

// waitForRollback polls ECS, at most until wait has passed since start,
// until the deployment arn is ROLLBACK_SUCCESSFUL, and fails when it ends
// otherwise or the wait runs out.
func waitForRollback(ctx context.Context, api deploymentsAPI, arn string, start time.Time, wait time.Duration, stdout io.Writer, fail func(error) int) int {
	deadline := start.Add(wait)
	for polls := 0; ; polls++ {
		status, err := describe(ctx, api, arn)
		switch {
		case err != nil && !hook.IsTransient(err):
			return fail(err)
		case err == nil && status == string(ecstypes.ServiceDeploymentStatusRollbackSuccessful):
			fmt.Fprintf(stdout, "production is back on the previous revision: %s, %s after the request\n", status, time.Since(start).Round(time.Second))
			return 0
		case err == nil && (status == string(ecstypes.ServiceDeploymentStatusRollbackFailed) || status == string(ecstypes.ServiceDeploymentStatusSuccessful) || status == string(ecstypes.ServiceDeploymentStatusStopped)):
			return fail(fmt.Errorf("the deployment ended %s, not ROLLBACK_SUCCESSFUL", status))
		}
		if time.Now().After(deadline) || polls > 10000 {
			return fail(fmt.Errorf("the rollback was requested, but ECS did not report ROLLBACK_SUCCESSFUL within %s; see `gatehouse status` or the ECS console", wait))
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(rollbackPoll):
		}
	}
}

// describe returns the deployment arn's status, as ECS reports it.
func describe(ctx context.Context, api deploymentsAPI, arn string) (string, error) {
	status, err := ecsdeploy.New(api).Status(ctx, arn)
	if errors.Is(err, ecsdeploy.ErrNotFound) {
		return "", fmt.Errorf("ECS does not know the deployment %s", arn)
	}
	if err != nil {
		return "", fmt.Errorf("ECS DescribeServiceDeployments: %w", err)
	}
	return status, nil
}

// deploymentInProgress finds the service's deployment in progress.
func deploymentInProgress(ctx context.Context, api deploymentsAPI, serviceARN string) (string, error) {
	arns, err := ecsdeploy.Running(ctx, api, serviceARN)
	if err != nil {
		return "", err
	}
	switch len(arns) {
	case 0:
		return "", fmt.Errorf("service %s has no deployment in progress: there is nothing to roll back (nothing was done)", serviceARN)
	case 1:
		return arns[0], nil
	}
	return "", fmt.Errorf("service %s has %d deployments in progress: name one by its ARN", serviceARN, len(arns))
}
