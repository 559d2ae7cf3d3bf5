package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestReportContract runs the report cases against both implementations.
func TestReportContract(t *testing.T) {
	for name, mk := range implementations() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := mk(t)
			const key = "reports/1/us-west-2/c/s/d/smoke-POST_TEST_TRAFFIC_SHIFT.json"
			if _, err := s.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get(missing) = %v, want store.ErrNotFound", err)
			}
			// Unconditional: a second Put of the same key replaces the first.
			for _, body := range []string{`{"verdict":"running"}`, `{"verdict":"passed"}`} {
				if err := s.Put(ctx, key, []byte(body), "application/json"); err != nil {
					t.Fatalf("Put(%s) = %v", body, err)
				}
				obj, err := s.Get(ctx, key)
				if err != nil || string(obj.Body) != body {
					t.Fatalf("Get after Put(%s) = %q, %v", body, obj.Body, err)
				}
			}
		})
	}
}

func TestS3ContentTypeAndErrors(t *testing.T) {
	srv := awstest.NewS3(t)
	ctx := context.Background()
	rs := store.New(srv.Client(), srv.Bucket)
	const key = "reports/x.txt"
	if err := rs.Put(ctx, key, []byte("gatehouse smoke test: PASSED\n"), "text/plain; charset=utf-8"); err != nil {
		t.Fatal(err)
	}
	out, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(srv.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if ct := aws.ToString(out.ContentType); ct != "text/plain; charset=utf-8" {
		t.Errorf("content type %q, want text/plain; charset=utf-8", ct)
	}
	// A missing bucket is a configuration error: not transient, and named.
	err = store.New(srv.Client(), "no-such-bucket-gatehouse").Put(ctx, key, []byte("x"), "text/plain")
	if err == nil || hook.IsTransient(err) {
		t.Errorf("Put to a missing bucket = %v, want a permanent error", err)
	}
	// A stopped server is transient: the hook tries again.
	srv.Stop()
	err = rs.Put(ctx, key, []byte("x"), "text/plain")
	if err == nil || !hook.IsTransient(err) {
		t.Errorf("Put to a stopped server = %v, want a transient error", err)
	}
}

func TestMemoryPutFail(t *testing.T) {
	m := store.NewMemory()
	boom := errors.New("boom")
	m.Fail = func(op, key string) error { return boom }
	if err := m.Put(context.Background(), "k", []byte("x"), "text/plain"); !errors.Is(err, boom) {
		t.Errorf("Put = %v, want the injected error", err)
	}
	if keys := m.Keys(); len(keys) != 0 {
		t.Errorf("Keys = %q after a failed Put", keys)
	}
}
