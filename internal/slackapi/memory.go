package slackapi

import (
	"context"
	"fmt"
	"sync"
)

// Memory is the in-memory twin of Client: a directory of users by email
// (Add), the messages posted and updated, the ephemeral answers. It is safe
// for concurrent use.
type Memory struct {
	mu         sync.Mutex
	emails     map[string]string // user ID -> email ("" when Slack gives none)
	others     map[string]error  // user ID -> why Slack vouches for no address
	posted     map[Ref]Message
	order      []Ref
	ephemerals []string
}

// Add puts a user in the directory: email "" is one whose address Slack
// does not give.
func (m *Memory) Add(userID, email string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.emails == nil {
		m.emails = map[string]string{}
	}
	m.emails[userID] = email
}

// AddOther puts a user whose email address Slack does not vouch for in
// the directory: why is ErrNotAMember (a bot, a guest of another
// organization) or ErrNoEmail (an address never confirmed).
func (m *Memory) AddOther(userID string, why error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.others == nil {
		m.others = map[string]error{}
	}
	m.others[userID] = why
}

// UserByEmail is Client.UserByEmail.
func (m *Memory) UserByEmail(ctx context.Context, email string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, e := range m.emails {
		if e != "" && e == email {
			return id, nil
		}
	}
	return "", fmt.Errorf("users.lookupByEmail: %w", ErrUnknownUser)
}

// Email is Client.Email.
func (m *Memory) Email(ctx context.Context, userID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if why, ok := m.others[userID]; ok {
		return "", fmt.Errorf("users.info: %w", why)
	}
	e, ok := m.emails[userID]
	switch {
	case !ok:
		return "", fmt.Errorf("users.info: %w", ErrUnknownUser)
	case e == "":
		return "", fmt.Errorf("users.info: %w", ErrNoEmail)
	}
	return e, nil
}

// Post is Client.Post.
func (m *Memory) Post(ctx context.Context, userID string, msg Message) (Ref, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.emails[userID]; !ok {
		return Ref{}, fmt.Errorf("conversations.open: Slack answered user_not_found")
	}
	if m.posted == nil {
		m.posted = map[Ref]Message{}
	}
	ref := Ref{Channel: "D" + userID, TS: fmt.Sprintf("1765000000.%06d", len(m.order)+1)}
	m.posted[ref] = msg
	m.order = append(m.order, ref)
	return ref, nil
}

// Update is Client.Update.
func (m *Memory) Update(ctx context.Context, ref Ref, msg Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.posted[ref]; !ok {
		return fmt.Errorf("chat.update: Slack answered message_not_found")
	}
	m.posted[ref] = msg
	return nil
}

// Ephemeral is Client.Ephemeral.
func (m *Memory) Ephemeral(ctx context.Context, channel, userID, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ephemerals = append(m.ephemerals, text)
	return nil
}

// Posted returns the messages, in the order posted, as they now stand.
func (m *Memory) Posted() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Message, 0, len(m.order))
	for _, r := range m.order {
		out = append(out, m.posted[r])
	}
	return out
}
