// Package slackapi is the suite's one adapter for Slack's Web API, over
// slack-go: it finds a user by email, opens the direct message with them,
// posts and updates messages, names the user who clicked, and answers
// them in place. It knows Slack, not approvals; Memory is its twin.
//
// Errors are classified as the suite's hooks classify AWS's: Slack's rate
// limit (429, with Retry-After), its 5xx and the network are transient
// (hook.Transient), and the next poll or sweep tries again; an "ok": false
// answer names Slack's error code (invalid_auth, channel_not_found, ...)
// and is not.
package slackapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/slack-go/slack"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// ErrUnknownUser: Slack knows no user by that email address, or that ID.
var ErrUnknownUser = errors.New("no such user in Slack")

// ErrNoEmail: Slack did not give the user's email address (the app lacks
// users:read.email, or the user has none), or the address is not one the
// user confirmed.
var ErrNoEmail = errors.New("no confirmed email address given by Slack for the user")

// ErrNotAMember: the user is no person of the workspace: a bot or an app,
// or a member of another organization (Slack Connect), whose address the
// workspace does not vouch for.
var ErrNotAMember = errors.New("not a person of this Slack workspace")

// Message is a message's content: Text is what notifications and screen
// readers show, Blocks the Block Kit layout.
type Message struct {
	Text   string
	Blocks []slack.Block
}

// Ref names a posted message: its conversation and timestamp, as
// chat.update takes them.
type Ref struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Client calls Slack's Web API with a bot token.
type Client struct{ api *slack.Client }

// New returns a Client for the bot token, against apiURL ("" is Slack's
// own), with hc (nil: a client with a 10-second timeout).
func New(token, apiURL string, hc *http.Client) *Client {
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{api: slack.New(token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(hc))}
}

// UserByEmail returns the ID of the user whose email address is email
// (users.lookupByEmail), or an error wrapping ErrUnknownUser.
func (c *Client) UserByEmail(ctx context.Context, email string) (string, error) {
	u, err := c.api.GetUserByEmailContext(ctx, email)
	if err != nil {
		return "", classify("users.lookupByEmail", err)
	}
	if u.Deleted {
		return "", fmt.Errorf("users.lookupByEmail: %w (deactivated)", ErrUnknownUser)
	}
	return u.ID, nil
}

// Email returns the confirmed email address of the person userID
// (users.info): an error wrapping ErrUnknownUser, ErrNotAMember or
// ErrNoEmail when Slack does not vouch for one.
func (c *Client) Email(ctx context.Context, userID string) (string, error) {
	u, err := c.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return "", classify("users.info", err)
	}
	switch {
	case u.Deleted:
		return "", fmt.Errorf("users.info: %w (deactivated)", ErrUnknownUser)
	case u.IsBot || u.IsAppUser || u.IsWorkflowBot || u.IsConnectorBot || u.IsStranger:
		return "", fmt.Errorf("users.info: %w", ErrNotAMember)
	case u.Profile.Email == "" || !u.IsEmailConfirmed:
		return "", fmt.Errorf("users.info: %w", ErrNoEmail)
	}
	return u.Profile.Email, nil
}

// Post sends m to the user userID as a direct message from the app
// (conversations.open, then chat.postMessage), and returns where it is.
func (c *Client) Post(ctx context.Context, userID string, m Message) (Ref, error) {
	ch, _, _, err := c.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{userID}, ReturnIM: true})
	if err != nil {
		return Ref{}, classify("conversations.open", err)
	}
	channel, ts, err := c.api.PostMessageContext(ctx, ch.ID, options(m)...)
	if err != nil {
		return Ref{}, classify("chat.postMessage", err)
	}
	return Ref{Channel: channel, TS: ts}, nil
}

// Update replaces the message at ref with m (chat.update).
func (c *Client) Update(ctx context.Context, ref Ref, m Message) error {
	if _, _, _, err := c.api.UpdateMessageContext(ctx, ref.Channel, ref.TS, options(m)...); err != nil {
		return classify("chat.update", err)
	}
	return nil
}

// Ephemeral shows text to the user userID alone, in channel
// (chat.postEphemeral).
func (c *Client) Ephemeral(ctx context.Context, channel, userID, text string) error {
	if _, err := c.api.PostEphemeralContext(ctx, channel, userID, slack.MsgOptionText(text, false)); err != nil {
		return classify("chat.postEphemeral", err)
	}
	return nil
}

func options(m Message) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	if m.Blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	return opts
}

// classify names the method and marks what is worth retrying.
func classify(method string, err error) error {
	var rate *slack.RateLimitedError
	var status slack.StatusCodeError
	var slackErr slack.SlackErrorResponse
	switch {
	case errors.As(err, &rate):
		return hook.Transient(fmt.Errorf("%s: rate limited, retry after %s: %w", method, rate.RetryAfter, err))
	case errors.As(err, &status) && (status.Code >= 500 || status.Code == http.StatusTooManyRequests):
		return hook.Transient(fmt.Errorf("%s: %w", method, err))
	case errors.As(err, &slackErr) && (slackErr.Err == "users_not_found" || slackErr.Err == "user_not_found"):
		return fmt.Errorf("%s: %w", method, ErrUnknownUser)
	case errors.As(err, &slackErr):
		// "ok": false: the call was understood and refused.
		return fmt.Errorf("%s: Slack answered %s", method, slackErr.Err)
	case errors.As(err, &status):
		return fmt.Errorf("%s: %w", method, err)
	case errors.Is(err, context.Canceled):
		return err
	}
	// The network, a timeout, an answer that is not Slack's JSON.
	return hook.Transient(fmt.Errorf("%s: %w", method, err))
}
