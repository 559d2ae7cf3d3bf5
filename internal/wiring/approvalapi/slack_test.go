package approvalapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi/slackapitest"
	"github.com/gatehouse-dev/gatehouse/internal/slackapp"
	"github.com/gatehouse-dev/gatehouse/internal/token"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalhook"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/wiringtest"
)

// TestSlackApprovesPauseMode: the approval hook and the review API as
// composed for Lambda, with Slack. The hook's PAUSE event sends alice a
// Slack message with the email; her signed click on Approve, posted to the
// review API's /slack/interactions, records her vote, continues the
// deployment in ECS once, and leaves her message with the outcome.
func TestSlackApprovesPauseMode(t *testing.T) {
	srv := awstest.NewS3(t)
	ws := slackapitest.New(t, slackapitest.User{ID: "UALICE", Email: "alice@example.com"}, slackapitest.User{ID: "UBOB", Email: "bob@example.com"})
	slack := &config.Slack{Local: slackapi.Secrets{SigningSecret: "local-signing", BotToken: "xoxb-local"}, APIURL: ws.APIURL()}
	k, err := token.NewKey([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	keys := token.Keyring{Current: k}
	ecs, sns := &wiringtest.OnePause{}, &wiringtest.Published{}
	log := slog.New(slog.DiscardHandler)
	const topic = "arn:aws:sns:us-west-2:123456789012:reviews"

	hookEnv := config.ApprovalHook{Bucket: srv.Bucket, TopicARN: topic, ReviewURL: "https://review.example.com/", Defaults: approval.DefaultSettings(), Slack: slack}
	hookEnv.Defaults.Approvers = []string{"alice@example.com", "bob@example.com"}
	hookEnv.Defaults.RequiredApprovals = 2
	fn := approvalhook.New(hookEnv, approvalparts.Clients{S3: srv.Client(), Notifier: sns, Pauses: ecs, Keys: keys,
		Slack: approvalparts.SlackOf(slack, nil), Now: time.Now, Log: log})
	const dep = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/slack1"
	ev, _ := json.Marshal(map[string]any{"source": "aws.ecs", "detail-type": "ECS Hook State Change", "resources": []string{dep},
		"detail": map[string]any{"eventName": hook.HookAwaitingAction, "hookType": "PAUSE", "hookId": "hook-1", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "serviceDeploymentArn": dep}})
	if _, err := fn(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	msgs := ws.Messages()
	if len(msgs) != 2 || len(sns.Messages()) != 2 {
		t.Fatalf("%d Slack messages and %d emails, want two of each", len(msgs), len(sns.Messages()))
	}

	// As the suite deploys it, the review API knows no review URL (its own
	// Function URL): the links it rewrites use the request's.
	api := httptest.NewServer(New(config.ApprovalAPI{Bucket: srv.Bucket, TopicARN: topic, Slack: slack},
		approvalparts.Clients{S3: srv.Client(), Keys: keys, Pauses: ecs, Notifier: sns, Slack: approvalparts.SlackOf(slack, nil), Now: time.Now, Log: log}))
	defer api.Close()
	click(t, api.URL, "UALICE", msgs[0])
	for _, m := range ws.Messages() {
		if m.Updates == 0 || !strings.Contains(string(m.Blocks), `"url":"https://review.example.com/review?token=`) {
			t.Errorf("message %s after alice's click, without a Review button to the review URL:\n%s", m.Channel, m.Blocks)
		}
	}
	if len(ecs.Calls()) != 0 {
		t.Fatalf("ECS got %v after one approval of two", ecs.Calls())
	}
	click(t, api.URL, "UBOB", msgs[1])
	if fmt.Sprint(ecs.Calls()) != "[hook-1 CONTINUE]" {
		t.Errorf("ECS got %v, want one CONTINUE", ecs.Calls())
	}
	m := ws.Messages()[0]
	if !strings.Contains(string(m.Blocks), "approved") || strings.Contains(string(m.Blocks), slackapp.ActionApprove) {
		t.Errorf("alice's message after the deciding click:\n%s", m.Blocks)
	}
	if eph := ws.Ephemerals(); len(eph) != 2 || !strings.Contains(eph[1].Text, "Your approval is recorded") {
		t.Errorf("the voters were told %+v", eph)
	}
}

// click posts user's signed click on m's Approve button to the review API.
func click(t *testing.T, api, user string, m slackapitest.Message) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "user": map[string]any{"id": user}, "channel": map[string]any{"id": m.Channel},
		"actions": []map[string]any{{"action_id": slackapp.ActionApprove, "block_id": "gatehouse_decide", "value": buttonValue(t, m.Blocks, slackapp.ActionApprove), "type": "button"}}})
	body := url.Values{"payload": {string(payload)}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, api+review.SlackPath, strings.NewReader(body))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set(slackapi.HeaderTimestamp, ts)
	req.Header.Set(slackapi.HeaderSignature, slackapi.Sign("local-signing", ts, []byte(body)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("click = %d: %s", res.StatusCode, msg)
	}
}

// buttonValue finds the value of the button action in a message's blocks.
func buttonValue(t *testing.T, blocks json.RawMessage, action string) string {
	t.Helper()
	var bs []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.ActionID == action {
				return e.Value
			}
		}
	}
	t.Fatalf("no %s button in %s", action, blocks)
	return ""
}
