package approvalapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/token"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/wiringtest"
)

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
			ecs, sns := &wiringtest.OnePause{}, &wiringtest.Published{}
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
			c := approvalparts.Clients{S3: srv.Client(), Keys: keys, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
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
			case pause && (fmt.Sprint(ecs.Calls()) != "[hook-1 CONTINUE]" || r.Pause.Result != "accepted" || len(sns.Messages()) != 1):
				t.Errorf("pause mode: ECS got %v, pause %+v, %d messages; want one CONTINUE taken and the outcome announced", ecs.Calls(), r.Pause, len(sns.Messages()))
			case !pause && (len(ecs.Calls()) != 0 || r.Outcome != approval.Approved || r.Pause.Action != ""):
				t.Errorf("no topic: ECS got %v, outcome %s; want the vote recorded and ECS left to the sweep", ecs.Calls(), r.Outcome)
			}
		})
	}
}

type discard struct{}

func (discard) Publish(context.Context, approval.Message) (string, error) { return "id", nil }
