// Package wiring holds one composition per gatehouse function, in a
// package of its own: approvalhook, approvalapi, smokehook and bakehook.
// Each turns the function's configuration (read from the environment by
// package config) and the clients it talks to into the handler lambda.Start
// runs. functions/*/main.go pass the AWS SDK's clients (AWS); local mode
// passes its own (the embedded S3 server's client, the outbox, the ECS
// simulator) to the same New, so the two differ only in their clients,
// never in wiring or defaults.
//
// A package per function keeps each binary linking only the SDK clients it
// uses.
package wiring
