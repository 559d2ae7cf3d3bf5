package approvalhook

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
)

// SubscriptionsTTL is how long the review topic's subscriptions, once
// read, answer for every request a function instance opens.
const SubscriptionsTTL = 5 * time.Minute

// TopicSubscriptions reads the review topic's subscriptions for the gate,
// cached for SubscriptionsTTL.
type TopicSubscriptions struct {
	API   notify.SubscriptionsAPI
	Topic string
	Now   func() time.Time

	mu     sync.Mutex
	cached []approval.Subscriber
	at     time.Time
}

// Subscribers implements approval.Subscriptions.
func (s *TopicSubscriptions) Subscribers(ctx context.Context) ([]approval.Subscriber, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	if !s.at.IsZero() && now.Sub(s.at) < SubscriptionsTTL {
		return s.cached, nil
	}
	subs, err := notify.Subscribers(ctx, s.API, s.Topic)
	if err != nil {
		return nil, err
	}
	out := make([]approval.Subscriber, 0, len(subs))
	for _, x := range subs {
		out = append(out, approval.Subscriber{Endpoint: x.Endpoint, Confirmed: x.Confirmed, Filtered: x.Filtered, Approvers: x.Approvers})
	}
	s.cached, s.at = out, now
	return out, nil
}

// Subscribed are subscriptions known without asking: one confirmed
// subscription of each address, filtered to it (local mode's outbox
// delivers to everyone it is given).
type Subscribed []string

// Subscribers implements approval.Subscriptions.
func (s Subscribed) Subscribers(context.Context) ([]approval.Subscriber, error) {
	out := make([]approval.Subscriber, 0, len(s))
	for _, a := range s {
		out = append(out, approval.Subscriber{Endpoint: a, Confirmed: true, Filtered: true, Approvers: []string{a}})
	}
	return out, nil
}
