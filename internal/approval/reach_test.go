package approval

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type subscriptionsFunc func(context.Context) ([]Subscriber, error)

func (f subscriptionsFunc) Subscribers(ctx context.Context) ([]Subscriber, error) { return f(ctx) }

// TestExpiryApprovesOnlyWhenEveryoneWasReachable: with onExpiry approve,
// expiry passes only when each approver had a confirmed subscription of
// their own when the request opened; otherwise it rejects, saying why, in
// the audit trail, the messages and the verdict.
func TestExpiryApprovesOnlyWhenEveryoneWasReachable(t *testing.T) {
	alice, bob := "alice@example.com", "bob@example.com"
	own := func(a string, confirmed bool) Subscriber {
		return Subscriber{Endpoint: a, Confirmed: confirmed, Filtered: true, Approvers: []string{a}}
	}
	tests := []struct {
		name      string
		approvers []string
		subs      Subscriptions
		pass      bool
		why       string
	}{
		{"every approver subscribed", []string{alice, bob}, subscribed{alice, bob}, true, ""},
		{"a shared link", nil, subscribed{}, false, "a shared link is sent to no one in particular"},
		{"bob never confirmed", []string{alice, bob}, subscriptionsFunc(func(context.Context) ([]Subscriber, error) {
			return []Subscriber{own(alice, true), own(bob, false)}, nil
		}), false, "bob@example.com: their subscription is not confirmed"},
		{"bob only behind an unfiltered subscription", []string{alice, bob}, subscriptionsFunc(func(context.Context) ([]Subscriber, error) {
			return []Subscriber{own(alice, true), {Endpoint: "team@example.com", Confirmed: true}}, nil
		}), false, "bob@example.com: no subscription filtered to their address"},
		{"bob shares a subscription", []string{alice, bob}, subscriptionsFunc(func(context.Context) ([]Subscriber, error) {
			return []Subscriber{own(alice, true), {Endpoint: "bob@example.com", Confirmed: true, Filtered: true, Approvers: []string{alice, bob}}}, nil
		}), false, "bob@example.com: no subscription filtered to their address"},
		{"bob's filter differs in case: SNS matches exactly", []string{alice, bob}, subscriptionsFunc(func(context.Context) ([]Subscriber, error) {
			return []Subscriber{own(alice, true), {Endpoint: bob, Confirmed: true, Filtered: true, Approvers: []string{"Bob@Example.com"}}}, nil
		}), false, "bob@example.com: no subscription filtered to their address"},
		{"bob's filter delivers to someone else", []string{alice, bob}, subscriptionsFunc(func(context.Context) ([]Subscriber, error) {
			return []Subscriber{own(alice, true), {Endpoint: "mallory@example.net", Confirmed: true, Filtered: true, Approvers: []string{bob}}}, nil
		}), false, "bob@example.com: no subscription filtered to their address"},
		{"subscriptions unreadable", []string{alice, bob}, subscriptionsFunc(func(context.Context) ([]Subscriber, error) {
			return nil, errors.New("AuthorizationError: not authorized to perform SNS:ListSubscriptionsByTopic")
		}), false, "the review topic's subscriptions could not be read: AuthorizationError"},
		{"no way to tell", []string{alice, bob}, nil, false, "this approval hook cannot read the review topic's subscriptions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.approvers, 1)
			f.gate.Subscriptions = tt.subs
			f.poll.Settings.OnExpiry = Approve
			f.mustPoll(t, Pending)
			r, _ := f.load(t)
			if r.Reach == nil || r.Reach.ok() != tt.pass || !strings.Contains(r.Reach.why(), tt.why) {
				t.Errorf("reach = %+v, want ok %v saying %q", r.Reach, tt.pass, tt.why)
			}
			if !tt.pass && !strings.Contains(r.History[len(r.History)-1].Detail+r.History[1].Detail, "expiry will reject") {
				t.Errorf("audit trail does not say expiry will reject: %+v", r.History)
			}
			if msgs := f.n.sent(); len(msgs) > 0 && !tt.pass && !strings.Contains(msgs[0].Body, "expiry approves only when every approver is reachable") {
				t.Errorf("the review message does not say why expiry rejects:\n%s", msgs[0].Body)
			}
			f.clock.Add(5 * time.Hour)
			v, err := f.gate.Poll(context.Background(), f.poll)
			if err != nil || v.Outcome != Expired || v.Pass != tt.pass {
				t.Fatalf("after expiry: %+v, %v; want pass %v", v, err, tt.pass)
			}
			if !tt.pass && !strings.Contains(v.Reason, "rejected, not approved by default") {
				t.Errorf("reason %q", v.Reason)
			}
		})
	}
}

// channelFunc is a Channel.
type channelFunc func(approvers []string) (map[string]string, error)

func (f channelFunc) Unreachable(_ context.Context, approvers []string) (map[string]string, error) {
	return f(approvers)
}

// TestReachIsPerChannel: an approver is reachable when any channel
// reaches them; a channel that cannot tell reaches nobody, and says so.
func TestReachIsPerChannel(t *testing.T) {
	alice, bob := "alice@example.com", "bob@example.com"
	onlyAlice := subscriptionsFunc(func(context.Context) ([]Subscriber, error) {
		return []Subscriber{{Endpoint: alice, Confirmed: true, Filtered: true, Approvers: []string{alice}}}, nil
	})
	chatBob := channelFunc(func([]string) (map[string]string, error) { return map[string]string{alice: "not in the chat"}, nil })
	chatDown := channelFunc(func([]string) (map[string]string, error) { return nil, errors.New("chat: cannot list members") })
	tests := []struct {
		name     string
		subs     Subscriptions
		channels []Channel
		pass     bool
		why      string
	}{
		{"bob by chat, alice by email", onlyAlice, []Channel{chatBob}, true, ""},
		{"bob by neither", onlyAlice, []Channel{chatDown}, false, "bob@example.com: no subscription filtered to their address; chat: cannot list members"},
		{"only a chat that cannot tell", nil, []Channel{chatDown}, false, "chat: cannot list members"},
		{"a chat alone reaching everyone", nil, []Channel{channelFunc(func([]string) (map[string]string, error) { return nil, nil })}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []string{alice, bob}, 1)
			f.gate.Subscriptions, f.gate.Channels = tt.subs, tt.channels
			f.poll.Settings.OnExpiry = Approve
			f.mustPoll(t, Pending)
			r, _ := f.load(t)
			if r.Reach == nil || r.Reach.ok() != tt.pass || !strings.Contains(r.Reach.why(), tt.why) {
				t.Errorf("reach = %+v (%s), want ok %v and %q", r.Reach, r.Reach.why(), tt.pass, tt.why)
			}
		})
	}
}
