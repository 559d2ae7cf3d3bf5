package approvalhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/token"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/wiringtest"
)

// TestSettleEvent: the CLI's settle event has the approval hook settle a
// deciding vote on a PAUSE request with its own clients: the decision is
// announced and ECS told, once; a key that is no PAUSE request's, or no
// approval request's, is refused.
func TestSettleEvent(t *testing.T) {
	srv := awstest.NewS3(t)
	key, err := token.NewKey([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	ecs, sns := &wiringtest.OnePause{}, &wiringtest.Published{}
	env := config.ApprovalHook{Bucket: srv.Bucket, ReviewURL: "https://review.example.com/", Defaults: approval.DefaultSettings()}
	env.Defaults.Approvers = []string{"alice@example.com"}
	fn := New(env, approvalparts.Clients{S3: srv.Client(), Notifier: sns, Pauses: ecs, ECS: noECS{}, Keys: token.Keyring{Current: key}, Now: time.Now, Log: slog.New(slog.DiscardHandler)})
	const dep = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/settle1"
	ev, _ := json.Marshal(map[string]any{"source": "aws.ecs", "detail-type": "ECS Hook State Change", "resources": []string{dep},
		"detail": map[string]any{"eventName": hook.HookAwaitingAction, "hookType": "PAUSE", "hookId": "hook-1", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "serviceDeploymentArn": dep}})
	if _, err := fn(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	d, _ := hook.ParseDeploymentARN(dep)
	k := approval.GateKey(d, hook.StagePostTestTrafficShift, approval.PauseGate("hook-1"))
	st := store.New(srv.Client(), srv.Bucket)
	obj, err := st.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := approval.Decode(obj.Body)
	if _, _, err := approval.Update(context.Background(), st, k, obj.ETag, r, func(n *approval.Request) error {
		return n.Cast(approval.Vote{Approver: "alice@example.com", Decision: approval.Approve, Via: "cli"}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		res, err := fn(context.Background(), hook.SettleEvent(k))
		if err != nil || !strings.Contains(res.Reason, "approved by alice@example.com") {
			t.Errorf("settle = %+v, %v", res, err)
		}
	}
	if fmt.Sprint(ecs.Calls()) != "[hook-1 CONTINUE]" {
		t.Errorf("ECS got %v, want one CONTINUE", ecs.Calls())
	}
	if n := len(sns.Messages()); n != 2 || !strings.Contains(sns.Messages()[1].Subject, "approved") {
		t.Errorf("%d messages, want the review and the decision", n)
	}
	for _, bad := range []string{"reports/x.json", "approvals/../reports/x.json", approval.Key(d, hook.StagePostTestTrafficShift)} {
		if _, err := fn(context.Background(), hook.SettleEvent(bad)); err == nil {
			t.Errorf("settle %q succeeded", bad)
		}
	}
}

// noECS describes nothing: ECS cannot be asked.
type noECS struct{}

func (noECS) Status(ctx context.Context, arn string) (string, error) {
	return "", fmt.Errorf("no ECS here")
}

func (noECS) Describe(ctx context.Context, arn string) (ecsdeploy.Deployment, error) {
	return ecsdeploy.Deployment{}, fmt.Errorf("no ECS here")
}
