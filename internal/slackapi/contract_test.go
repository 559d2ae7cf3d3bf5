package slackapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi/slackapitest"
)

// api is what Client and its twin have in common.
type api interface {
	UserByEmail(ctx context.Context, email string) (string, error)
	Email(ctx context.Context, userID string) (string, error)
	Post(ctx context.Context, userID string, m slackapi.Message) (slackapi.Ref, error)
	Update(ctx context.Context, ref slackapi.Ref, m slackapi.Message) error
	Ephemeral(ctx context.Context, channel, userID, text string) error
}

// TestContract holds the client over slack-go's test server and its
// in-memory twin to the same answers: users found by email and named by
// ID, an unknown user, one whose address Slack does not give, a message
// posted and updated in place, an update of a message that is not there.
func TestContract(t *testing.T) {
	impls := map[string]func(t *testing.T) api{
		"Web API (slacktest)": func(t *testing.T) api {
			ws := slackapitest.New(t, slackapitest.User{ID: "UALICE", Email: "alice@example.com"}, slackapitest.User{ID: "UBOT"},
				slackapitest.User{ID: "UAPP", Email: "app@example.com", Bot: true}, slackapitest.User{ID: "UGUEST", Email: "guest@partner.example", Stranger: true},
				slackapitest.User{ID: "UNEW", Email: "new@example.com", Unconfirmed: true})
			return slackapi.New("xoxb-test", ws.APIURL(), nil)
		},
		"memory": func(t *testing.T) api {
			m := &slackapi.Memory{}
			m.Add("UALICE", "alice@example.com")
			m.Add("UBOT", "")
			m.AddOther("UAPP", slackapi.ErrNotAMember)
			m.AddOther("UGUEST", slackapi.ErrNotAMember)
			m.AddOther("UNEW", slackapi.ErrNoEmail)
			return m
		},
	}
	for name, impl := range impls {
		t.Run(name, func(t *testing.T) {
			c, ctx := impl(t), context.Background()
			if id, err := c.UserByEmail(ctx, "alice@example.com"); id != "UALICE" || err != nil {
				t.Errorf("UserByEmail(alice) = %q, %v", id, err)
			}
			if _, err := c.UserByEmail(ctx, "mallory@example.com"); !errors.Is(err, slackapi.ErrUnknownUser) {
				t.Errorf("UserByEmail(mallory) = %v, want ErrUnknownUser", err)
			}
			if e, err := c.Email(ctx, "UALICE"); e != "alice@example.com" || err != nil {
				t.Errorf("Email(UALICE) = %q, %v", e, err)
			}
			if _, err := c.Email(ctx, "UBOT"); !errors.Is(err, slackapi.ErrNoEmail) {
				t.Errorf("Email(UBOT) = %v, want ErrNoEmail", err)
			}
			for id, want := range map[string]error{"UAPP": slackapi.ErrNotAMember, "UGUEST": slackapi.ErrNotAMember, "UNEW": slackapi.ErrNoEmail} {
				if _, err := c.Email(ctx, id); !errors.Is(err, want) {
					t.Errorf("Email(%s) = %v, want %v", id, err, want)
				}
			}
			if _, err := c.Email(ctx, "UNOBODY"); !errors.Is(err, slackapi.ErrUnknownUser) {
				t.Errorf("Email(UNOBODY) = %v, want ErrUnknownUser", err)
			}
			msg := slackapi.Message{Text: "Approve deploy of orders?", Blocks: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*orders*", false, false), nil, nil)}}
			ref, err := c.Post(ctx, "UALICE", msg)
			if err != nil || ref.Channel == "" || ref.TS == "" {
				t.Fatalf("Post = %+v, %v", ref, err)
			}
			if err := c.Update(ctx, ref, slackapi.Message{Text: "approved"}); err != nil {
				t.Errorf("Update = %v", err)
			}
			if err := c.Update(ctx, slackapi.Ref{Channel: ref.Channel, TS: "1.0"}, msg); err == nil || hook.IsTransient(err) {
				t.Errorf("Update of a message that is not there = %v, want a permanent error", err)
			}
			if err := c.Ephemeral(ctx, ref.Channel, "UALICE", "recorded"); err != nil {
				t.Errorf("Ephemeral = %v", err)
			}
		})
	}
}

// TestErrors: Slack's rate limit, its 5xx and the network are worth
// retrying; an "ok": false answer is not, and says Slack's code.
func TestErrors(t *testing.T) {
	ws := slackapitest.New(t, slackapitest.User{ID: "UALICE", Email: "alice@example.com"})
	c := slackapi.New("xoxb-test", ws.APIURL(), nil)
	ctx := context.Background()
	ws.Fail("chat.postMessage", slackapitest.Failure{Status: http.StatusTooManyRequests, RetryAfter: 3})
	if _, err := c.Post(ctx, "UALICE", slackapi.Message{Text: "x"}); !hook.IsTransient(err) || !strings.Contains(err.Error(), "retry after 3s") {
		t.Errorf("rate limited: %v, want transient, retry after 3s", err)
	}
	ws.Fail("chat.postMessage", slackapitest.Failure{Status: http.StatusServiceUnavailable})
	if _, err := c.Post(ctx, "UALICE", slackapi.Message{Text: "x"}); !hook.IsTransient(err) {
		t.Errorf("503: %v, want transient", err)
	}
	ws.Fail("chat.postMessage", slackapitest.Failure{Error: "invalid_auth"})
	if _, err := c.Post(ctx, "UALICE", slackapi.Message{Text: "x"}); err == nil || hook.IsTransient(err) || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("ok: false: %v, want permanent, naming invalid_auth", err)
	}
	if _, err := slackapi.New("xoxb-test", "http://127.0.0.1:1/", nil).UserByEmail(ctx, "alice@example.com"); !hook.IsTransient(err) {
		t.Errorf("nobody listening: %v, want transient", err)
	}
	if got := len(ws.Messages()); got != 0 {
		t.Errorf("%d messages posted by failed calls", got)
	}
}
