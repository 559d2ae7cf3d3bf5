package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"net/http"
)

func sample(t *testing.T, name string) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("../../events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestWrap(t *testing.T) {
	ok := func(ctx context.Context, req Request) (Response, error) {
		return Response{HookStatus: StatusSucceeded, Reason: "fine"}, nil
	}
	tests := []struct {
		name       string
		payload    json.RawMessage
		handler    Handler
		wantStatus Status
		wantDelay  int
		wantReason string // substring
		wantCalled bool
	}{
		{name: "success", payload: sample(t, "post-test-traffic-shift.json"), handler: ok, wantStatus: StatusSucceeded, wantReason: "fine", wantCalled: true},
		{name: "in progress gets default delay", payload: sample(t, "post-test-traffic-shift.json"),
			handler: func(context.Context, Request) (Response, error) {
				return Response{HookStatus: StatusInProgress}, nil
			}, wantStatus: StatusInProgress, wantDelay: 45, wantCalled: true},
		{name: "in progress delay clamped", payload: sample(t, "post-test-traffic-shift.json"),
			handler: func(context.Context, Request) (Response, error) {
				return Response{HookStatus: StatusInProgress, CallBackDelay: 100000}, nil
			}, wantStatus: StatusInProgress, wantDelay: MaxCallBackDelay, wantCalled: true},
		{name: "panic becomes FAILED", payload: sample(t, "post-test-traffic-shift.json"),
			handler:    func(context.Context, Request) (Response, error) { panic("boom") },
			wantStatus: StatusFailed, wantReason: "internal error: boom", wantCalled: true},
		{name: "transient becomes IN_PROGRESS", payload: sample(t, "post-test-traffic-shift.json"),
			handler: func(context.Context, Request) (Response, error) {
				return Response{}, fmt.Errorf("load: %w", Transient(errors.New("s3 busy")))
			}, wantStatus: StatusInProgress, wantDelay: 45, wantReason: "transient error", wantCalled: true},
		{name: "connection refused becomes IN_PROGRESS", payload: sample(t, "post-test-traffic-shift.json"),
			handler: func(context.Context, Request) (Response, error) {
				return Response{}, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
			}, wantStatus: StatusInProgress, wantDelay: 45, wantCalled: true},
		{name: "other error becomes FAILED", payload: sample(t, "post-test-traffic-shift.json"),
			handler: func(context.Context, Request) (Response, error) {
				return Response{}, errors.New("hookDetails.timeout: bad")
			}, wantStatus: StatusFailed, wantReason: "hookDetails.timeout: bad", wantCalled: true},
		{name: "invalid status becomes FAILED", payload: sample(t, "post-test-traffic-shift.json"),
			handler: func(context.Context, Request) (Response, error) {
				return Response{HookStatus: "MAYBE"}, nil
			}, wantStatus: StatusFailed, wantReason: "invalid hook status", wantCalled: true},
		{name: "invalid hookDetails answered FAILED", payload: sample(t, "post-test-traffic-shift.json"),
			handler: func(context.Context, Request) (Response, error) {
				return Response{HookStatus: StatusInProgress, HookDetails: json.RawMessage(`{"x":`)}, nil
			}, wantStatus: StatusFailed, wantReason: "invalid hookDetails", wantCalled: true},
		{name: "malformed JSON", payload: json.RawMessage(`{"executionId":`), handler: ok, wantStatus: StatusFailed, wantReason: "malformed event"},
		{name: "missing fields named", payload: json.RawMessage(`{"lifecycleStage":"POST_TEST_TRAFFIC_SHIFT"}`), handler: ok,
			wantStatus: StatusFailed, wantReason: "resourceArn is missing; executionDetails.serviceArn is missing"},
		{name: "rollback passes without calling the handler", payload: sample(t, "rollback-test-traffic-shift.json"),
			handler:    func(context.Context, Request) (Response, error) { return Response{HookStatus: StatusFailed}, nil },
			wantStatus: StatusSucceeded, wantReason: "rollback"},
		{name: "rollback passes even with fields missing", payload: json.RawMessage(`{"lifecycleStage":"TEST_TRAFFIC_SHIFT",
			"executionDetails":{"targetServiceRevisionArn":"g","testTrafficWeights":{"g":0,"b":100}}}`),
			handler:    func(context.Context, Request) (Response, error) { return Response{HookStatus: StatusFailed}, nil },
			wantStatus: StatusSucceeded, wantReason: "rollback"},
		{name: "production rollback passes", payload: sample(t, "rollback-production-traffic-shift.json"),
			handler:    func(context.Context, Request) (Response, error) { return Response{HookStatus: StatusInProgress}, nil },
			wantStatus: StatusSucceeded, wantReason: "rollback"},
		{name: "long reason is cut", payload: sample(t, "post-test-traffic-shift.json"),
			handler: func(context.Context, Request) (Response, error) {
				return Response{}, errors.New(strings.Repeat("x", 5000))
			}, wantStatus: StatusFailed, wantReason: "...", wantCalled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := func(ctx context.Context, req Request) (Response, error) {
				called = true
				return tt.handler(ctx, req)
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			got, err := Wrap(h, Options{CallBackDelay: 45, Logger: log})(context.Background(), tt.payload)
			if err != nil {
				t.Fatalf("Wrap returned error %v, want nil: an error is a rollback", err)
			}
			if got.HookStatus != tt.wantStatus {
				t.Errorf("status = %s (reason %q), want %s", got.HookStatus, got.Reason, tt.wantStatus)
			}
			if got.CallBackDelay != tt.wantDelay {
				t.Errorf("callBackDelay = %d, want %d", got.CallBackDelay, tt.wantDelay)
			}
			if !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", got.Reason, tt.wantReason)
			}
			if len(got.Reason) > maxReason {
				t.Errorf("reason has %d bytes, want at most %d", len(got.Reason), maxReason)
			}
			if called != tt.wantCalled {
				t.Errorf("handler called = %v, want %v", called, tt.wantCalled)
			}
			if n := strings.Count(logs.String(), `"msg":"hook answered"`); n != 1 {
				t.Errorf("logged the outcome %d times, want once:\n%s", n, logs.String())
			}
		})
	}
}

func TestWrapDeadlineMargin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	outer, _ := ctx.Deadline()
	var inner time.Time
	h := func(ctx context.Context, req Request) (Response, error) {
		inner, _ = ctx.Deadline()
		return Response{HookStatus: StatusSucceeded}, nil
	}
	Wrap(h, Options{Logger: slog.New(slog.DiscardHandler)})(ctx, sample(t, "post-test-traffic-shift.json"))
	if got := outer.Sub(inner); got != AnswerMargin {
		t.Errorf("handler deadline is %s before the invocation's, want %s", got, AnswerMargin)
	}
}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("bad config"), false},
		{"marked", Transient(errors.New("x")), true},
		{"wrapped mark", fmt.Errorf("ctx: %w", Transient(errors.New("x"))), true},
		{"deadline", context.DeadlineExceeded, true},
		// A call cut short (the invocation's deadline, a cancelled
		// parent) is asked again, never answered FAILED.
		{"canceled", context.Canceled, true},
		{"wrapped canceled", fmt.Errorf("describe service deployment: %w", context.Canceled), true},
		{"throttling", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"}, true},
		{"slow down", &smithy.GenericAPIError{Code: "SlowDown"}, true},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDenied"}, false},
		{"5xx", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}}, Err: errors.New("unavailable")}, true},
		{"4xx", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 403}}, Err: errors.New("denied")}, false},
		{"refused", fmt.Errorf("get: %w", syscall.ECONNREFUSED), true},
		{"reset", syscall.ECONNRESET, true},
		{"dial", &net.OpError{Op: "dial", Err: errors.New("no route")}, true},
	}
	for _, tt := range tests {
		if got := IsTransient(tt.err); got != tt.want {
			t.Errorf("IsTransient(%s: %v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
