package ecsdeploy

import (
	"context"
	"fmt"
	"sync"
)

// Memory is the in-memory twin of Reader: deployments as ECS would
// describe them, kept by ARN. It is safe for concurrent use.
type Memory struct {
	mu          sync.Mutex
	deployments map[string]Deployment
}

// Put adds d, or replaces the deployment with d's ARN.
func (m *Memory) Put(d Deployment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deployments == nil {
		m.deployments = map[string]Deployment{}
	}
	m.deployments[d.ARN] = d
}

// Status returns the deployment's status, or ErrNotFound.
func (m *Memory) Status(ctx context.Context, deploymentARN string) (string, error) {
	d, err := m.Describe(ctx, deploymentARN)
	return d.Status, err
}

// Describe returns the deployment, or ErrNotFound.
func (m *Memory) Describe(ctx context.Context, deploymentARN string) (Deployment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.deployments[deploymentARN]
	if !ok {
		return Deployment{}, fmt.Errorf("describe service deployment: %w", ErrNotFound)
	}
	return d, nil
}
