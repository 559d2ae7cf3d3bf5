package hook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// A hook function's main wraps its handler once and hands the result to
// lambda.Start. Whatever the handler does, ECS gets a valid answer: here a
// transient error becomes IN_PROGRESS (ask again), not a rollback.
func ExampleWrap() {
	calls := 0
	handler := func(ctx context.Context, req hook.Request) (hook.Response, error) {
		calls++
		if calls == 1 {
			return hook.Response{}, hook.Transient(errors.New("s3: slow down"))
		}
		return hook.Response{HookStatus: hook.StatusSucceeded, Reason: "checked " + req.ExecutionDetails.ServiceARN}, nil
	}
	fn := hook.Wrap(handler, hook.Options{CallBackDelay: 15, Logger: slog.New(slog.DiscardHandler)})

	event := json.RawMessage(`{"executionId": "e1", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
		"resourceArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/orders/d1",
		"executionDetails": {"serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/prod/orders",
			"targetServiceRevisionArn": "arn:aws:ecs:us-west-2:123456789012:service-revision/prod/orders/2"}}`)
	for range 2 {
		res, err := fn(context.Background(), event)
		fmt.Println(res.HookStatus, res.CallBackDelay, err)
	}
	// Output:
	// IN_PROGRESS 15 <nil>
	// SUCCEEDED 0 <nil>
}
