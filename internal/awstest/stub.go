package awstest

import (
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
)

// Answer is an SDK API option for services with no local stand-in (ECS,
// ELBv2, CloudWatch, STS): every call of the client is answered by answer
// at the SDK's Initialize step, with the operation's input as params
// (awsenv.Answer).
//
//	ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
//		APIOptions: []func(*middleware.Stack) error{awstest.Answer(answer)}})
func Answer(answer func(params any) (any, error)) func(*middleware.Stack) error {
	return awsenv.Answer(answer)
}
