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
// cached, a malformed secret refused naming the field, and the old value
// used for at most MaxStale while refreshes fail; after a rotation only
// the new signing secret verifies (the old one may have leaked).
func TestSlack(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := &secret{versions: map[string]string{"AWSCURRENT": `{"signingSecret":"one","botToken":"xoxb-1"}`}}
	sl := NewSlack(s.client(), "arn:aws:secretsmanager:us-west-2:1:secret:slack", clock)
	got, err := sl.Secrets(context.Background())
	if err != nil || got.SigningSecret != "one" || got.BotToken != "xoxb-1" {
		t.Fatalf("Secrets = %+v, %v", got, err)
	}
	calls := s.calls
	if _, err := sl.Secrets(context.Background()); err != nil || s.calls != calls {
		t.Errorf("a second read within CacheTTL asked Secrets Manager again (%d calls)", s.calls-calls)
	}

	s.set(map[string]string{"AWSCURRENT": `{"signingSecret":"two","botToken":"xoxb-2"}`, "AWSPREVIOUS": `{"signingSecret":"one","botToken":"xoxb-1"}`}, nil)
	now = now.Add(CacheTTL)
	got, err = sl.Secrets(context.Background())
	if err != nil || got.SigningSecret != "two" || got.BotToken != "xoxb-2" {
		t.Fatalf("after a rotation: %+v, %v", got, err)
	}
	body := []byte("payload=x")
	ts := strconv.FormatInt(now.Unix(), 10)
	for signer, ok := range map[string]bool{"one": false, "two": true} {
		h := http.Header{}
		h.Set(slackapi.HeaderTimestamp, ts)
		h.Set(slackapi.HeaderSignature, slackapi.Sign(signer, ts, body))
		if err := got.Verify(h, body, now); (err == nil) != ok {
			t.Errorf("a request signed with %q after the rotation: %v, want verified: %v", signer, err, ok)
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
	get, refresh := SlackSource(nil, "", local)
	if got, err := get(context.Background()); err != nil || got != local || refresh != nil {
		t.Errorf("SlackSource without an ARN = %+v, %v (refresh %v); want the local secrets, nothing to refresh", got, err, refresh != nil)
	}

	// Slack's signing secret regenerated and the secret updated: a click
	// signed with the new one is verified after a refresh, which reads at
	// most once in RefreshAfter.
	s.set(map[string]string{"AWSCURRENT": `{"signingSecret":"three","botToken":"xoxb-3"}`, "AWSPREVIOUS": `not json`}, nil)
	fresh := NewSlack(s.client(), "arn:s", clock)
	if _, err := fresh.Secrets(context.Background()); err != nil {
		t.Fatalf("a previous version that never worked stops the current one: %v", err)
	}
	s.set(map[string]string{"AWSCURRENT": `{"signingSecret":"four","botToken":"xoxb-4"}`}, nil)
	calls = s.calls
	if got, _ := fresh.Refresh(context.Background()); got.SigningSecret != "three" || s.calls != calls {
		t.Errorf("a refresh right after a read = %q, %d calls; want the cached secret, no call", got.SigningSecret, s.calls-calls)
	}
	now = now.Add(RefreshAfter)
	if got, err := fresh.Refresh(context.Background()); err != nil || got.SigningSecret != "four" {
		t.Errorf("a refresh after %s = %q, %v; want the new secret", RefreshAfter, got.SigningSecret, err)
	}
}
