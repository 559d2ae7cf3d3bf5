package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// permissionsDoc is where the operator commands' permissions are listed.
const permissionsDoc = "docs/operator.md"

// errNoRegion is the answer when no region is known.
var errNoRegion = errors.New("no AWS region: set AWS_REGION or pass --region")

// loadAWS loads the caller's AWS configuration as the AWS CLI does (the
// whole credential chain: environment, profiles, SSO, roles) and checks
// that it holds credentials, so that a command fails before it asks AWS
// anything. The region is --region, else the one of the ARN the command
// is about (a deployment, or a service), else the environment's or
// profile's. The SDK logs nothing (its IMDSv1 fallback warning, retries):
// what goes wrong comes back as an error, told in one line (explain).
func loadAWS(ctx context.Context, region, resource string) (aws.Config, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithLogger(logging.Nop{}),
		awsconfig.WithClientLogMode(0),
	}
	if region == "" {
		if a, err := arn.Parse(resource); err == nil {
			region = a.Region
		}
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var missing awsconfig.SharedConfigProfileNotExistError
		if errors.As(err, &missing) {
			return cfg, fmt.Errorf("AWS profile %q (AWS_PROFILE) is not in your AWS configuration: see `aws configure list-profiles`", missing.Profile)
		}
		return cfg, fmt.Errorf("AWS configuration: %s", hook.OneLine(err.Error()))
	}
	if cfg.Region == "" {
		return cfg, errNoRegion
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = cfg.Credentials.Retrieve(cctx)
	cancel()
	if err != nil {
		if expired(err) {
			return cfg, errExpired
		}
		return cfg, errors.New("no AWS credentials: configure them as for the AWS CLI (aws configure, AWS_PROFILE, aws sso login)")
	}
	return cfg, nil
}

// errExpired is the answer to credentials that have run out.
var errExpired = errors.New("your AWS credentials have expired: sign in again (aws sso login, or fresh keys) and retry")

// explain turns what AWS answered into one line an operator can act on:
// expired or invalid credentials, or a call the caller's identity may not
// make, naming the call. Other errors are kept, on one line.
func explain(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	call := "the call"
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		call = strings.ToLower(oe.Service()) + ":" + oe.Operation()
		if oe.Service() == "S3" {
			call = "s3:" + map[string]string{"PutObject": "PutObject", "GetObject": "GetObject", "ListObjectsV2": "ListBucket", "HeadObject": "GetObject", "HeadBucket": "ListBucket"}[oe.Operation()]
		}
	}
	switch {
	case expired(err):
		return errExpired
	case code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation" || code == "Forbidden":
		return fmt.Errorf("access denied: your AWS identity may not call %s (%s); the permissions each command needs are in %s", call, code, permissionsDoc)
	case code == "InvalidClientTokenId" || code == "UnrecognizedClientException" || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch":
		return fmt.Errorf("AWS does not accept your credentials (%s): check the access key and secret, or the profile, and retry", code)
	case code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" || code == "IllegalLocationConstraintException":
		return fmt.Errorf("the state bucket is in another region than the one used (%s): pass --region with the suite's region", code)
	case code == "NoSuchBucket":
		return fmt.Errorf("the state bucket does not exist (%s): check --bucket or %s against the suite's StateBucketName output", code, "GATEHOUSE_STATE_BUCKET")
	}
	return errors.New(hook.OneLine(err.Error()))
}

// expired reports whether err says the credentials ran out: an expired
// session token, or an SSO session.
func expired(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ExpiredToken", "ExpiredTokenException":
			return true
		}
	}
	msg := err.Error()
	return strings.Contains(msg, "SSO session has expired") || strings.Contains(msg, "token is expired") || strings.Contains(msg, "token has expired")
}
