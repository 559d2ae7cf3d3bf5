// Command gatehouse runs gatehouse locally and operates it in AWS.
//
//	gatehouse local [--scenario NAME] [--config FILE] [--speed N] [--green MODE] [--strategy S] [--ecs BEHAVIOUR] [--state-dir DIR] [--listen ADDR]
//	gatehouse list [--all] [--bucket B] [--region R] [--local [--state-dir DIR]]
//	gatehouse status <deployment-arn> [--stage S] [--gate G] [--bucket B] [--region R] [--local [--state-dir DIR]]
//	gatehouse approve <deployment-arn> [--stage S] [--gate G] [--comment C] [--override] [--bucket B] [--region R] [--local --as ADDRESS [--state-dir DIR]]
//	gatehouse reject <deployment-arn> [--stage S] [--gate G] [--comment C] [--bucket B] [--region R] [--local --as ADDRESS [--state-dir DIR]]
//	gatehouse rollback <deployment-arn | service-arn> [--yes] [--wait D] [--region R]
//	gatehouse --version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	// Change windows name IANA time zones; not every machine has a zone
	// database.
	_ "time/tzdata"
)

const usage = `gatehouse: safe ECS blue/green deployments

Usage:
  gatehouse local [flags]              run a whole blue/green deployment on this machine (no AWS)
  gatehouse list [flags]               list pending approval requests
  gatehouse status <deployment-arn>    show a request, its votes and its audit history
  gatehouse approve <deployment-arn>   approve as your AWS identity
  gatehouse reject <deployment-arn>    reject as your AWS identity
  gatehouse rollback <deployment-arn>  roll a deployment back: production traffic back to blue at once

Run "gatehouse <command> -h" for a command's usage and flags, and
"gatehouse --version" for this build's version.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "local":
		return runLocal(ctx, args[1:], stdout, stderr)
	case "list", "status", "approve", "reject":
		return runOperator(ctx, args[0], args[1:], stdout, stderr, getenv)
	case "rollback":
		return runRollback(ctx, args[1:], stdout, stderr, getenv)
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "--version", "-version", "version":
		fmt.Fprintln(stdout, version())
		return 0
	default:
		fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
