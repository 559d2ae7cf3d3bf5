package approval

// Reach: silence from someone never asked is no consent. Expiry approves
// only when every approver could really be reached.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Subscriber is one subscription of the review topic.
type Subscriber struct {
	// Endpoint is where it delivers.
	Endpoint string
	// Confirmed reports whether it was confirmed; Filtered whether it
	// filters on the approver attribute, and Approvers are the addresses
	// its filter lets through.
	Confirmed, Filtered bool
	Approvers           []string
}

// Subscriptions reads the review topic's subscriptions.
type Subscriptions interface {
	Subscribers(ctx context.Context) ([]Subscriber, error)
}

// Reach records whether every approver could be reached, checked when a
// request whose expiry approves opens.
type Reach struct {
	CheckedAt time.Time `json:"checkedAt"`
	// Unreachable says, per approver, why they cannot be reached.
	Unreachable map[string]string `json:"unreachable,omitempty"`
	// Error says why it could not be checked.
	Error string `json:"error,omitempty"`
}

// ok reports whether every approver was found reachable.
func (c *Reach) ok() bool { return c != nil && c.Error == "" && len(c.Unreachable) == 0 }

// why says, in one line, why not every approver is reachable.
func (c *Reach) why() string {
	switch {
	case c == nil:
		return "whether every approver is reachable was never checked"
	case c.Error != "":
		return c.Error
	}
	var parts []string
	for _, a := range slices.Sorted(maps.Keys(c.Unreachable)) {
		parts = append(parts, a+": "+c.Unreachable[a])
	}
	return "not every approver is reachable (" + strings.Join(parts, "; ") + ")"
}

// Channel is a way approvers are asked: email through the review topic,
// and the channels to come. Each says whom it reaches, so that expiry
// approves only when every approver was really asked, whatever the
// channels.
type Channel interface {
	// Unreachable returns, for each approver the channel cannot reach,
	// why; an error when it cannot tell.
	Unreachable(ctx context.Context, approvers []string) (map[string]string, error)
}

// EmailChannel is email through the review topic: it reaches an approver
// with a confirmed subscription of their own, filtered to their address
// alone.
type EmailChannel struct{ Subscriptions Subscriptions }

// Unreachable implements Channel.
func (e EmailChannel) Unreachable(ctx context.Context, approvers []string) (map[string]string, error) {
	subs, err := e.Subscriptions.Subscribers(ctx)
	if err != nil {
		return nil, fmt.Errorf("the review topic's subscriptions could not be read: %s", oneLine(err.Error()))
	}
	out := map[string]string{}
	for _, a := range approvers {
		// SNS matches filters exactly, and the messages carry the address
		// as the request has it: the filter must be exactly that, and the
		// subscription deliver to that address.
		own := func(s Subscriber) bool {
			return s.Filtered && len(s.Approvers) == 1 && s.Approvers[0] == a && strings.EqualFold(s.Endpoint, a)
		}
		switch {
		case slices.ContainsFunc(subs, func(s Subscriber) bool { return own(s) && s.Confirmed }):
		case slices.ContainsFunc(subs, own):
			out[a] = "their subscription is not confirmed"
		default:
			out[a] = "no subscription filtered to their address"
		}
	}
	return out, nil
}

// channels are the gate's ways of asking approvers that can tell whom they
// reach before asking: Channels, and email when the review topic's
// subscriptions can be read. A chat reaches whom it really messaged
// (reachedAll), which is known only once its messages went out.
func (g *Gate) channels() []Channel {
	out := slices.Clone(g.Channels)
	if g.Subscriptions != nil {
		out = append(out, EmailChannel{Subscriptions: g.Subscriptions})
	}
	return out
}

// reach checks that each approver of r is reached by at least one channel:
// for email, a confirmed subscription of their own. A channel that cannot
// tell reaches nobody.
func (g *Gate) reach(ctx context.Context, r *Request) *Reach {
	c := &Reach{CheckedAt: g.Now()}
	channels := g.channels()
	switch {
	case r.Shared():
		c.Error = "a shared link is sent to no one in particular"
		return c
	case len(channels) == 0:
		c.Error = "this approval hook cannot read the review topic's subscriptions"
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	why := map[string][]string{}
	reached := map[string]bool{}
	var errs []string
	for _, ch := range channels {
		unreachable, err := ch.Unreachable(ctx, r.Approvers)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, a := range r.Approvers {
			if reason, ok := unreachable[a]; ok {
				why[a] = append(why[a], reason)
			} else {
				reached[a] = true
			}
		}
	}
	if len(errs) == len(channels) {
		c.Error = strings.Join(errs, "; ")
		return c
	}
	for _, a := range r.Approvers {
		if !reached[a] {
			c.set(a, strings.Join(append(why[a], errs...), "; "))
		}
	}
	return c
}

func (c *Reach) set(approver, why string) {
	if c.Unreachable == nil {
		c.Unreachable = map[string]string{}
	}
	c.Unreachable[approver] = why
}

// summary says what was found, for the audit trail.
func (c *Reach) summary() string {
	if c.ok() {
		return "every approver has a confirmed subscription of their own: expiry may approve"
	}
	return fmt.Sprintf("%s: expiry will reject, unless a chat message reaches each of them", c.why())
}
