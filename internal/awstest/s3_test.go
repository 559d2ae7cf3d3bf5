package awstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// httpStatus returns the HTTP status of a failed SDK call, or 0 if the
// request got no response.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func put(ctx context.Context, c *s3.Client, in *s3.PutObjectInput) (string, error) {
	out, err := c.PutObject(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

func TestS3ConditionalWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts s3Options
	}{
		{"xattr", s3Options{}},
		{"sidecar", s3Options{sidecar: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newS3(t, tc.opts)
			c := s.Client()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			key := aws.String("deployments/d1.json")
			body := func(s string) io.Reader { return strings.NewReader(s) }

			etag1, err := put(ctx, c, &s3.PutObjectInput{Bucket: &s.Bucket, Key: key, Body: body("v1"), IfNoneMatch: aws.String("*")})
			if err != nil {
				t.Fatalf("first create: %v", err)
			}
			// A quoted hex MD5, like AWS for a single-part upload.
			if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag1) {
				t.Errorf("ETag = %s, want a quoted hex MD5", etag1)
			}

			_, err = put(ctx, c, &s3.PutObjectInput{Bucket: &s.Bucket, Key: key, Body: body("v1 again"), IfNoneMatch: aws.String("*")})
			if got := httpStatus(err); got != http.StatusPreconditionFailed {
				t.Fatalf("second create: status %d (err %v), want 412", got, err)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "PreconditionFailed" {
				t.Errorf("second create: error %v, want code PreconditionFailed", err)
			}

			etag2, err := put(ctx, c, &s3.PutObjectInput{Bucket: &s.Bucket, Key: key, Body: body("v2"), IfMatch: aws.String(etag1)})
			if err != nil {
				t.Fatalf("update with current ETag: %v", err)
			}
			if etag2 == etag1 {
				t.Errorf("ETag unchanged after update: %s", etag2)
			}

			_, err = put(ctx, c, &s3.PutObjectInput{Bucket: &s.Bucket, Key: key, Body: body("v3"), IfMatch: aws.String(etag1)})
			if got := httpStatus(err); got != http.StatusPreconditionFailed {
				t.Fatalf("update with stale ETag: status %d (err %v), want 412", got, err)
			}

			// Like AWS (and unlike gofakes3, which answers 412).
			_, err = put(ctx, c, &s3.PutObjectInput{Bucket: &s.Bucket, Key: aws.String("missing"), Body: body("x"), IfMatch: aws.String(etag1)})
			if got := httpStatus(err); got != http.StatusNotFound {
				t.Errorf("update of missing key: status %d (err %v), want 404", got, err)
			}
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchKey" {
				t.Errorf("update of missing key: error %v, want code NoSuchKey", err)
			}

			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.Bucket, Key: key})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			defer got.Body.Close()
			b, err := io.ReadAll(got.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if string(b) != "v2" || aws.ToString(got.ETag) != etag2 {
				t.Errorf("GetObject = %q, ETag %s; want %q, ETag %s", b, aws.ToString(got.ETag), "v2", etag2)
			}
		})
	}
}

func TestS3ConcurrentCreateHasOneWinner(t *testing.T) {
	s := NewS3(t)
	c := s.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const writers = 20
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = put(ctx, c, &s3.PutObjectInput{
				Bucket: &s.Bucket, Key: aws.String("race"), Body: strings.NewReader("w"), IfNoneMatch: aws.String("*"),
			})
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case httpStatus(err) != http.StatusPreconditionFailed:
			t.Errorf("writer %d: %v, want success or 412", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d conditional creates succeeded, want 1", wins, writers)
	}
}

func TestS3SecondBucketIsSeparate(t *testing.T) {
	s := NewS3(t)
	other := s.NewBucket(t)
	if other == s.Bucket {
		t.Fatalf("NewBucket returned the default bucket %s", other)
	}
	c := s.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := put(ctx, c, &s3.PutObjectInput{Bucket: &other, Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("put in second bucket: %v", err)
	}
	_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.Bucket, Key: aws.String("k")})
	if got := httpStatus(err); got != http.StatusNotFound {
		t.Errorf("HeadObject in the default bucket: status %d (err %v), want 404", got, err)
	}
}

func TestS3Stop(t *testing.T) {
	s := NewS3(t)
	c := s.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.Bucket}); err != nil {
		t.Fatalf("HeadBucket before Stop: %v", err)
	}
	s.Stop()
	s.Stop() // idempotent
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.Bucket})
	if err == nil {
		t.Fatal("HeadBucket after Stop succeeded, want a connection error")
	}
	if got := httpStatus(err); got != 0 {
		t.Errorf("HeadBucket after Stop: got HTTP status %d, want no response (err %v)", got, err)
	}
}

func TestS3Env(t *testing.T) {
	s := NewS3(t)
	got := map[string]string{}
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	for k, want := range map[string]string{
		"AWS_ENDPOINT_URL_S3":   s.Endpoint,
		"AWS_ACCESS_KEY_ID":     s.AccessKey,
		"AWS_SECRET_ACCESS_KEY": s.SecretKey,
		"AWS_REGION":            "us-east-1",
	} {
		if got[k] != want {
			t.Errorf("Env()[%s] = %q, want %q", k, got[k], want)
		}
	}
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint = %s, want http://127.0.0.1:PORT", s.Endpoint)
	}
}

// TestS3FallsBackToSidecar runs NewS3 against a versitygw wrapper that
// refuses to start without --sidecar, as versitygw does on a filesystem
// without user extended attributes.
func TestS3FallsBackToSidecar(t *testing.T) {
	versitygw := toolPath(t, "versitygw")
	bin := t.TempDir()
	script := fmt.Sprintf(`#!/bin/sh
case " $* " in *" --sidecar "*) exec %q "$@" ;; esac
echo "xattr check failed: xattrs are not supported on this filesystem" >&2
exit 1
`, versitygw)
	if err := os.WriteFile(filepath.Join(bin, "versitygw"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ToolsBinEnv, bin)

	s := NewS3(t)
	if !strings.Contains(s.proc.out.String(), "sidecar") {
		t.Errorf("versitygw output does not mention the sidecar:\n%s", s.proc.out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client()
	in := &s3.PutObjectInput{Bucket: &s.Bucket, Key: aws.String("k"), Body: strings.NewReader("x"), IfNoneMatch: aws.String("*")}
	if _, err := put(ctx, c, in); err != nil {
		t.Fatalf("create: %v", err)
	}
	in.Body = strings.NewReader("y")
	if _, err := put(ctx, c, in); httpStatus(err) != http.StatusPreconditionFailed {
		t.Errorf("second create: %v, want 412", err)
	}
}
