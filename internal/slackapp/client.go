package slackapp

import (
	"context"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
)

// Client is Slack's Web API with the bot token of the app's secrets as
// they now stand: a rotated token is picked up as the signing keys are.
type Client struct {
	secrets func(context.Context) (slackapi.Secrets, error)
	apiURL  string

	mu    sync.Mutex
	token string
	api   *slackapi.Client
}

// NewClient returns the Web API at apiURL ("" is Slack's) with the bot
// token secrets returns.
func NewClient(secrets func(context.Context) (slackapi.Secrets, error), apiURL string) *Client {
	return &Client{secrets: secrets, apiURL: apiURL}
}

func (c *Client) client(ctx context.Context) (*slackapi.Client, error) {
	sec, err := c.secrets(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.api == nil || c.token != sec.BotToken {
		c.api, c.token = slackapi.New(sec.BotToken, c.apiURL, nil), sec.BotToken
	}
	return c.api, nil
}

// UserByEmail is slackapi.Client.UserByEmail.
func (c *Client) UserByEmail(ctx context.Context, email string) (string, error) {
	api, err := c.client(ctx)
	if err != nil {
		return "", err
	}
	return api.UserByEmail(ctx, email)
}

// Email is slackapi.Client.Email.
func (c *Client) Email(ctx context.Context, userID string) (string, error) {
	api, err := c.client(ctx)
	if err != nil {
		return "", err
	}
	return api.Email(ctx, userID)
}

// Post is slackapi.Client.Post.
func (c *Client) Post(ctx context.Context, userID string, m slackapi.Message) (slackapi.Ref, error) {
	api, err := c.client(ctx)
	if err != nil {
		return slackapi.Ref{}, err
	}
	return api.Post(ctx, userID, m)
}

// Update is slackapi.Client.Update.
func (c *Client) Update(ctx context.Context, ref slackapi.Ref, m slackapi.Message) error {
	api, err := c.client(ctx)
	if err != nil {
		return err
	}
	return api.Update(ctx, ref, m)
}

// Ephemeral is slackapi.Client.Ephemeral.
func (c *Client) Ephemeral(ctx context.Context, channel, userID, text string) error {
	api, err := c.client(ctx)
	if err != nil {
		return err
	}
	return api.Ephemeral(ctx, channel, userID, text)
}
