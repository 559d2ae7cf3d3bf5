package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// lambdaStub answers Invoke with answer, recording the inputs.
func lambdaStub(answer func(*lambda.InvokeInput) (*lambda.InvokeOutput, error)) (*lambda.Client, *[]*lambda.InvokeInput) {
	var got []*lambda.InvokeInput
	return lambda.New(lambda.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
			in, ok := p.(*lambda.InvokeInput)
			if !ok {
				return nil, errors.New("unexpected call")
			}
			got = append(got, in)
			return answer(in)
		})}}), &got
}

// TestHookSettler: the CLI has the suite's approval hook settle a vote: it
// invokes the function with the settle event of the request's key, and
// reports what the function said, or why it could not.
func TestHookSettler(t *testing.T) {
	const key = "approvals/123456789012/us-west-2/prod-cluster/orders/abc/POST_TEST_TRAFFIC_SHIFT.pause-1.json"
	c, got := lambdaStub(func(in *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
		return &lambda.InvokeOutput{Payload: []byte(`{"hookStatus":"","reason":"approved by alice@example.com (1 of 1 required)"}`)}, nil
	})
	s := hookSettler{API: c, Function: "gatehouse-approval-hook"}
	v, err := s.Settle(context.Background(), key)
	if err != nil || v.Reason != "approved by alice@example.com (1 of 1 required)" {
		t.Errorf("Settle = %+v, %v", v, err)
	}
	if k, ok := hook.ParseSettleEvent((*got)[0].Payload); len(*got) != 1 || aws.ToString((*got)[0].FunctionName) != "gatehouse-approval-hook" || !ok || k != key {
		t.Errorf("invoked %+v with %s", (*got)[0], (*got)[0].Payload)
	}
	failing, _ := lambdaStub(func(*lambda.InvokeInput) (*lambda.InvokeOutput, error) {
		return &lambda.InvokeOutput{FunctionError: aws.String("Unhandled"), Payload: []byte(`{"errorMessage":"settle x: not the request of a PAUSE hook"}`)}, nil
	})
	if _, err := (hookSettler{API: failing, Function: "f"}).Settle(context.Background(), key); err == nil || !strings.Contains(err.Error(), "not the request of a PAUSE hook") {
		t.Errorf("a function error = %v, want it reported", err)
	}
}
