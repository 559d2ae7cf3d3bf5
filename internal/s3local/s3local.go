// Package s3local is an S3-compatible server in process: gofakes3 over a
// bolt file, for local mode's embedded store and for tests that need S3's
// guarantees under concurrency. Conditional writes (If-None-Match,
// If-Match) are checked inside the bolt write transaction, so of many
// concurrent conditional writers exactly one wins; and reads always answer
// one whole version (see copyingBackend).
package s3local

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"
)

// Server is the S3 API over one bolt file.
type Server struct {
	// Handler serves the S3 API.
	Handler http.Handler
	db      *bolt.DB
}

// Open opens (or creates) the bolt file at path and makes sure bucket
// exists. Only one Server may have the file open.
func Open(path, bucket string) (*Server, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s (is another process using it?): %w", path, err)
	}
	backend := s3bolt.New(db)
	if ok, err := backend.BucketExists(bucket); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded s3: %w", err)
	} else if !ok {
		if err := backend.CreateBucket(bucket); err != nil {
			db.Close()
			return nil, fmt.Errorf("embedded s3: %w", err)
		}
	}
	return &Server{Handler: gofakes3.New(&copyingBackend{Backend: backend}).Server(), db: db}, nil
}

// Close closes the bolt file.
func (s *Server) Close() error { return s.db.Close() }

// copyingBackend guards the embedded S3's bolt backend against torn reads.
// s3bolt decodes an object's bytes inside a read transaction without
// copying them (bson aliases its input), then serves them after the
// transaction closed; a concurrent write may reuse those pages, and a GET
// racing a PUT of the same key then answers a truncated document
// ("unexpected end of JSON input"). Real S3 never does. Here reads copy the
// contents out while writes wait, so every GET answers a whole version.
type copyingBackend struct {
	gofakes3.Backend
	mu sync.RWMutex
}

func (b *copyingBackend) GetObject(bucket, key string, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	obj, err := b.Backend.GetObject(bucket, key, rng)
	if err != nil || obj == nil || obj.Contents == nil {
		return detach(obj), err
	}
	detach(obj)
	data, err := io.ReadAll(obj.Contents)
	_ = obj.Contents.Close()
	if err != nil {
		return nil, err
	}
	obj.Contents = io.NopCloser(bytes.NewReader(data))
	return obj, nil
}

func (b *copyingBackend) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	obj, err := b.Backend.HeadObject(bucket, key)
	return detach(obj), err
}

// detach copies what of obj may alias the database's memory map (its hash,
// its metadata), so that it stays readable once a write has grown, and
// remapped, the file: bolt's pages are only valid inside their transaction.
func detach(obj *gofakes3.Object) *gofakes3.Object {
	if obj == nil {
		return nil
	}
	obj.Hash = bytes.Clone(obj.Hash)
	obj.Name = strings.Clone(obj.Name)
	if obj.Metadata != nil {
		meta := make(map[string]string, len(obj.Metadata))
		for k, v := range obj.Metadata {
			meta[strings.Clone(k)] = strings.Clone(v)
		}
		obj.Metadata = meta
	}
	obj.VersionID = gofakes3.VersionID(strings.Clone(string(obj.VersionID)))
	return obj
}

func (b *copyingBackend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Backend.PutObject(bucket, key, meta, input, size, cond)
}

func (b *copyingBackend) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Backend.DeleteObject(bucket, key)
}

func (b *copyingBackend) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Backend.DeleteMulti(bucket, keys...)
}

func (b *copyingBackend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Backend.CopyObject(srcBucket, srcKey, dstBucket, dstKey, meta)
}
