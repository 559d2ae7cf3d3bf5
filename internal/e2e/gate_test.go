package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/token"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
)

const deploymentARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"

var linkRE = regexp.MustCompile(`https?://\S+/review\?token=\S+`)

// TestConcurrentFirstCallsAgainstRealServers: 50 concurrent first calls of
// the gate, against an S3-compatible server and an SNS emulator, create one
// request and publish one message per approver. The S3 server is the
// in-process one, whose conditional writes are atomic as S3's are
// (versitygw's are not: see awstest.NewAtomicS3).
func TestConcurrentFirstCallsAgainstRealServers(t *testing.T) {
	s3srv := awstest.NewAtomicS3(t)
	snssrv := awstest.NewSNS(t)
	st := store.New(s3srv.Client(), s3srv.Bucket)
	keys := token.Keyring{Current: mustKey(t)}
	approvers := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	gate := &approval.Gate{
		Store:    st,
		Notifier: approvalparts.Messages{Publisher: notify.New(snssrv.Client(), snssrv.TopicARN)},
		Linker:   review.Links{Base: "http://127.0.0.1:1/", Keys: keys},
		Now:      time.Now,
		Log:      slog.New(slog.DiscardHandler),
	}
	d, _ := hook.ParseDeploymentARN(deploymentARN)
	s := approval.DefaultSettings()
	s.Approvers, s.RequiredApprovals = approvers, 2
	poll := approval.Poll{Deployment: d, Stage: hook.StagePostTestTrafficShift, ServiceARN: d.ServiceARN(), TargetRevisionARN: "rev", Settings: s}

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	start := make(chan struct{})
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start // all at once: the race is real
			v, err := gate.Poll(context.Background(), poll)
			if err != nil {
				errs <- err
			} else if v.Outcome != approval.Pending {
				t.Errorf("Poll() = %+v, want pending", v)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Poll() error = %v", err)
	}
	keysInBucket, err := st.List(context.Background(), approval.KeyPrefix, 0)
	if err != nil || len(keysInBucket) != 1 {
		t.Fatalf("bucket holds %v (%v), want exactly one request", keysInBucket, err)
	}
	snssrv.WaitMessages(t, 3, 10*time.Second)
	// Every publish has returned; whatever they sent has arrived.
	msgs := snssrv.Settled(t, 10*time.Second)
	per := map[string]int{}
	for _, m := range msgs {
		per[m.MessageAttributes[notify.AttrApprover].Value]++
	}
	for _, a := range approvers {
		if per[a] != 1 {
			t.Errorf("%s received %d messages, want 1 (all: %v)", a, per[a], per)
		}
	}
	if len(msgs) != 3 {
		t.Errorf("published %d messages, want 3", len(msgs))
	}
}

// TestRacingApproveAndRejectAgainstRealS3: an approve and a reject posted at
// once through the review API, against an S3-compatible server, give exactly
// one outcome.
func TestRacingApproveAndRejectAgainstRealS3(t *testing.T) {
	s3srv := awstest.NewS3(t)
	st := store.New(s3srv.Client(), s3srv.Bucket)
	keys := token.Keyring{Current: mustKey(t)}
	votes := approval.NewService(approval.Parts{Gate: &approval.Gate{Store: st, Now: time.Now, Log: slog.New(slog.DiscardHandler)}})
	h := &review.Handler{Approvals: votes, Reports: st, Keys: keys, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	web := httptest.NewServer(h)
	t.Cleanup(web.Close)
	n := &memNotifier{}
	gate := &approval.Gate{Store: st, Notifier: n, Linker: review.Links{Base: web.URL, Keys: keys}, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	d, _ := hook.ParseDeploymentARN(deploymentARN)
	s := approval.DefaultSettings()
	s.Approvers = []string{"alice@example.com", "bob@example.com"}
	poll := approval.Poll{Deployment: d, Stage: hook.StagePostTestTrafficShift, ServiceARN: d.ServiceARN(), TargetRevisionARN: "rev", Settings: s}

	for round := range 5 {
		poll.Deployment.ID = "race" + string(rune('a'+round))
		if _, err := gate.Poll(context.Background(), poll); err != nil {
			t.Fatal(err)
		}
		links := n.linksFor(poll.Deployment.ID)
		var wg sync.WaitGroup
		for who, decision := range map[string]string{"alice@example.com": "approve", "bob@example.com": "reject"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok := tokenOf(t, links[who])
				res, err := http.PostForm(web.URL+review.Path, url.Values{"token": {tok}, "decision": {decision}})
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
			}()
		}
		wg.Wait()
		v, err := gate.Poll(context.Background(), poll)
		if err != nil {
			t.Fatal(err)
		}
		if v.Outcome != approval.Approved && v.Outcome != approval.Rejected {
			t.Fatalf("round %d: outcome %q, want approved or rejected", round, v.Outcome)
		}
		obj, err := st.Get(context.Background(), approval.Key(poll.Deployment, poll.Stage))
		if err != nil {
			t.Fatal(err)
		}
		r, err := approval.Decode(obj.Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Votes) != 1 {
			t.Errorf("round %d: %d votes recorded, want exactly the one that decided", round, len(r.Votes))
		}
	}
}

type memNotifier struct {
	mu   sync.Mutex
	msgs []approval.Message
}

func (n *memNotifier) Publish(ctx context.Context, m approval.Message) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m)
	return "id", nil
}

// linksFor returns the review link in each approver's message about the
// deployment with the given id.
func (n *memNotifier) linksFor(id string) map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]string{}
	for _, m := range n.msgs {
		if strings.Contains(m.Body, "/"+id+"\n") {
			if l := linkRE.FindString(m.Body); l != "" {
				out[m.Approver] = l
			}
		}
	}
	return out
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("parse link %q: %v", link, err)
	}
	return u.Query().Get("token")
}

func mustKey(t *testing.T) token.Key {
	t.Helper()
	k, err := token.ParseSecret(signingKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signingKey is the test key; GATEHOUSE_SIGNING_KEY for the functions.
const signingKey = "e2e-test-signing-key-0123456789abcdef"
