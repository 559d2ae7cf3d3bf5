package secrets

import (
	"context"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// Memory is the in-memory twin of Keyring: a secret's current and previous
// keys, rotated in memory as Secrets Manager rotates the secret. It is safe
// for concurrent use.
type Memory struct {
	mu   sync.Mutex
	ring token.Keyring
}

// NewMemory returns a Memory whose current key is secret (the secret's text,
// as token.ParseSecret reads it).
func NewMemory(secret string) (*Memory, error) {
	k, err := token.ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	return &Memory{ring: token.Keyring{Current: k}}, nil
}

// Rotate makes secret the current key and the current key the previous
// one, as a rotation moves AWSCURRENT to AWSPREVIOUS.
func (m *Memory) Rotate(secret string) error {
	k, err := token.ParseSecret(secret)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ring = token.Keyring{Current: k, Previous: []token.Key{m.ring.Current}}
	return nil
}

// Keys returns the current and previous keys.
func (m *Memory) Keys(context.Context) (token.Keyring, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ring, nil
}
