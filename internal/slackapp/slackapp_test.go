package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi/slackapitest"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

const (
	deploymentARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"
	signing       = "test-signing-secret"
)

type mails struct {
	mu   sync.Mutex
	sent []approval.Message
}

func (m *mails) Publish(ctx context.Context, msg approval.Message) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return fmt.Sprint(len(m.sent)), nil
}

type links struct{}

func (links) Link(ctx context.Context, r *approval.Request, a string) (string, error) {
	return "https://review.example.com/review?token=" + url.QueryEscape(r.ID+"."+a), nil
}

type everyone struct{}

func (everyone) Subscribers(context.Context) ([]approval.Subscriber, error) { return nil, nil }

// deployer says who started the deployment, for separation of duties.
type deployer string

func (d deployer) StartedBy(context.Context, hook.DeploymentARN, string, time.Time, time.Duration) ([]string, error) {
	return []string{string(d)}, nil
}

// world is one open request with its Slack messages, and the endpoint
// Slack posts clicks to.
type world struct {
	ws    *slackapitest.Workspace
	st    *store.Memory
	gate  *approval.Gate
	svc   *approval.Service
	poll  approval.Poll
	key   string
	click *httptest.Server
}

func newWorld(t *testing.T, required int, startedBy string) *world {
	t.Helper()
	w := &world{st: store.NewMemory()}
	w.ws = slackapitest.New(t,
		slackapitest.User{ID: "UALICE", Email: "alice@example.com"},
		slackapitest.User{ID: "UBOB", Email: "bob@example.com"},
		slackapitest.User{ID: "UMALLORY", Email: "mallory@example.com"},
		slackapitest.User{ID: "UGHOST"},
		// Another organization's member (Slack Connect) who claims
		// alice's address.
		slackapitest.User{ID: "UGUEST", Email: "alice@example.com", Stranger: true})
	api := slackapi.New("xoxb-test", w.ws.APIURL(), nil)
	d, _ := hook.ParseDeploymentARN(deploymentARN)
	s := approval.DefaultSettings()
	s.Approvers = []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	s.RequiredApprovals = required
	w.poll = approval.Poll{Deployment: d, Stage: hook.StagePostTestTrafficShift, ServiceARN: d.ServiceARN(), TargetRevisionARN: "rev-green", Settings: s}
	w.key = approval.Key(d, hook.StagePostTestTrafficShift)
	w.gate = &approval.Gate{Store: w.st, Notifier: &mails{}, Subscriptions: everyone{}, Linker: links{}, Chat: &Chat{API: api},
		Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	if startedBy != "" {
		w.gate.Deployers = deployer(startedBy)
	}
	w.svc = approval.NewService(approval.Parts{Gate: w.gate, Defaults: s})
	if _, err := w.gate.Poll(context.Background(), w.poll); err != nil {
		t.Fatal(err)
	}
	h := &Interactions{Secrets: func(context.Context) (slackapi.Secrets, error) { return slackapi.Secrets{SigningSecret: signing}, nil },
		API: api, Votes: w.svc, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	w.click = httptest.NewServer(h)
	t.Cleanup(w.click.Close)
	return w
}

func (w *world) request(t *testing.T) (*approval.Request, string) {
	t.Helper()
	read, err := w.svc.Read(context.Background(), w.key)
	if err != nil {
		t.Fatal(err)
	}
	return read.Request, read.ETag
}

// payload is a block_actions payload as Slack posts it for user's click
// on the button action with value.
func payload(user, channel, action, value string) string {
	b, _ := json.Marshal(map[string]any{
		"type":    "block_actions",
		"user":    map[string]any{"id": user, "username": strings.ToLower(user)},
		"channel": map[string]any{"id": channel},
		"actions": []map[string]any{{"action_id": action, "block_id": "gatehouse_decide", "value": value, "type": "button"}},
	})
	return url.Values{"payload": {string(b)}}.Encode()
}

// post sends body to the endpoint signed with secret at ts, as Slack does.
func (w *world) post(t *testing.T, body, secret string, ts time.Time) int {
	t.Helper()
	code, err := w.send(body, secret, ts)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// send posts body to the interactions endpoint, signed with secret at ts,
// and returns the status; safe to call from any goroutine.
func (w *world) send(body, secret string, ts time.Time) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, w.click.URL+"/slack/interactions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		stamp := strconv.FormatInt(ts.Unix(), 10)
		req.Header.Set(slackapi.HeaderTimestamp, stamp)
		req.Header.Set(slackapi.HeaderSignature, slackapi.Sign(secret, stamp, []byte(body)))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// clickAs has user click action on their own message of the request.
func (w *world) clickAs(t *testing.T, user, action string) int {
	t.Helper()
	r, _ := w.request(t)
	return w.post(t, payload(user, slackapitest.DM(user), action, buttonValue(w.key, r)), signing, time.Now())
}

func (w *world) lastAnswer(t *testing.T, user string) string {
	t.Helper()
	eph := w.ws.Ephemerals()
	for i := len(eph) - 1; i >= 0; i-- {
		if eph[i].User == user {
			return eph[i].Text
		}
	}
	t.Fatalf("%s was told nothing", user)
	return ""
}

// TestSlackMessagesGoOutWithTheEmail: each approver Slack knows gets one
// direct message with the three buttons, the email goes to everyone, and
// another poll sends nothing more.
func TestSlackMessagesGoOutWithTheEmail(t *testing.T) {
	w := newWorld(t, 2, "")
	msgs := w.ws.Messages()
	if len(msgs) != 2 || msgs[0].Channel != slackapitest.DM("UALICE") || msgs[1].Channel != slackapitest.DM("UBOB") {
		t.Fatalf("Slack messages: %+v, want one to alice and one to bob (carol is not in Slack)", msgs)
	}
	r, _ := w.request(t)
	blocks := string(msgs[0].Blocks)
	for _, want := range []string{ActionApprove, ActionReject, ActionReview, `"confirm"`, "orders", "prod-cluster", "Approvals:* 0 of 2 required",
		url.QueryEscape(r.ID + ".alice@example.com"), buttonValue(w.key, r)} {
		if !strings.Contains(blocks, want) {
			t.Errorf("alice's message lacks %q:\n%s", want, blocks)
		}
	}
	if strings.Contains(blocks, "bob@example.com") && strings.Contains(blocks, url.QueryEscape(r.ID+".bob@example.com")) {
		t.Error("alice's message carries bob's review link")
	}
	if _, err := w.gate.Poll(context.Background(), w.poll); err != nil {
		t.Fatal(err)
	}
	if n := len(w.ws.Messages()); n != 2 {
		t.Errorf("%d Slack messages after another poll, want still 2", n)
	}
}

// TestSlackClickVotesAsTheUserWhoClicked: a signed click records the vote
// of the Slack user who clicked, by their email address, rewrites every
// message with the tally and tells the voter; the same click again changes
// nothing; the deciding click leaves every message with the outcome and no
// buttons.
func TestSlackClickVotesAsTheUserWhoClicked(t *testing.T) {
	w := newWorld(t, 2, "")
	if code := w.clickAs(t, "UALICE", ActionApprove); code != http.StatusOK {
		t.Fatalf("click = %d", code)
	}
	r, _ := w.request(t)
	v, ok := r.VoteOf("alice@example.com")
	if !ok || v.Decision != approval.Approve || v.Via != "slack" {
		t.Fatalf("votes %+v, want alice's approval via slack", r.Votes)
	}
	if got := w.lastAnswer(t, "UALICE"); !strings.Contains(got, "Your approval is recorded") {
		t.Errorf("alice was told %q", got)
	}
	for _, m := range w.ws.Messages() {
		if m.Updates == 0 || !strings.Contains(string(m.Blocks), "Approvals:* 1 of 2 required") || !strings.Contains(string(m.Blocks), "alice@example.com: approve") {
			t.Errorf("message %s not rewritten with the tally:\n%s", m.Channel, m.Blocks)
		}
	}
	w.clickAs(t, "UALICE", ActionApprove)
	if r2, _ := w.request(t); len(r2.Votes) != 1 || !strings.Contains(w.lastAnswer(t, "UALICE"), "already recorded") {
		t.Errorf("a double click: %d votes, told %q", len(r2.Votes), w.lastAnswer(t, "UALICE"))
	}
	w.clickAs(t, "UBOB", ActionApprove)
	r, _ = w.request(t)
	if r.Outcome != approval.Approved {
		t.Fatalf("outcome %s, want approved", r.Outcome)
	}
	for _, m := range w.ws.Messages() {
		b := string(m.Blocks)
		if !strings.Contains(b, "approved") || strings.Contains(b, ActionApprove) || strings.Contains(b, ActionReview) {
			t.Errorf("message %s after the decision shows buttons, or not the outcome:\n%s", m.Channel, b)
		}
	}
}

// TestSlackRefusals: whoever is not an approver, Slack cannot name, or
// started the deployment is refused in Slack's answer, with the page's
// words, and nothing is recorded; a button for another request or for
// something that is no request records nothing either.
func TestSlackRefusals(t *testing.T) {
	w := newWorld(t, 1, "")
	_, before := w.request(t)
	w.clickAs(t, "UMALLORY", ActionApprove)
	if got := w.lastAnswer(t, "UMALLORY"); !strings.Contains(got, "You are not one of this request's approvers") || strings.Contains(got, "alice@example.com") {
		t.Errorf("mallory was told %q; want refused, without learning who the approvers are", got)
	}
	for _, u := range []string{"UGHOST", "UGUEST"} {
		w.clickAs(t, u, ActionApprove)
		if got := w.lastAnswer(t, u); !strings.Contains(got, "did not vouch for your email address") {
			t.Errorf("%s, whose address Slack does not vouch for, was told %q", u, got)
		}
	}
	r, _ := w.request(t)
	w.post(t, payload("UALICE", "DUALICE", ActionApprove, w.key+" an-earlier-request"), signing, time.Now())
	if got := w.lastAnswer(t, "UALICE"); !strings.Contains(got, "earlier approval request") {
		t.Errorf("a click for an earlier request: told %q", got)
	}
	w.post(t, payload("UALICE", "DUALICE", ActionApprove, "reports/secret.json "+r.ID), signing, time.Now())
	if got := w.lastAnswer(t, "UALICE"); !strings.Contains(got, "not for a gatehouse approval request") {
		t.Errorf("a click naming no request: told %q", got)
	}
	w.post(t, payload("UALICE", "DUALICE", ActionApprove, "approvals/none/none/x/POST_TEST_TRAFFIC_SHIFT.json "+r.ID), signing, time.Now())
	if got := w.lastAnswer(t, "UALICE"); !strings.Contains(got, "no longer exists") {
		t.Errorf("a click for a request that does not exist: told %q", got)
	}
	if _, now := w.request(t); now != before {
		t.Error("a refused click changed the request")
	}

	self := newWorld(t, 1, "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com")
	self.clickAs(t, "UALICE", ActionApprove)
	if got := self.lastAnswer(t, "UALICE"); !strings.Contains(got, "You started this deployment") {
		t.Errorf("the deployer was told %q", got)
	}
	if r, _ := self.request(t); r.Approvals() != 0 {
		t.Errorf("the deployer's approval counted: %+v", r.Votes)
	}
}

// TestSlackSignature: anything Slack did not sign, signed with another
// secret, or signed more than 5 minutes ago gets 401 and changes nothing;
// a signed payload that is no button click gets 400.
func TestSlackSignature(t *testing.T) {
	w := newWorld(t, 1, "")
	r, before := w.request(t)
	body := payload("UALICE", "DUALICE", ActionApprove, buttonValue(w.key, r))
	for name, tc := range map[string]struct {
		secret string
		at     time.Time
	}{
		"unsigned":        {"", time.Now()},
		"wrong secret":    {"another-secret", time.Now()},
		"stale":           {signing, time.Now().Add(-6 * time.Minute)},
		"from the future": {signing, time.Now().Add(6 * time.Minute)},
	} {
		if code := w.post(t, body, tc.secret, tc.at); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	b, _ := json.Marshal(map[string]any{"type": "view_submission", "user": map[string]any{"id": "UALICE"}})
	if code := w.post(t, url.Values{"payload": {string(b)}}.Encode(), signing, time.Now()); code != http.StatusBadRequest {
		t.Errorf("a view submission: %d, want 400", code)
	}
	if code := w.post(t, "payload=%7Bnot-json", signing, time.Now()); code != http.StatusBadRequest {
		t.Errorf("a payload that is not JSON: %d, want 400", code)
	}
	if _, now := w.request(t); now != before || len(w.ws.Ephemerals()) != 0 {
		t.Error("a refused request changed the request or answered in Slack")
	}
}

// TestSlackClickRacesThePage: a Slack click and a page vote at once both
// count, once each, and every message shows both.
func TestSlackClickRacesThePage(t *testing.T) {
	w := newWorld(t, 3, "")
	r, _ := w.request(t)
	click := payload("UALICE", slackapitest.DM("UALICE"), ActionApprove, buttonValue(w.key, r))
	var wg sync.WaitGroup
	var clicked int
	var clickErr error
	wg.Add(2)
	go func() { defer wg.Done(); clicked, clickErr = w.send(click, signing, time.Now()) }()
	go func() {
		defer wg.Done()
		if _, err := w.svc.Vote(context.Background(), approval.Ballot{Key: w.key, Vote: approval.Vote{Approver: "bob@example.com", Decision: approval.Approve, Via: "link"}}); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()
	if clickErr != nil || clicked != http.StatusOK {
		t.Fatalf("alice's click: %d, %v", clicked, clickErr)
	}
	r, _ = w.request(t)
	if r.Approvals() != 2 {
		t.Fatalf("votes %+v, want both", r.Votes)
	}
	// The last rewrite may have lost to the other vote: the next poll
	// makes it.
	if _, err := w.gate.Poll(context.Background(), w.poll); err != nil {
		t.Fatal(err)
	}
	for _, m := range w.ws.Messages() {
		if !strings.Contains(string(m.Blocks), "Approvals:* 2 of 3 required") {
			t.Errorf("message %s does not show both votes:\n%s", m.Channel, m.Blocks)
		}
	}
}

// TestSlackFailingNeverHoldsTheEmail: Slack rate-limiting the app, failing
// with a 5xx, or refusing it: the emails go out at once, no Slack message
// is sent twice, and what failed transiently is posted by the next poll.
func TestSlackFailingNeverHoldsTheEmail(t *testing.T) {
	for name, f := range map[string]slackapitest.Failure{
		"rate limited": {Status: http.StatusTooManyRequests, RetryAfter: 1, Times: 2},
		"5xx":          {Status: http.StatusBadGateway, Times: 2},
	} {
		t.Run(name, func(t *testing.T) {
			w := &world{st: store.NewMemory()}
			w.ws = slackapitest.New(t, slackapitest.User{ID: "UALICE", Email: "alice@example.com"}, slackapitest.User{ID: "UBOB", Email: "bob@example.com"})
			w.ws.Fail("chat.postMessage", f)
			n := &mails{}
			d, _ := hook.ParseDeploymentARN(deploymentARN)
			s := approval.DefaultSettings()
			s.Approvers = []string{"alice@example.com", "bob@example.com"}
			poll := approval.Poll{Deployment: d, Stage: hook.StagePostTestTrafficShift, ServiceARN: d.ServiceARN(), TargetRevisionARN: "rev-green", Settings: s}
			now := time.Now()
			gate := &approval.Gate{Store: w.st, Notifier: n, Subscriptions: everyone{}, Linker: links{},
				Chat: &Chat{API: slackapi.New("xoxb-test", w.ws.APIURL(), nil)}, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
			if _, err := gate.Poll(context.Background(), poll); err != nil {
				t.Fatalf("a failing Slack failed the poll: %v", err)
			}
			if len(n.sent) != 2 || len(w.ws.Messages()) != 0 {
				t.Fatalf("after the failures: %d emails, %d Slack messages; want 2 and 0", len(n.sent), len(w.ws.Messages()))
			}
			// Slack is asked again once its back-off has passed (a poll
			// before then asks nothing).
			for range 3 {
				now = now.Add(5 * time.Minute)
				if _, err := gate.Poll(context.Background(), poll); err != nil {
					t.Fatal(err)
				}
			}
			if len(n.sent) != 2 || len(w.ws.Messages()) != 2 {
				t.Errorf("after more polls: %d emails, %d Slack messages; want 2 and 2", len(n.sent), len(w.ws.Messages()))
			}
		})
	}
}

// TestSlackClickOnAClosedRequest: a click on a decided request's message
// records nothing, and says so.
func TestSlackClickOnAClosedRequest(t *testing.T) {
	w := newWorld(t, 1, "")
	r, _ := w.request(t)
	value := buttonValue(w.key, r)
	w.clickAs(t, "UALICE", ActionReject)
	if r, _ := w.request(t); r.Outcome != approval.Rejected {
		t.Fatalf("outcome %s, want rejected", r.Outcome)
	}
	_, before := w.request(t)
	w.post(t, payload("UBOB", slackapitest.DM("UBOB"), ActionApprove, value), signing, time.Now())
	if got := w.lastAnswer(t, "UBOB"); !strings.Contains(got, "This approval request is closed") {
		t.Errorf("a click on a closed request: told %q", got)
	}
	if _, now := w.request(t); now != before {
		t.Error("a click on a closed request changed it")
	}
}

// TestSlackSigningSecretRotated: a click signed with a signing secret newer
// than the one read is verified once the secrets are read anew.
func TestSlackSigningSecretRotated(t *testing.T) {
	w := newWorld(t, 1, "")
	refreshed := 0
	h := &Interactions{
		Secrets: func(context.Context) (slackapi.Secrets, error) { return slackapi.Secrets{SigningSecret: "before"}, nil },
		Refresh: func(context.Context) (slackapi.Secrets, error) {
			refreshed++
			return slackapi.Secrets{SigningSecret: signing}, nil
		},
		API: slackapi.New("xoxb-test", w.ws.APIURL(), nil), Votes: w.svc, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(h)
	defer srv.Close()
	w.click = srv
	if code := w.clickAs(t, "UALICE", ActionApprove); code != http.StatusOK || refreshed != 1 {
		t.Fatalf("a click signed with the new secret: %d, %d refreshes", code, refreshed)
	}
	if r, _ := w.request(t); r.Outcome != approval.Approved {
		t.Errorf("outcome %s, want approved", r.Outcome)
	}
	if code := w.post(t, "payload=x", "forged", time.Now()); code != http.StatusUnauthorized {
		t.Errorf("a forged click after the refresh: %d, want 401", code)
	}
}

// TestSlackAsksOnlyWhomItWouldLetVote: an account Slack finds by an
// approver's address but would not vouch for in a click (a Slack Connect
// stranger, a bot, an unconfirmed address) gets no message, which would
// otherwise count as reaching the approver.
func TestSlackAsksOnlyWhomItWouldLetVote(t *testing.T) {
	ws := slackapitest.New(t,
		slackapitest.User{ID: "UCAROL", Email: "carol@example.com", Stranger: true},
		slackapitest.User{ID: "UDAN", Email: "dan@example.com", Unconfirmed: true},
		slackapitest.User{ID: "UBOT", Email: "bot@example.com", Bot: true},
		slackapitest.User{ID: "UERIN", Email: "erin@example.com"})
	chat := &Chat{API: slackapi.New("xoxb-test", ws.APIURL(), nil)}
	r := &approval.Request{ID: "r1", DeploymentARN: deploymentARN, Stage: hook.StagePostTestTrafficShift, Service: "orders", Cluster: "prod-cluster"}
	for _, who := range []string{"carol@example.com", "dan@example.com", "bot@example.com"} {
		if _, err := chat.Post(context.Background(), r, who, "https://review.example/review?token=x"); !errors.Is(err, approval.ErrNotInChat) {
			t.Errorf("Post to %s = %v, want ErrNotInChat", who, err)
		}
	}
	if _, err := chat.Post(context.Background(), r, "erin@example.com", "https://review.example/review?token=x"); err != nil {
		t.Errorf("Post to erin, a person of the workspace: %v", err)
	}
	if msgs := ws.Messages(); len(msgs) != 1 || msgs[0].Channel != slackapitest.DM("UERIN") {
		t.Errorf("messages %+v, want erin's alone", msgs)
	}
}
