// Package awsenv builds the AWS SDK configuration for gatehouse's binaries.
//
// In Lambda, FromEnv reads region and credentials from the variables the
// runtime sets, the same values the SDK's default chain would take there,
// without linking the SSO, STS and IMDS code of config.LoadDefaultConfig:
// that keeps each function well below its size budget. The CLI uses the
// full default chain (config.LoadDefaultConfig) itself.
//
// Both honour the SDK's standard AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE> variables, and S3 clients use path-style
// addressing whenever a custom S3 endpoint is set, so every binary runs
// unchanged against local servers.
package awsenv

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// The SDK's standard variables.
const (
	EnvEndpointURL     = "AWS_ENDPOINT_URL"
	EnvIgnoreEndpoints = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
	EnvRegion          = "AWS_REGION"
	EnvDefaultRegion   = "AWS_DEFAULT_REGION"
	EnvAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken    = "AWS_SESSION_TOKEN"
	endpointURLPrefix  = "AWS_ENDPOINT_URL_"
)

// Service ids, as they appear in AWS_ENDPOINT_URL_<SERVICE>.
const (
	S3             = "S3"
	SNS            = "SNS"
	ECS            = "ECS"
	SecretsManager = "SECRETS_MANAGER"
	CloudWatch     = "CLOUDWATCH"
	ELBv2          = "ELASTIC_LOAD_BALANCING_V2"
	STS            = "STS"
	CloudTrail     = "CLOUDTRAIL"
	Lambda         = "LAMBDA"
)

// FromEnv returns the configuration of a Lambda function: region and
// credentials from the environment the runtime sets.
func FromEnv(getenv func(string) string) (aws.Config, error) {
	region := getenv(EnvRegion)
	if region == "" {
		region = getenv(EnvDefaultRegion)
	}
	var errs []error
	if region == "" {
		errs = append(errs, fmt.Errorf("%s is not set", EnvRegion))
	}
	id, secret := getenv(EnvAccessKeyID), getenv(EnvSecretAccessKey)
	if id == "" || secret == "" {
		errs = append(errs, fmt.Errorf("%s and %s are not set", EnvAccessKeyID, EnvSecretAccessKey))
	}
	if err := errors.Join(errs...); err != nil {
		return aws.Config{}, fmt.Errorf("aws environment: %w", err)
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv(EnvSessionToken))),
	}, nil
}

// Endpoint returns the custom endpoint configured for service, or "" for
// AWS's own: AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
func Endpoint(getenv func(string) string, service string) string {
	if strings.EqualFold(getenv(EnvIgnoreEndpoints), "true") {
		return ""
	}
	if v := getenv(endpointURLPrefix + service); v != "" {
		return v
	}
	return getenv(EnvEndpointURL)
}

// BaseEndpoint returns the endpoint for service as the SDK's optional
// BaseEndpoint field: nil for AWS's own.
func BaseEndpoint(getenv func(string) string, service string) *string {
	if v := Endpoint(getenv, service); v != "" {
		return &v
	}
	return nil
}

// NewS3 returns an S3 client for cfg. With a custom endpoint it uses
// path-style addressing, which local servers need, and computes checksums only
// where S3 requires them, which not every local server understands.
func NewS3(cfg aws.Config, getenv func(string) string, optFns ...func(*s3.Options)) *s3.Client {
	ep := BaseEndpoint(getenv, S3)
	opts := append([]func(*s3.Options){func(o *s3.Options) {
		if ep != nil {
			o.BaseEndpoint = ep
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}}, optFns...)
	return s3.NewFromConfig(cfg, opts...)
}

// Boot starts a Lambda function: it makes the Lambda logger the default,
// runs load (which reads the function's own configuration from getenv), and
// reads the SDK configuration with FromEnv. A bad environment stops the
// function with one log line naming every problem: it cannot answer
// anything sensible, and ECS then rolls back with the log to say why.
func Boot(getenv func(string) string, load func(getenv func(string) string) error) (*slog.Logger, aws.Config) {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := FromEnv(getenv)
	if lerr := load(getenv); lerr != nil || err != nil {
		log.Error("bad configuration", "err", hook.OneLine(errors.Join(lerr, err).Error()))
		os.Exit(1)
	}
	return log, cfg
}
