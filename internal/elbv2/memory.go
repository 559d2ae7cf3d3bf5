package elbv2

import (
	"context"
	"fmt"
	"sync"
)

// Memory is the in-memory twin of Finder: what each service revision's load balancer is, kept by
// revision ARN. A revision it does not know is not found (ErrNotFound); one
// known without a test listener, or without blue/green target groups,
// answers ErrNoTestListener or ErrNotBlueGreen, as Finder does. It is
// safe for concurrent use.
type Memory struct {
	mu        sync.Mutex
	revisions map[string]memoryRevision
}

type memoryRevision struct {
	test    *TestListener
	traffic *Traffic
}

// Put records what revisionARN's load balancer is: its test listener and
// its production traffic, each nil when it has none.
func (m *Memory) Put(revisionARN string, test *TestListener, traffic *Traffic) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.revisions == nil {
		m.revisions = map[string]memoryRevision{}
	}
	m.revisions[revisionARN] = memoryRevision{test: test, traffic: traffic}
}

func (m *Memory) revision(arn string) (memoryRevision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.revisions[arn]
	if !ok {
		return r, fmt.Errorf("describe service revision %s: %w", arn, ErrNotFound)
	}
	return r, nil
}

// Find is Finder.Find.
func (m *Memory) Find(ctx context.Context, serviceRevisionARN string) (TestListener, error) {
	r, err := m.revision(serviceRevisionARN)
	if err != nil {
		return TestListener{}, err
	}
	if r.test == nil {
		return TestListener{}, fmt.Errorf("service revision %s: %w", serviceRevisionARN, ErrNoTestListener)
	}
	return *r.test, nil
}

// Locate is Finder.Locate.
func (m *Memory) Locate(ctx context.Context, serviceRevisionARN string) (Traffic, error) {
	r, err := m.revision(serviceRevisionARN)
	if err != nil {
		return Traffic{}, err
	}
	if r.traffic == nil {
		return Traffic{}, fmt.Errorf("service revision %s: %w", serviceRevisionARN, ErrNotBlueGreen)
	}
	return *r.traffic, nil
}
