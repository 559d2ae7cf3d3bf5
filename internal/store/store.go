// Package store keeps small JSON documents in Amazon S3 with optimistic
// concurrency: documents are created once with a conditional create
// (If-None-Match: *) and changed only with a conditional write (If-Match on
// the ETag read). It translates S3 errors at the boundary into the sentinels
// ErrNotFound and ErrPrecondition, so that callers never look at SDK types.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var (
	// ErrNotFound is returned when no document exists at a key.
	ErrNotFound = errors.New("not found")
	// ErrPrecondition is returned when a conditional write loses: the key
	// already exists (Create), or the document changed since it was read
	// (Update). The caller re-reads and decides again.
	ErrPrecondition = errors.New("precondition failed")
)

// MaxDocumentSize bounds what Get reads, so a corrupt or hostile object cannot
// exhaust a function's memory.
const MaxDocumentSize = 4 << 20

// API is the part of *s3.Client the store uses.
type API interface {
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, params *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	ListObjectsV2(ctx context.Context, params *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObject(ctx context.Context, params *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// Object is a document and the ETag it was read or written with.
type Object struct {
	Body []byte
	ETag string
}

// S3 is a document store in one bucket.
type S3 struct {
	api    API
	bucket string
}

// New returns a store that keeps documents in bucket.
func New(api API, bucket string) *S3 {
	return &S3{api: api, bucket: bucket}
}

// Bucket returns the name of the bucket the store writes to.
func (s *S3) Bucket() string { return s.bucket }

// Get reads the document at key. It returns ErrNotFound if there is none.
func (s *S3) Get(ctx context.Context, key string) (Object, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return Object{}, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, translate(err))
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, MaxDocumentSize+1))
	if err != nil {
		return Object{}, fmt.Errorf("read s3://%s/%s: %w", s.bucket, key, err)
	}
	if len(body) > MaxDocumentSize {
		return Object{}, fmt.Errorf("read s3://%s/%s: document larger than %d bytes", s.bucket, key, MaxDocumentSize)
	}
	return Object{Body: body, ETag: aws.ToString(out.ETag)}, nil
}

// Create writes body at key only if no document exists there. It returns
// ErrPrecondition if one does: exactly one of many concurrent creators wins.
func (s *S3) Create(ctx context.Context, key string, body []byte) (etag string, err error) {
	return s.put(ctx, key, body, &s3.PutObjectInput{IfNoneMatch: aws.String("*")})
}

// Update replaces the document at key only if its ETag is still etag. It
// returns ErrPrecondition if the document changed (or vanished) since.
func (s *S3) Update(ctx context.Context, key string, body []byte, etag string) (string, error) {
	if etag == "" {
		return "", fmt.Errorf("update s3://%s/%s: empty etag", s.bucket, key)
	}
	return s.put(ctx, key, body, &s3.PutObjectInput{IfMatch: aws.String(etag)})
}

func (s *S3) put(ctx context.Context, key string, body []byte, in *s3.PutObjectInput) (string, error) {
	in.Bucket = &s.bucket
	in.Key = &key
	in.Body = bytes.NewReader(body)
	in.ContentLength = aws.Int64(int64(len(body)))
	in.ContentType = aws.String("application/json")
	out, err := s.api.PutObject(ctx, in)
	if err != nil {
		return "", fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, translate(err))
	}
	return aws.ToString(out.ETag), nil
}

// Put writes body at key with contentType, replacing any object there:
// for documents one run writes whole and a later write knows more, such
// as reports. Requests use Create and Update.
func (s *S3) Put(ctx context.Context, key string, body []byte, contentType string) error {
	_, err := s.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// List returns the keys under prefix, in lexical order, at most limit of them
// (all when limit is 0).
func (s *S3) List(ctx context.Context, prefix string, limit int) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.api, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.bucket, prefix, translate(err))
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
			if limit > 0 && len(keys) == limit {
				return keys, nil
			}
		}
	}
	return keys, nil
}

// Delete removes the object at key; a missing one is no error. It is for
// markers, never for requests, which are kept as the audit trail.
func (s *S3) Delete(ctx context.Context, key string) error {
	if _, err := s.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", s.bucket, key, translate(err))
	}
	return nil
}

// translate maps S3's answers to the store's sentinels, keeping the original
// error in the chain so that transient classification still sees it.
func translate(err error) error {
	var nsk *s3types.NoSuchKey
	if errors.As(err, &nsk) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket":
			// A missing bucket is a configuration error, not a missing document.
			return err
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case "PreconditionFailed", "ConditionalRequestConflict":
			// 409 ConditionalRequestConflict: a concurrent conditional write is
			// in flight on the key. Re-reading and deciding again is the
			// documented remedy, exactly as for 412.
			return fmt.Errorf("%w: %w", ErrPrecondition, err)
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case http.StatusPreconditionFailed, http.StatusConflict:
			return fmt.Errorf("%w: %w", ErrPrecondition, err)
		}
	}
	return err
}
