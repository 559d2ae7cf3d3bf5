package store

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Memory is an in-memory store with the same semantics as S3: ETags change
// on every write, Create fails if the key exists, Update fails if the ETag is
// stale or the key is missing. It is for tests; the contract test runs the same
// cases against it and against a real S3-compatible server.
type Memory struct {
	mu      sync.Mutex
	objects map[string]Object
	writes  int
	types   map[string]string

	// Fail, when set, is consulted before each operation ("get", "create",
	// "update", "put", "list") and its error, if any, is returned instead.
	Fail func(op, key string) error
	gets int
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{objects: map[string]Object{}}
}

func (m *Memory) fail(op, key string) error {
	if m.Fail != nil {
		return m.Fail(op, key)
	}
	return nil
}

// Get implements the store's Get.
func (m *Memory) Get(ctx context.Context, key string) (Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if err := m.fail("get", key); err != nil {
		return Object{}, err
	}
	o, ok := m.objects[key]
	if !ok {
		return Object{}, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	return Object{Body: slices.Clone(o.Body), ETag: o.ETag}, nil
}

// Create implements the store's Create.
func (m *Memory) Create(ctx context.Context, key string, body []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("create", key); err != nil {
		return "", err
	}
	if _, ok := m.objects[key]; ok {
		return "", fmt.Errorf("create %s: %w", key, ErrPrecondition)
	}
	return m.put(key, body), nil
}

// Update implements the store's Update.
func (m *Memory) Update(ctx context.Context, key string, body []byte, etag string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("update", key); err != nil {
		return "", err
	}
	o, ok := m.objects[key]
	if !ok || o.ETag != etag {
		return "", fmt.Errorf("update %s: %w", key, ErrPrecondition)
	}
	return m.put(key, body), nil
}

// List implements the store's List.
func (m *Memory) List(ctx context.Context, prefix string, limit int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("list", prefix); err != nil {
		return nil, err
	}
	var keys []string
	for k := range m.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	return keys, nil
}

// Delete implements the store's Delete.
func (m *Memory) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("delete", key); err != nil {
		return err
	}
	delete(m.objects, key)
	return nil
}

// Gets returns the number of Get calls so far.
func (m *Memory) Gets() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gets
}

// Writes returns the number of successful writes so far.
func (m *Memory) Writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

func (m *Memory) put(key string, body []byte) string {
	m.writes++
	sum := md5.Sum(append([]byte(fmt.Sprint(m.writes)), body...))
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	m.objects[key] = Object{Body: slices.Clone(body), ETag: etag}
	return etag
}

// Put is S3.Put: it writes body at key, unconditionally, with its content
// type.
func (m *Memory) Put(ctx context.Context, key string, body []byte, contentType string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail("put", key); err != nil {
		return err
	}
	m.put(key, body)
	if m.types == nil {
		m.types = map[string]string{}
	}
	m.types[key] = contentType
	return nil
}

// ContentType returns the content type the object at key was Put with, and
// "" if there is none.
func (m *Memory) ContentType(key string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.types[key]
}

// Keys returns every key written, sorted.
func (m *Memory) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.objects))
}
