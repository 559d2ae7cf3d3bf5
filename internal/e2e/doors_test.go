package e2e

import (
	"bytes"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/operator"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/token"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/wiringtest"
)

// outcome is what a vote left behind: in the store, at ECS and at SNS.
type outcome struct {
	Outcome                           approval.Outcome
	Approver, Decision, Comment       string
	PauseAction, PauseResult, History string
	ECS                               []string
	Announced                         []string
}

// TestOneDoorForEveryChannel: one deciding vote on a PAUSE request, cast
// once from the review page and once from the CLI, goes through the same
// door (approval.Service.Vote): the same stored result, the same one call to
// ECS, the same announcement.
func TestOneDoorForEveryChannel(t *testing.T) {
	doors := map[string]func(t *testing.T, st *store.S3, gate *approval.Gate, key string, keys token.Keyring, r *approval.Request){
		"review page": func(t *testing.T, st *store.S3, gate *approval.Gate, key string, keys token.Keyring, r *approval.Request) {
			link, err := review.Links{Base: "https://review.example.com/", Keys: keys}.Link(context.Background(), r, "alice@example.com")
			if err != nil {
				t.Fatal(err)
			}
			page := httptest.NewServer(&review.Handler{Approvals: approval.NewService(approval.Parts{Gate: gate}), Reports: st, Keys: keys, Now: time.Now, Log: slog.New(slog.DiscardHandler)})
			defer page.Close()
			u, _ := url.Parse(link)
			res, err := http.PostForm(page.URL+review.Path, url.Values{"token": {u.Query().Get("token")}, "decision": {"approve"}, "comment": {"checked green"}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("the page's approve = %d", res.StatusCode)
			}
		},
		"CLI": func(t *testing.T, st *store.S3, gate *approval.Gate, key string, keys token.Keyring, r *approval.Request) {
			var out bytes.Buffer
			op := &operator.Operator{Store: st, Identity: callerIs("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Approvers_0123/alice@example.com"),
				Now: time.Now, Out: &out, Pauses: gate.Pauses, Settler: gate}
			if err := op.Decide(context.Background(), r.DeploymentARN, operator.Selector{}, approval.Approve, "checked green", false); err != nil {
				t.Fatalf("the CLI's approve: %v\n%s", err, out.String())
			}
		},
	}
	results := map[string]outcome{}
	for name, vote := range doors {
		t.Run(name, func(t *testing.T) {
			srv := awstest.NewS3(t)
			st := store.New(srv.Client(), srv.Bucket)
			k, err := token.NewKey([]byte(strings.Repeat("k", 32)))
			if err != nil {
				t.Fatal(err)
			}
			keys := token.Keyring{Current: k}
			ecs, sns := &wiringtest.OnePause{}, &sent{}
			gate := &approval.Gate{Store: st, Notifier: sns, Linker: review.Links{Base: "https://review.example.com/", Keys: keys}, Pauses: ecs, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
			s := approval.DefaultSettings()
			s.Approvers = []string{"alice@example.com"}
			if _, err := gate.OpenPause(context.Background(), hook.PauseEvent{EventName: hook.HookAwaitingAction, DeploymentARN: deploymentARN, HookID: wiringtest.PauseHookID, Stage: hook.StagePostTestTrafficShift}, s); err != nil {
				t.Fatal(err)
			}
			d, _ := hook.ParseDeploymentARN(deploymentARN)
			key := approval.GateKey(d, hook.StagePostTestTrafficShift, approval.PauseGate(wiringtest.PauseHookID))
			r := read(t, st, key)
			asked := len(sns.messages())

			vote(t, st, gate, key, keys, r)

			r = read(t, st, key)
			o := outcome{Outcome: r.Outcome, ECS: ecs.Calls()}
			if v, ok := r.VoteOf("alice@example.com"); ok {
				o.Approver, o.Decision, o.Comment = v.Approver, string(v.Decision), v.Comment
			}
			if r.Pause != nil {
				o.PauseAction, o.PauseResult = r.Pause.Action, r.Pause.Result
			}
			var kinds []string
			for _, e := range r.History {
				kinds = append(kinds, e.Kind)
			}
			o.History = strings.Join(kinds, " ")
			for _, m := range sns.messages()[asked:] {
				o.Announced = append(o.Announced, fmt.Sprintf("%s: %s", m.Approver, m.Subject))
			}
			if o.Outcome != approval.Approved || fmt.Sprint(o.ECS) != "[hook-1 CONTINUE]" || o.PauseResult != "accepted" || len(o.Announced) != 1 {
				t.Errorf("%s: %+v; want approved, one CONTINUE accepted by ECS, one announcement", name, o)
			}
			results[name] = o
		})
	}
	if diff := cmp.Diff(results["review page"], results["CLI"]); diff != "" {
		t.Errorf("the page's vote and the CLI's differ (-page +CLI):\n%s", diff)
	}
}

func read(t *testing.T, st *store.S3, key string) *approval.Request {
	t.Helper()
	obj, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	r, err := approval.Decode(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// callerIs is STS's answer to GetCallerIdentity.
type callerIs string

func (c callerIs) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return &sts.GetCallerIdentityOutput{Arn: aws.String(string(c))}, nil
}

// sent records what the gate publishes.
type sent struct {
	mu   sync.Mutex
	msgs []approval.Message
}

func (s *sent) Publish(ctx context.Context, m approval.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return fmt.Sprint(len(s.msgs)), nil
}

func (s *sent) messages() []approval.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]approval.Message(nil), s.msgs...)
}
