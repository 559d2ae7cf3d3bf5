package awstest

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gatehouse-dev/gatehouse/internal/s3local"
)

// S3 is a real S3-compatible server (versitygw with its posix backend) on
// 127.0.0.1, private to one test.
//
// It honours conditional writes like AWS: PutObject with IfNoneMatch "*"
// answers 412 PreconditionFailed when the key exists; with IfMatch it answers
// 412 when the ETag is stale and 404 NoSuchKey when the key is missing.
// ETags are quoted hex MD5s, as on AWS. It never answers AWS's 409
// ConditionalRequestConflict: test that retry path with a stub.
type S3 struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// Bucket is a bucket created for the test.
	Bucket string
	// AccessKey and SecretKey are the server's random root credentials.
	AccessKey string
	SecretKey string
	// Region is the region clients sign for, always "us-east-1".
	Region string

	proc *process
	// closeFn stops an in-process server (NewAtomicS3).
	closeFn func()
}

// NewAtomicS3 starts an in-process S3-compatible server (s3local: gofakes3
// over a bolt file) on loopback, for tests of what many concurrent
// conditional writers may do. versitygw v1.8.0's posix backend checks
// If-Match and writes in two steps: of 20 concurrent updates from one ETag,
// two sometimes win (measured about once in eight runs), which S3 never
// allows. s3local checks the condition inside its write transaction.
func NewAtomicS3(t testing.TB) *S3 {
	t.Helper()
	srv, err := s3local.Open(filepath.Join(t.TempDir(), "s3.db"), "awstest-atomic")
	if err != nil {
		t.Fatalf("awstest: %v", err)
	}
	hs := httptest.NewServer(srv.Handler)
	s := &S3{Endpoint: hs.URL, Bucket: "awstest-atomic", AccessKey: "awstest", SecretKey: "awstest", Region: Region}
	var once sync.Once
	s.closeFn = func() { once.Do(func() { hs.Close(); _ = srv.Close() }) }
	t.Cleanup(s.closeFn)
	return s
}

// s3Options are knobs for the package's own tests.
type s3Options struct {
	// sidecar stores object metadata in a sidecar directory instead of
	// extended attributes, as is done automatically where the filesystem
	// has no user xattrs.
	sidecar bool
}

// NewS3 starts a versitygw server on a free 127.0.0.1 port with a data
// directory under t.TempDir and random root credentials, waits until it
// accepts connections, and creates S3.Bucket. The server is killed when the
// test ends. The test fails if build/tools/bin/versitygw is missing.
func NewS3(t testing.TB) *S3 {
	t.Helper()
	return newS3(t, s3Options{})
}

func newS3(t testing.TB, opts s3Options) *S3 {
	t.Helper()
	bin := toolPath(t, "versitygw")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	sidecar := filepath.Join(dir, "sidecar")
	home := filepath.Join(dir, "home")
	for _, d := range []string{data, sidecar, home} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("awstest: create versitygw directory: %v", err)
		}
	}
	s := &S3{
		AccessKey: "AKIA" + strings.ToUpper(randomHex(8)),
		SecretKey: randomHex(20),
		Region:    Region,
	}
	env := mergeEnv(baseEnv(home), []string{
		"ROOT_ACCESS_KEY_ID=" + s.AccessKey,
		"ROOT_SECRET_ACCESS_KEY=" + s.SecretKey,
	})

	useSidecar := opts.sidecar
	const attempts = 3
	for attempt := 1; ; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			t.Fatalf("awstest: %v", err)
		}
		args := []string{"--quiet", "--port", addr, "--region", Region, "posix"}
		if useSidecar {
			args = append(args, "--sidecar", sidecar)
		}
		args = append(args, data)
		p, err := startProcess("versitygw", bin, args, env, dir)
		if err != nil {
			t.Fatalf("awstest: %v", err)
		}
		s.Endpoint = "http://" + addr
		err = p.waitListening(addr)
		if err == nil {
			err = s.checkOwner()
		}
		if err == nil {
			s.proc = p
			break
		}
		p.stop()
		out := p.out.String()
		switch {
		case attempt >= attempts:
		case strings.Contains(out, "xattr") && !useSidecar:
			// versitygw refuses to start on a filesystem without user
			// extended attributes (tmpfs on older kernels, some overlays).
			useSidecar = true
			continue
		case strings.Contains(out, "address already in use"), errors.Is(err, errNotOwner):
			// Another process took the port after freeAddr released it.
			continue
		}
		t.Fatalf("awstest: start versitygw (attempt %d): %v\noutput:\n%s", attempt, err, out)
	}
	s.proc.logOnFailure(t)
	t.Cleanup(s.proc.stop)

	s.Bucket = s.NewBucket(t)
	return s
}

// errNotOwner means that the server on the address is not the one started.
var errNotOwner = errors.New("another server answers on this address")

// checkOwner makes sure that the server at s.Endpoint is the one just
// started: only it knows the random root credentials. A server of another
// test binary can win the race for a port that freeAddr found free, and
// then answers the TCP readiness check in place of ours.
func (s *S3) checkOwner() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.Client().ListBuckets(ctx, &s3.ListBucketsInput{})
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("%w: %v", errNotOwner, err)
	}
	if err != nil {
		return fmt.Errorf("list buckets at %s: %w", s.Endpoint, err)
	}
	return nil
}

// Client returns a new S3 client for the server: path-style addressing and
// the static root credentials.
func (s *S3) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// Env returns the environment a child process (a Lambda under NewRIE) needs
// to reach the server with the SDK's default configuration loader. The SDK
// switches to path-style addressing by itself because the endpoint host is an
// IP address.
func (s *S3) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint,
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + s.Region,
	}
}

// NewBucket creates another, empty bucket with a random name and returns the
// name.
func (s *S3) NewBucket(t testing.TB) string {
	t.Helper()
	name := "awstest-" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("awstest: create bucket %s: %v", name, err)
	}
	return name
}

// Stop kills the server, so that later requests fail as if S3 were
// unreachable (connection refused). It is safe to call more than once; the
// server is not restarted.
func (s *S3) Stop() {
	if s.closeFn != nil {
		s.closeFn()
		return
	}
	s.proc.stop()
}
