// Package reportstore keeps smoke reports in Amazon S3: plain, unconditional
// writes (a report belongs to one deployment and stage, and a later write of
// the same run knows more than an earlier one) and reads through the store
// package, which translates S3's answers into store.ErrNotFound.
//
// It is an adapter: it talks to S3 and knows nothing of the smoke domain,
// whose ReportWriter and ReportReader interfaces *S3 and *Memory satisfy.
package reportstore

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// API is the part of *s3.Client the store uses (the same as store.API).
type API = store.API

// S3 keeps reports in one bucket.
type S3 struct {
	api    API
	bucket string
	docs   *store.S3
}

// New returns a report store writing to bucket.
func New(api API, bucket string) *S3 {
	return &S3{api: api, bucket: bucket, docs: store.New(api, bucket)}
}

// Put writes body at key, replacing any object there.
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

// Get reads the object at key. It returns an error wrapping
// store.ErrNotFound if there is none.
func (s *S3) Get(ctx context.Context, key string) (store.Object, error) {
	return s.docs.Get(ctx, key)
}

// Memory is an in-memory report store for tests and the local mode.
type Memory struct {
	mu      sync.Mutex
	objects map[string]memObject
	// Fail, when set, is consulted before each Put and its error, if any,
	// returned instead.
	Fail func(key string) error
}

type memObject struct {
	body        []byte
	contentType string
}

// NewMemory returns an empty in-memory report store.
func NewMemory() *Memory { return &Memory{objects: map[string]memObject{}} }

// Put implements the report store's Put.
func (m *Memory) Put(ctx context.Context, key string, body []byte, contentType string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		if err := m.Fail(key); err != nil {
			return err
		}
	}
	m.objects[key] = memObject{body: slices.Clone(body), contentType: contentType}
	return nil
}

// Get implements the report store's Get.
func (m *Memory) Get(ctx context.Context, key string) (store.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	if !ok {
		return store.Object{}, fmt.Errorf("get %s: %w", key, store.ErrNotFound)
	}
	return store.Object{Body: slices.Clone(o.body)}, nil
}

// ContentType returns the content type the object at key was written with,
// and "" if there is none.
func (m *Memory) ContentType(key string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objects[key].contentType
}

// Keys returns every key written, sorted.
func (m *Memory) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.objects))
}
