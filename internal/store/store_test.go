package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// docStore is what the contract covers: both *store.S3 and *store.Memory.
type docStore interface {
	Get(ctx context.Context, key string) (store.Object, error)
	Create(ctx context.Context, key string, body []byte) (string, error)
	Update(ctx context.Context, key string, body []byte, etag string) (string, error)
	Put(ctx context.Context, key string, body []byte, contentType string) error
	List(ctx context.Context, prefix string, limit int) ([]string, error)
	Delete(ctx context.Context, key string) error
}

// implementations are the stores the contract tests run against: the
// in-memory twin and a real S3-compatible server.
func implementations() map[string]func(t *testing.T) docStore {
	return map[string]func(t *testing.T) docStore{
		"memory": func(t *testing.T) docStore { return store.NewMemory() },
		"s3": func(t *testing.T) docStore {
			srv := awstest.NewS3(t)
			return store.New(srv.Client(), srv.Bucket)
		},
	}
}

// TestContract runs the same cases against the in-memory store and against
// a real S3-compatible server, so that the fake cannot drift from S3.
func TestContract(t *testing.T) {
	for name, mk := range implementations() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := mk(t)

			if _, err := s.Get(ctx, "approvals/a.json"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
			}
			if _, err := s.Update(ctx, "approvals/a.json", []byte(`{}`), `"nope"`); !errors.Is(err, store.ErrPrecondition) && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Update(missing) = %v, want ErrPrecondition or ErrNotFound", err)
			}
			e1, err := s.Create(ctx, "approvals/a.json", []byte(`{"v":1}`))
			if err != nil || e1 == "" {
				t.Fatalf("Create = %q, %v", e1, err)
			}
			if _, err := s.Create(ctx, "approvals/a.json", []byte(`{"v":"again"}`)); !errors.Is(err, store.ErrPrecondition) {
				t.Errorf("second Create = %v, want ErrPrecondition", err)
			}
			obj, err := s.Get(ctx, "approvals/a.json")
			if err != nil || string(obj.Body) != `{"v":1}` || obj.ETag != e1 {
				t.Fatalf("Get = %q %q, %v; want the first body with etag %q", obj.Body, obj.ETag, err, e1)
			}
			e2, err := s.Update(ctx, "approvals/a.json", []byte(`{"v":2}`), e1)
			if err != nil || e2 == e1 {
				t.Fatalf("Update = %q, %v; want a new etag", e2, err)
			}
			if _, err := s.Update(ctx, "approvals/a.json", []byte(`{"v":"stale"}`), e1); !errors.Is(err, store.ErrPrecondition) {
				t.Errorf("Update(stale etag) = %v, want ErrPrecondition", err)
			}
			if obj, _ := s.Get(ctx, "approvals/a.json"); string(obj.Body) != `{"v":2}` {
				t.Errorf("after a stale update the body is %s, want {\"v\":2}", obj.Body)
			}
			// No ETag is no condition: refused, never written blindly.
			if _, err := s.Update(ctx, "approvals/a.json", []byte(`{"v":"blind"}`), ""); err == nil {
				t.Error("Update(empty etag) succeeded, want a refusal")
			}
			if obj, _ := s.Get(ctx, "approvals/a.json"); string(obj.Body) != `{"v":2}` {
				t.Errorf("after an update without an etag the body is %s, want {\"v\":2}", obj.Body)
			}
			for _, k := range []string{"approvals/b.json", "approvals/c.json", "other/x.json"} {
				if _, err := s.Create(ctx, k, []byte(`{}`)); err != nil {
					t.Fatal(err)
				}
			}
			keys, err := s.List(ctx, "approvals/", 0)
			if err != nil || fmt.Sprint(keys) != "[approvals/a.json approvals/b.json approvals/c.json]" {
				t.Errorf("List = %v, %v", keys, err)
			}
			if keys, _ := s.List(ctx, "approvals/", 2); len(keys) != 2 {
				t.Errorf("List(limit 2) = %v", keys)
			}
			for range 2 { // a second delete finds nothing, and is no error
				if err := s.Delete(ctx, "approvals/b.json"); err != nil {
					t.Errorf("Delete = %v", err)
				}
			}
			if _, err := s.Get(ctx, "approvals/b.json"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get(deleted) = %v, want ErrNotFound", err)
			}
			if keys, _ := s.List(ctx, "approvals/", 0); fmt.Sprint(keys) != "[approvals/a.json approvals/c.json]" {
				t.Errorf("List after Delete = %v", keys)
			}
		})
	}
}

// TestConcurrentWriters: of 20 writers racing on one key, exactly one create
// and, from one common ETag, exactly one update win. It runs against the
// in-process server, whose conditional writes are atomic as S3's are
// (versitygw's are not: see awstest.NewAtomicS3).
func TestConcurrentWriters(t *testing.T) {
	srv := awstest.NewAtomicS3(t)
	s := store.New(srv.Client(), srv.Bucket)
	ctx := context.Background()
	race := func(op func(i int) error) (wins int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := op(i)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, store.ErrPrecondition):
					t.Errorf("writer %d: %v, want nil or ErrPrecondition", i, err)
				}
			}()
		}
		wg.Wait()
		return wins
	}
	if n := race(func(i int) error { _, err := s.Create(ctx, "k", []byte(fmt.Sprint(i))); return err }); n != 1 {
		t.Errorf("%d creates won, want 1", n)
	}
	obj, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	// Each update writes a body unlike the created one: S3's ETag is the
	// body's MD5, so an update that rewrote the same bytes would keep the
	// ETag, and a second writer's If-Match would rightly succeed too.
	if n := race(func(i int) error {
		_, err := s.Update(ctx, "k", []byte(fmt.Sprint("update ", i)), obj.ETag)
		return err
	}); n != 1 {
		t.Errorf("%d updates won, want 1", n)
	}
}

// TestErrorTranslation covers what local servers never answer: AWS's 409
// ConditionalRequestConflict, a missing bucket, and throttling.
func TestErrorTranslation(t *testing.T) {
	tests := []struct {
		err           error
		wantPrecond   bool
		wantNotFound  bool
		wantTransient bool
	}{
		{err: &smithy.GenericAPIError{Code: "ConditionalRequestConflict"}, wantPrecond: true},
		{err: &smithy.GenericAPIError{Code: "PreconditionFailed"}, wantPrecond: true},
		{err: &smithy.GenericAPIError{Code: "NoSuchBucket"}},
		{err: &smithy.GenericAPIError{Code: "SlowDown"}, wantTransient: true},
	}
	for _, tt := range tests {
		c := s3.New(s3.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{},
			APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(any) (any, error) { return nil, tt.err })}})
		_, err := store.New(c, "b").Update(context.Background(), "k", []byte("{}"), `"e"`)
		if got := errors.Is(err, store.ErrPrecondition); got != tt.wantPrecond {
			t.Errorf("%v: ErrPrecondition = %v, want %v", tt.err, got, tt.wantPrecond)
		}
		if got := errors.Is(err, store.ErrNotFound); got != tt.wantNotFound {
			t.Errorf("%v: ErrNotFound = %v, want %v", tt.err, got, tt.wantNotFound)
		}
		if got := hook.IsTransient(err); got != tt.wantTransient {
			t.Errorf("%v: transient = %v, want %v", tt.err, got, tt.wantTransient)
		}
	}
}
