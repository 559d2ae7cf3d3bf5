package cloudtrail

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Reader finds who started deployments in CloudTrail (Starters).
type Reader struct{ api API }

// New returns a Reader using a *cloudtrail.Client.
func New(api API) *Reader { return &Reader{api: api} }

// Starters is Starters with r's client.
func (r *Reader) Starters(ctx context.Context, s Service, at time.Time, within time.Duration) ([]Starter, error) {
	return Starters(ctx, r.api, s, at, within)
}

// Memory is the in-memory twin of Reader: the calls that started
// deployments, as CloudTrail would have recorded them. It is safe for
// concurrent use.
type Memory struct {
	mu    sync.Mutex
	calls []recorded
}

type recorded struct {
	service Service
	starter Starter
}

// Record adds a call that started a deployment of s.
func (m *Memory) Record(s Service, st Starter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, recorded{s, st})
}

// Starters returns the recorded calls for s (its cluster, and its name or
// ARN) in [at-within, at+Slack], oldest first, as Reader.Starters does.
func (m *Memory) Starters(ctx context.Context, s Service, at time.Time, within time.Duration) ([]Starter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Starter
	for _, c := range m.calls {
		same := c.service.Cluster == s.Cluster && (c.service.Name == s.Name || c.service.ARN != "" && c.service.ARN == s.ARN)
		if same && !c.starter.At.Before(at.Add(-within)) && !c.starter.At.After(at.Add(Slack)) {
			out = append(out, c.starter)
		}
	}
	slices.SortFunc(out, func(a, b Starter) int { return a.At.Compare(b.At) })
	return out, nil
}
