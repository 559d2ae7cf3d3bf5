package approvalapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// onePause is ECS with one PAUSE hook awaiting action until continued.
type onePause struct {
	mu    sync.Mutex
	calls []string
}

func (p *onePause) Awaiting(ctx context.Context, arn, hookID string) ([]approval.Paused, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) > 0 {
		return nil, nil
	}
	return []approval.Paused{{HookID: "hook-1", Stage: hook.StagePostTestTrafficShift, ServiceARN: "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"}}, nil
}

func (p *onePause) State(ctx context.Context, arn, hookID string) (approval.HookState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) > 0 {
		return approval.HookState{Deployment: "IN_PROGRESS", Status: approval.HookSucceeded}, nil
	}
	return approval.HookState{Deployment: "IN_PROGRESS", Status: approval.HookAwaiting}, nil
}

func (p *onePause) Continue(ctx context.Context, arn, hookID, action string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, hookID+" "+action)
	return nil
}

// published records what SNS would send.
type published struct {
	mu   sync.Mutex
	msgs []notify.Message
}

func (p *published) Publish(ctx context.Context, m notify.Message) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, m)
	return fmt.Sprint(len(p.msgs)), nil
}

// TestComposedReviewAPI: the review API as composed for Lambda. In pause
// mode (a topic) a deciding vote posted on the page ends the PAUSE hook's
// wait at once, once, and announces the outcome with the API's own
// clients; without a topic it records the vote and leaves ECS to the sweep.
func TestComposedReviewAPI(t *testing.T) {
	for _, pause := range []bool{true, false} {
		t.Run(fmt.Sprintf("topic %v", pause), func(t *testing.T) {
			srv := awstest.NewS3(t)
			st := store.New(srv.Client(), srv.Bucket)
			k, err := token.NewKey([]byte(strings.Repeat("k", 32)))
			if err != nil {
				t.Fatal(err)
			}
			keys := token.Keyring{Current: k}
			ecs, sns := &onePause{}, &published{}
			opener := &approval.Gate{Store: st, Notifier: discard{}, Linker: review.Links{Base: "https://review.example.com/", Keys: keys}, Pauses: ecs, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
			s := approval.DefaultSettings()
			s.Approvers = []string{"alice@example.com"}
			const dep = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/api1"
			if _, err := opener.OpenPause(context.Background(), hook.PauseEvent{EventName: hook.HookAwaitingAction, DeploymentARN: dep, HookID: "hook-1", Stage: hook.StagePostTestTrafficShift}, s); err != nil {
				t.Fatal(err)
			}
			d, _ := hook.ParseDeploymentARN(dep)
			key := approval.GateKey(d, hook.StagePostTestTrafficShift, approval.PauseGate("hook-1"))
			obj, _ := st.Get(context.Background(), key)
			r, _ := approval.Decode(obj.Body)
			link, err := review.Links{Base: "https://review.example.com/", Keys: keys}.Link(context.Background(), r, "alice@example.com")
			if err != nil {
				t.Fatal(err)
			}
			env := config.ApprovalAPI{Bucket: srv.Bucket}
			c := Clients{S3: srv.Client(), Keys: keys, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
			if pause {
				env.TopicARN = "arn:aws:sns:us-west-2:123456789012:reviews"
				c.Pauses, c.Notifier = ecs, sns
			}
			api := httptest.NewServer(New(env, c))
			defer api.Close()
			u, _ := url.Parse(link)
			res, err := http.PostForm(api.URL+review.Path, url.Values{"token": {u.Query().Get("token")}, "decision": {"approve"}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("approve = %d", res.StatusCode)
			}
			obj, _ = st.Get(context.Background(), key)
			r, _ = approval.Decode(obj.Body)
			switch {
			case pause && (fmt.Sprint(ecs.calls) != "[hook-1 CONTINUE]" || r.Pause.Result != "accepted" || len(sns.msgs) != 1):
				t.Errorf("pause mode: ECS got %v, pause %+v, %d messages; want one CONTINUE taken and the outcome announced", ecs.calls, r.Pause, len(sns.msgs))
			case !pause && (len(ecs.calls) != 0 || r.Outcome != approval.Approved || r.Pause.Action != ""):
				t.Errorf("no topic: ECS got %v, outcome %s; want the vote recorded and ECS left to the sweep", ecs.calls, r.Outcome)
			}
		})
	}
}

type discard struct{}

func (discard) Publish(context.Context, approval.Message) (string, error) { return "id", nil }
