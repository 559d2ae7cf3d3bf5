// Package slackapp is gatehouse's Slack app: the approval chat over
// Slack's Web API (Chat: a direct message per approver, rewritten in
// place), the messages it draws (Message), and the endpoint Slack posts
// button clicks to (Interactions), which votes as the Slack user who
// clicked through the approval service.
package slackapp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
)

// API is what the app asks of Slack: *slackapi.Client, or its twin.
type API interface {
	UserByEmail(ctx context.Context, email string) (string, error)
	Email(ctx context.Context, userID string) (string, error)
	Post(ctx context.Context, userID string, m slackapi.Message) (slackapi.Ref, error)
	Update(ctx context.Context, ref slackapi.Ref, m slackapi.Message) error
	Ephemeral(ctx context.Context, channel, userID, text string) error
}

// Chat is the approval gate's chat (approval.Chat) in Slack: each
// approver whose email address Slack knows gets a direct message from the
// app.
type Chat struct {
	API API

	mu  sync.Mutex
	ids map[string]string // approver address -> Slack user ID
}

// user returns the Slack user ID of approver, asking Slack once per
// process: the account its address finds, if Slack vouches for it as the
// approver's.
func (c *Chat) user(ctx context.Context, approver string) (string, error) {
	key := strings.ToLower(approver)
	c.mu.Lock()
	id, ok := c.ids[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	id, err := c.API.UserByEmail(ctx, approver)
	if err != nil {
		return "", err
	}
	// Asked only as Slack would let them vote (as a click is checked): a
	// person of the workspace whose confirmed address is the approver's.
	// A message to anyone else must not count as reaching the approver.
	email, err := c.API.Email(ctx, id)
	switch {
	case errors.Is(err, slackapi.ErrNotAMember), errors.Is(err, slackapi.ErrNoEmail):
		return "", fmt.Errorf("%w: %w", slackapi.ErrUnknownUser, err)
	case err != nil:
		return "", err
	case !strings.EqualFold(email, approver):
		return "", fmt.Errorf("%w: Slack's confirmed address for the account is another", slackapi.ErrUnknownUser)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[string]string{}
	}
	c.ids[key] = id
	return id, nil
}

// Post implements approval.Chat.
func (c *Chat) Post(ctx context.Context, r *approval.Request, a, link string) (approval.ChatRef, error) {
	id, err := c.user(ctx, a)
	if errors.Is(err, slackapi.ErrUnknownUser) {
		return approval.ChatRef{}, fmt.Errorf("%w: %w", approval.ErrNotInChat, err)
	}
	if err != nil {
		return approval.ChatRef{}, err
	}
	ref, err := c.API.Post(ctx, id, Message(keyOf(r), r, a, link))
	return approval.ChatRef{Channel: ref.Channel, TS: ref.TS}, err
}

// Show implements approval.Chat.
func (c *Chat) Show(ctx context.Context, r *approval.Request, a, link string, ref approval.ChatRef) error {
	return c.API.Update(ctx, slackapi.Ref{Channel: ref.Channel, TS: ref.TS}, Message(keyOf(r), r, a, link))
}

// keyOf is the state-bucket key of r.
func keyOf(r *approval.Request) string {
	d, err := hook.ParseDeploymentARN(r.DeploymentARN)
	if err != nil {
		return ""
	}
	return approval.GateKey(d, r.Stage, r.Gate)
}
