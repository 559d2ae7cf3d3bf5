// Package awstest runs real local stand-ins for AWS services in tests: an
// S3-compatible server (versitygw), an SNS emulator (goaws) and the Lambda
// Runtime Interface Emulator for built function binaries.
//
// Every helper takes a testing.TB, binds only to 127.0.0.1, registers its own
// cleanup and fails the test, never skips it, when a tool is missing. The
// external binaries are pinned in scripts/tools.go.mod and built into
// build/tools/bin by `make tools` (scripts/tools.sh); the directory can be
// moved with GATEHOUSE_TOOLS_BIN.
//
// Child processes never see the caller's AWS configuration: their
// environment is rebuilt from scratch (see NewRIE), so a test cannot reach
// real AWS with a developer's credentials.
package awstest
