package notify

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Memory is the in-memory twin of SNS: it keeps every message it accepts,
// in order, and refuses what SNS refuses. It is safe for concurrent use.
type Memory struct {
	mu   sync.Mutex
	msgs []Message
}

// Publish keeps m and returns its id, unique within the Memory.
func (n *Memory) Publish(ctx context.Context, m Message) (string, error) {
	if err := Validate(m); err != nil {
		return "", err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m)
	return fmt.Sprintf("memory-%d", len(n.msgs)), nil
}

// Messages returns every message so far, oldest first.
func (n *Memory) Messages() []Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.msgs)
}
