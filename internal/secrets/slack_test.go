package secrets

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
)

// TestSlack reads the Slack app's secret as the signing keys are read:
// cached, the previous signing secret still verifying after a rotation,
// a malformed secret refused naming the field, and the old value used
// for at most MaxStale while refreshes fail.
func TestSlack(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := &secret{versions: map[string]string{"AWSCURRENT": `{"signingSecret":"one","botToken":"xoxb-1"}`}}
	sl := NewSlack(s.client(), "arn:aws:secretsmanager:us-west-2:1:secret:slack", clock)
	got, err := sl.Secrets(context.Background())
	if err != nil || got.SigningSecret != "one" || got.BotToken != "xoxb-1" || got.PreviousSigningSecret != "" {
		t.Fatalf("Secrets = %+v, %v", got, err)
	}
	calls := s.calls
	if _, err := sl.Secrets(context.Background()); err != nil || s.calls != calls {
		t.Errorf("a second read within CacheTTL asked Secrets Manager again (%d calls)", s.calls-calls)
	}

	s.set(map[string]string{"AWSCURRENT": `{"signingSecret":"two","botToken":"xoxb-2"}`, "AWSPREVIOUS": `{"signingSecret":"one","botToken":"xoxb-1"}`}, nil)
	now = now.Add(CacheTTL)
	got, err = sl.Secrets(context.Background())
	if err != nil || got.SigningSecret != "two" || got.PreviousSigningSecret != "one" || got.BotToken != "xoxb-2" {
		t.Fatalf("after a rotation: %+v, %v", got, err)
	}
	body := []byte("payload=x")
	ts := strconv.FormatInt(now.Unix(), 10)
	for _, signer := range []string{"one", "two"} {
		h := http.Header{}
		h.Set(slackapi.HeaderTimestamp, ts)
		h.Set(slackapi.HeaderSignature, slackapi.Sign(signer, ts, body))
		if err := got.Verify(h, body, now); err != nil {
			t.Errorf("a request signed with %q after the rotation: %v", signer, err)
		}
	}

	s.set(nil, errors.New("throttled"))
	now = now.Add(CacheTTL)
	if got, err := sl.Secrets(context.Background()); err != nil || got.BotToken != "xoxb-2" {
		t.Errorf("a failed refresh: %+v, %v; want the old secrets", got, err)
	}
	now = now.Add(MaxStale)
	if _, err := sl.Secrets(context.Background()); err == nil || !strings.Contains(err.Error(), "Slack app's secrets could not be refreshed") {
		t.Errorf("refreshes failing for MaxStale: %v, want an error", err)
	}

	bad := &secret{versions: map[string]string{"AWSCURRENT": `{"signingSecret":"one"}`}}
	if _, err := NewSlack(bad.client(), "arn:s", clock).Secrets(context.Background()); err == nil || !strings.Contains(err.Error(), "botToken missing") {
		t.Errorf("a secret without botToken: %v", err)
	}
	local := slackapi.Secrets{SigningSecret: "l", BotToken: "xoxb-l"}
	if got, err := SlackSource(nil, "", local)(context.Background()); err != nil || got != local {
		t.Errorf("SlackSource without an ARN = %+v, %v; want the local secrets", got, err)
	}
}
