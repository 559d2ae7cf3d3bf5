package awstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
)

const echoPkg = "./internal/awstest/testdata/echo"

// echoResponse mirrors the response of testdata/echo.
type echoResponse struct {
	Echo         json.RawMessage   `json:"echo"`
	FunctionName string            `json:"functionName"`
	Env          map[string]string `json:"env"`
	ETag         string            `json:"etag"`
	MessageID    string            `json:"messageId"`
}

// invoke calls the echo function and decodes its response.
func invoke(t *testing.T, r *RIE, payload string) echoResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, err := r.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	var resp echoResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("Invoke(%s) = %s: %v", payload, body, err)
	}
	return resp
}

func TestRIEInvoke(t *testing.T) {
	r := NewRIE(t, BuildFunction(t, echoPkg), nil)

	got := invoke(t, r, `{"echo":{"a":[1,2]},"log":"hello from echo"}`)
	if string(got.Echo) != `{"a":[1,2]}` || got.FunctionName != "echo" {
		t.Errorf("Invoke = %+v, want echo {\"a\":[1,2]} from function echo", got)
	}
	if !strings.Contains(r.Logs(), "hello from echo") {
		t.Errorf("Logs() does not contain the function's log line:\n%s", r.Logs())
	}

	// Handler errors come back with HTTP 200, panics and exits with 502;
	// after the latter two the emulator restarts the function.
	for _, tc := range []struct {
		payload  string
		wantType string
		wantMsg  string
	}{
		{`{"fail":"boom"}`, "errorString", "boom"},
		{`{"panic":"argh"}`, "string", "argh"},
		{`{"exit":3}`, "Runtime.ExitError", "exit status 3"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		body, err := r.Invoke(ctx, []byte(tc.payload))
		cancel()
		var herr *HandlerError
		if !errors.As(err, &herr) {
			t.Errorf("Invoke(%s) = %s, %v; want a *HandlerError", tc.payload, body, err)
			continue
		}
		if herr.Type != tc.wantType || !strings.Contains(herr.Message, tc.wantMsg) {
			t.Errorf("Invoke(%s): HandlerError %+v, want type %s, message containing %q", tc.payload, herr, tc.wantType, tc.wantMsg)
		}
		if !strings.Contains(string(body), "errorMessage") {
			t.Errorf("Invoke(%s) body = %s, want the error response", tc.payload, body)
		}
		if got := invoke(t, r, `{"echo":"again"}`); string(got.Echo) != `"again"` {
			t.Errorf("Invoke after %s = %+v, want echo \"again\"", tc.payload, got)
		}
	}
}

func TestRIETimeout(t *testing.T) {
	r := NewRIE(t, BuildFunction(t, echoPkg), []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=1"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, err := r.Invoke(ctx, []byte(`{"sleepMs":5000}`))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Invoke of a slow function = %s, %v; want ErrTimeout", body, err)
	}
	if got := invoke(t, r, `{"echo":1}`); string(got.Echo) != "1" {
		t.Errorf("Invoke after a timeout = %+v, want echo 1", got)
	}
}

func TestRIEConcurrentInvokesAreSerialized(t *testing.T) {
	r := NewRIE(t, BuildFunction(t, echoPkg), nil)
	const callers = 10
	var wg sync.WaitGroup
	got := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var body []byte
			body, errs[i] = r.Invoke(ctx, fmt.Appendf(nil, `{"echo":%d}`, i))
			var resp echoResponse
			if errs[i] == nil {
				errs[i] = json.Unmarshal(body, &resp)
			}
			got[i] = string(resp.Echo)
		})
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i] != fmt.Sprint(i) {
			t.Errorf("caller %d: echo %q, err %v; want echo %d", i, got[i], errs[i], i)
		}
	}
}

func TestRIEEnvironment(t *testing.T) {
	// A developer's AWS configuration must not reach the function.
	t.Setenv("AWS_PROFILE", "production")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
	t.Setenv("AWS_ENDPOINT_URL_S3", "https://s3.amazonaws.com")

	r := NewRIE(t, BuildFunction(t, echoPkg), []string{
		"GATEHOUSE_EXAMPLE=1",
		"AWS_LAMBDA_FUNCTION_NAME=approval-hook",
		"GATEHOUSE_EXAMPLE=2", // the last value wins
	})
	if r.FunctionName != "approval-hook" {
		t.Errorf("FunctionName = %q, want approval-hook", r.FunctionName)
	}
	keys := []string{
		"GATEHOUSE_EXAMPLE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_EC2_METADATA_DISABLED",
	}
	payload, err := json.Marshal(map[string]any{"env": keys})
	if err != nil {
		t.Fatal(err)
	}
	got := invoke(t, r, string(payload))
	want := map[string]string{
		"GATEHOUSE_EXAMPLE":         "2",
		"AWS_LAMBDA_FUNCTION_NAME":  "approval-hook",
		"AWS_PROFILE":               "",
		"AWS_ACCESS_KEY_ID":         "awstest",
		"AWS_ENDPOINT_URL_S3":       "",
		"AWS_ENDPOINT_URL":          "http://127.0.0.1:1",
		"AWS_REGION":                "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	if diff := cmp.Diff(want, got.Env); diff != "" {
		t.Errorf("function environment mismatch (-want +got):\n%s", diff)
	}
	if got.FunctionName != "approval-hook" {
		t.Errorf("lambdacontext.FunctionName = %q, want approval-hook", got.FunctionName)
	}
}

// TestRIEReachesS3AndSNS runs a function that uses the SDK's default
// configuration against the stand-ins, through their Env.
func TestRIEReachesS3AndSNS(t *testing.T) {
	s3srv, snssrv := NewS3(t), NewSNS(t)
	r := NewRIE(t, BuildFunction(t, echoPkg), append(snssrv.Env(), s3srv.Env()...))

	payload, err := json.Marshal(map[string]any{
		"putS3":   map[string]string{"bucket": s3srv.Bucket, "key": "from-lambda", "body": "hi"},
		"publish": map[string]string{"topicArn": snssrv.TopicARN, "message": "published from lambda"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := invoke(t, r, string(payload))
	if got.ETag == "" || got.MessageID == "" {
		t.Errorf("Invoke = %+v, want an ETag and a MessageId", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obj, err := s3srv.Client().GetObject(ctx, &s3.GetObjectInput{Bucket: &s3srv.Bucket, Key: aws.String("from-lambda")})
	if err != nil {
		t.Fatalf("GetObject of the function's object: %v", err)
	}
	defer obj.Body.Close()
	if b, err := io.ReadAll(obj.Body); err != nil || string(b) != "hi" {
		t.Errorf("object body = %q, %v; want \"hi\"", b, err)
	}

	msgs := snssrv.WaitMessages(t, 1, 5*time.Second)
	if msgs[0].Message != "published from lambda" {
		t.Errorf("notification message = %q, want %q", msgs[0].Message, "published from lambda")
	}

	// With S3 gone the function gets a connection error, not a hang.
	s3srv.Stop()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	body, err := r.Invoke(ctx2, []byte(`{"putS3":{"bucket":"b","key":"k","body":"x"}}`))
	var herr *HandlerError
	if !errors.As(err, &herr) || !strings.Contains(herr.Message, "connection refused") {
		t.Errorf("Invoke with S3 stopped = %s, %v; want a handler error with connection refused", body, err)
	}
}

func TestBuildFunctionFailsForBadPackage(t *testing.T) {
	_, err := buildFunction("./internal/awstest/testdata/no-such-function")
	if err == nil {
		t.Fatal("buildFunction of a missing package succeeded")
	}
}

func TestBuildFunctionCaches(t *testing.T) {
	a := BuildFunction(t, echoPkg)
	b := BuildFunction(t, echoPkg)
	if a != b {
		t.Errorf("BuildFunction built twice: %s, %s", a, b)
	}
}
