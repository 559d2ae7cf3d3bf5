package approval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// subscribed are the review topic's subscriptions: one confirmed
// subscription of each address, filtered to it.
type subscribed []string

func (s subscribed) Subscribers(context.Context) ([]Subscriber, error) {
	var out []Subscriber
	for _, a := range s {
		out = append(out, Subscriber{Endpoint: a, Confirmed: true, Filtered: true, Approvers: []string{a}})
	}
	return out, nil
}

type fakeNotifier struct {
	mu   sync.Mutex
	msgs []Message
	fail func(Message) error
}

func (n *fakeNotifier) Publish(ctx context.Context, m Message) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		if err := n.fail(m); err != nil {
			return "", err
		}
	}
	n.msgs = append(n.msgs, m)
	return fmt.Sprintf("msg-%d", len(n.msgs)), nil
}

func (n *fakeNotifier) sent() []Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Message(nil), n.msgs...)
}

// kinds counts the sent messages by the first word after "[gatehouse] ".
func (n *fakeNotifier) count(subjectPrefix string) int {
	c := 0
	for _, m := range n.sent() {
		if strings.HasPrefix(m.Subject, subjectPrefix) {
			c++
		}
	}
	return c
}

type fakeDescriber struct {
	d   Change
	err error
}

func (f fakeDescriber) Describe(ctx context.Context, arn string) (Change, error) {
	return f.d, f.err
}

type fakeLinker struct{}

func (fakeLinker) Link(ctx context.Context, r *Request, approver string) (string, error) {
	return "https://review.example/review?token=" + r.ID + "." + approver, nil
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const deploymentARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"

type fixture struct {
	st    *store.Memory
	n     *fakeNotifier
	clock *clock
	gate  *Gate
	poll  Poll
	key   string
}

func newFixture(t *testing.T, approvers []string, required int) *fixture {
	t.Helper()
	d, err := hook.ParseDeploymentARN(deploymentARN)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: store.NewMemory(), n: &fakeNotifier{}, clock: &clock{now: t0}}
	s := DefaultSettings()
	s.Approvers = approvers
	s.RequiredApprovals = required
	s.Timeout = 4 * time.Hour
	f.poll = Poll{Deployment: d, Stage: hook.StagePostTestTrafficShift, ServiceARN: d.ServiceARN(), TargetRevisionARN: "rev-green", Settings: s}
	f.key = Key(d, hook.StagePostTestTrafficShift)
	f.gate = &Gate{
		Store:         f.st,
		Subscriptions: subscribed(approvers),
		Notifier:      f.n,
		Describer:     fakeDescriber{d: Change{SourceTaskDefinitions: []string{"orders:41"}, TargetTaskDefinition: "orders:42"}},
		Linker:        fakeLinker{},
		Now:           f.clock.Now,
		Log:           slog.New(slog.DiscardHandler),
	}
	return f
}

func (f *fixture) mustPoll(t *testing.T, want Outcome) Verdict {
	t.Helper()
	v, err := f.gate.Poll(context.Background(), f.poll)
	if err != nil {
		t.Fatalf("Poll() error = %v", err)
	}
	if v.Outcome != want {
		t.Fatalf("Poll() = %+v, want outcome %q", v, want)
	}
	return v
}

func (f *fixture) load(t *testing.T) (*Request, string) {
	t.Helper()
	obj, err := f.st.Get(context.Background(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Decode(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r, obj.ETag
}

func (f *fixture) vote(t *testing.T, who string, d Decision) {
	t.Helper()
	r, etag := f.load(t)
	_, _, err := Update(context.Background(), f.st, f.key, etag, r, func(n *Request) error {
		return n.Cast(Vote{Approver: who, Decision: d, Via: "link"}, f.clock.Now())
	})
	if err != nil {
		t.Fatalf("vote %s %s: %v", who, d, err)
	}
}

func TestGateFirstPollNotifiesEachApproverOnce(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	f.mustPoll(t, Pending)
	msgs := f.n.sent()
	if len(msgs) != 2 {
		t.Fatalf("sent %d messages, want 2", len(msgs))
	}
	r, _ := f.load(t)
	for i, who := range []string{"alice@example.com", "bob@example.com"} {
		if msgs[i].Approver != who {
			t.Errorf("message %d for %q, want %q", i, msgs[i].Approver, who)
		}
		if want := "token=" + r.ID + "." + who; !strings.Contains(msgs[i].Body, want) {
			t.Errorf("message to %s lacks its own link %q:\n%s", who, want, msgs[i].Body)
		}
	}
	if r.SendingSince != nil || len(r.Notices) != 2 {
		t.Errorf("after sending: SendingSince=%v notices=%d, want nil and 2", r.SendingSince, len(r.Notices))
	}
	if !r.Change.Known || r.Change.TargetTaskDefinition != "orders:42" {
		t.Errorf("change = %+v, want the described target orders:42", r.Change)
	}

	gets, writes := f.st.Gets(), f.st.Writes()
	f.clock.Add(30 * time.Second)
	f.mustPoll(t, Pending)
	if g := f.st.Gets() - gets; g != 1 {
		t.Errorf("pending poll made %d GETs, want exactly 1", g)
	}
	if w := f.st.Writes() - writes; w != 0 {
		t.Errorf("pending poll made %d writes, want 0", w)
	}
	if n := len(f.n.sent()); n != 2 {
		t.Errorf("pending poll published: %d messages in all, want still 2", n)
	}
}

func TestGateApproveRejectExpire(t *testing.T) {
	tests := []struct {
		name       string
		required   int
		onExpiry   Decision
		act        func(t *testing.T, f *fixture)
		want       Outcome
		wantPass   bool
		wantReason string
	}{
		{name: "approved", required: 1, act: func(t *testing.T, f *fixture) { f.vote(t, "bob@example.com", Approve) },
			want: Approved, wantPass: true, wantReason: "approved by bob@example.com (1 of 1 required)"},
		{name: "quorum", required: 2, act: func(t *testing.T, f *fixture) {
			f.vote(t, "bob@example.com", Approve)
			f.mustPoll(t, Pending)
			f.vote(t, "alice@example.com", Approve)
		}, want: Approved, wantPass: true, wantReason: "approved by bob@example.com, alice@example.com (2 of 2 required)"},
		{name: "veto", required: 2, act: func(t *testing.T, f *fixture) {
			f.vote(t, "alice@example.com", Approve)
			f.vote(t, "bob@example.com", Reject)
		}, want: Rejected, wantReason: "rejected by bob@example.com"},
		{name: "expired rejects", required: 1, act: func(t *testing.T, f *fixture) { f.clock.Add(4 * time.Hour) },
			want: Expired, wantReason: "no decision within 4h, rejected by default"},
		{name: "expired approves when opted in", required: 1, onExpiry: Approve, act: func(t *testing.T, f *fixture) { f.clock.Add(4 * time.Hour) },
			want: Expired, wantPass: true, wantReason: "no decision within 4h, approved by default (onExpiry: approve)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, tt.required)
			if tt.onExpiry != "" {
				f.poll.Settings.OnExpiry = tt.onExpiry
			}
			f.mustPoll(t, Pending)
			f.clock.Add(time.Minute)
			tt.act(t, f)
			v := f.mustPoll(t, tt.want)
			if v.Pass != tt.wantPass || v.Reason != tt.wantReason {
				t.Errorf("verdict = %+v, want pass %v reason %q", v, tt.wantPass, tt.wantReason)
			}
			r, _ := f.load(t)
			if r.Outcome != tt.want || r.AnnouncedAt == nil {
				t.Errorf("stored outcome %q announced %v, want %q and announced", r.Outcome, r.AnnouncedAt, tt.want)
			}
			if got := f.n.count("[gatehouse] Deploy of orders"); got != 2 {
				t.Errorf("sent %d decision notices, want one per approver (2)", got)
			}
			if tt.want == Expired && !strings.Contains(r.History[len(r.History)-2].Detail+r.History[len(r.History)-1].Detail, "by default") {
				t.Errorf("history does not record the expiry default: %+v", r.History)
			}
			// Asking again gives the same answer and announces nothing more.
			v2 := f.mustPoll(t, tt.want)
			if v2 != v {
				t.Errorf("second poll = %+v, want %+v", v2, v)
			}
			if got := f.n.count("[gatehouse] Deploy of orders"); got != 2 {
				t.Errorf("after a second poll: %d decision notices, want still 2", got)
			}
		})
	}
}

func TestGateReminder(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 2)
	f.mustPoll(t, Pending)
	f.vote(t, "alice@example.com", Approve)
	f.clock.Add(3*time.Hour - time.Second)
	f.mustPoll(t, Pending)
	if n := f.n.count("[gatehouse] Reminder"); n != 0 {
		t.Fatalf("reminder sent before 75%% of the timeout: %d", n)
	}
	f.clock.Add(time.Second)
	f.mustPoll(t, Pending)
	f.clock.Add(time.Minute)
	f.mustPoll(t, Pending)
	var got []string
	for _, m := range f.n.sent() {
		if strings.HasPrefix(m.Subject, "[gatehouse] Reminder") {
			got = append(got, m.Approver)
		}
	}
	if len(got) != 1 || got[0] != "bob@example.com" {
		t.Errorf("reminders went to %v, want only bob@example.com, once", got)
	}
}

func TestGateRecoversUnsentNotifications(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	// Bob's message fails: the poll is answered as transient, Alice's is
	// recorded, and the next poll sends only Bob's.
	f.n.fail = func(m Message) error {
		if m.Approver == "bob@example.com" {
			return hook.Transient(errors.New("sns: throttled"))
		}
		return nil
	}
	_, err := f.gate.Poll(context.Background(), f.poll)
	if !hook.IsTransient(err) {
		t.Fatalf("Poll() error = %v, want a transient error", err)
	}
	f.n.fail = nil
	f.clock.Add(30 * time.Second)
	f.mustPoll(t, Pending)
	var to []string
	for _, m := range f.n.sent() {
		to = append(to, m.Approver)
	}
	if strings.Join(to, ",") != "alice@example.com,bob@example.com" {
		t.Errorf("messages went to %v, want alice then bob, once each", to)
	}
}

func TestGateTakesOverLapsedLease(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	// A caller created the request and died before publishing: simulate by
	// failing every publish once, then clearing the record of the attempt.
	f.n.fail = func(Message) error { return errors.New("crash") }
	if _, err := f.gate.Poll(context.Background(), f.poll); err == nil {
		t.Fatal("Poll() = nil error, want the publish failure")
	}
	r, etag := f.load(t)
	now := f.clock.Now()
	if _, _, err := Update(context.Background(), f.st, f.key, etag, r, func(n *Request) error { n.SendingSince = &now; return nil }); err != nil {
		t.Fatal(err)
	}
	f.n.fail = nil
	f.clock.Add(SendLease / 2)
	f.mustPoll(t, Pending)
	if n := len(f.n.sent()); n != 0 {
		t.Fatalf("published %d messages while another caller holds the lease, want 0", n)
	}
	f.clock.Add(SendLease)
	f.mustPoll(t, Pending)
	if n := len(f.n.sent()); n != 1 {
		t.Fatalf("published %d messages after the lease lapsed, want 1", n)
	}
}

func TestGateConcurrentFirstPolls(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com", "carol@example.com"}, 2)
	const callers = 50
	// The first message is held until every other caller has answered:
	// each of them finds the request while its messages are going out,
	// which is where a second sender would slip in.
	var answered atomic.Int32
	others := make(chan struct{})
	var once sync.Once
	f.n.fail = func(Message) error {
		once.Do(func() {
			select {
			case <-others:
			case <-time.After(5 * time.Second):
				t.Error("the other callers did not answer while the first published")
			}
		})
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	start := make(chan struct{})
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start // all at once: the race is real
			if _, err := f.gate.Poll(context.Background(), f.poll); err != nil {
				errs <- err
			}
			if answered.Add(1) == callers-1 {
				close(others)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Poll() error = %v", err)
	}
	per := map[string]int{}
	for _, m := range f.n.sent() {
		per[m.Approver]++
	}
	for _, who := range []string{"alice@example.com", "bob@example.com", "carol@example.com"} {
		if per[who] != 1 {
			t.Errorf("%s got %d messages, want 1", who, per[who])
		}
	}
}

func TestGateFirstDeployment(t *testing.T) {
	first := fakeDescriber{d: Change{TargetTaskDefinition: "orders:1", FirstDeployment: true}}
	tests := []struct {
		name      string
		policy    string
		describer Describer
		want      Outcome
	}{
		{"gated by default", FirstDeploymentGate, first, Pending},
		{"skipped when asked", FirstDeploymentSkip, first, Approved},
		{"not first: gated", FirstDeploymentSkip, fakeDescriber{d: Change{SourceTaskDefinitions: []string{"orders:41"}}}, Pending},
		{"ECS unreachable: gated", FirstDeploymentSkip, fakeDescriber{err: errors.New("connection refused")}, Pending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []string{"alice@example.com"}, 1)
			f.gate.Describer = tt.describer
			f.poll.Settings.FirstDeployment = tt.policy
			v := f.mustPoll(t, tt.want)
			if tt.want == Approved && (!v.Pass || len(f.n.sent()) != 0) {
				t.Errorf("skip: verdict %+v and %d messages, want pass and none", v, len(f.n.sent()))
			}
		})
	}
}

func TestGateStoreErrors(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.st.Fail = func(op, key string) error { return hook.Transient(errors.New("503 slow down")) }
	_, err := f.gate.Poll(context.Background(), f.poll)
	if !hook.IsTransient(err) {
		t.Errorf("Poll() with S3 down = %v, want a transient error", err)
	}
	if len(f.n.sent()) != 0 {
		t.Errorf("published %d messages with S3 down, want 0", len(f.n.sent()))
	}

	f.st.Fail = nil
	if _, err := f.st.Create(context.Background(), f.key, []byte(`{"schemaVersion":1}`)); err != nil {
		t.Fatal(err)
	}
	_, err = f.gate.Poll(context.Background(), f.poll)
	if err == nil || hook.IsTransient(err) {
		t.Errorf("Poll() of a corrupt record = %v, want a permanent error", err)
	}
}

func TestGateNoApproversUsesSharedLink(t *testing.T) {
	f := newFixture(t, nil, 1)
	f.mustPoll(t, Pending)
	msgs := f.n.sent()
	if len(msgs) != 1 || msgs[0].Approver != "" || !strings.Contains(msgs[0].Body, "the page asks for your name") {
		t.Fatalf("shared-link messages = %+v, want one without an approver", msgs)
	}
}

func TestGatePermanentPublishFailureFailsClosed(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.poll.Settings.OnExpiry = Approve
	f.n.fail = func(Message) error { return errors.New("AuthorizationError: not authorized to publish") }
	_, err := f.gate.Poll(context.Background(), f.poll)
	if err == nil || hook.IsTransient(err) || !strings.Contains(err.Error(), "cannot notify the approvers") {
		t.Fatalf("Poll() = %v, want a permanent error naming the notification", err)
	}
	// Even if ECS kept asking until expiry, silence from people who were
	// never asked is no approval.
	f.clock.Add(5 * time.Hour)
	v, _ := f.gate.Poll(context.Background(), f.poll)
	if v.Pass || !strings.Contains(v.Reason, "not every approver could be notified") {
		t.Errorf("after expiry: %+v, want a refusal", v)
	}
}

func TestGateRecordsEachMessageAsItGoes(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The invocation's time runs out right after Alice's message went out.
	f.n.fail = func(m Message) error {
		if m.Approver == "bob@example.com" {
			return context.Canceled
		}
		cancel()
		return nil
	}
	if _, err := f.gate.Poll(ctx, f.poll); err == nil {
		t.Fatal("Poll() = nil error, want the cancellation")
	}
	f.n.fail = nil
	r, _ := f.load(t)
	if !r.noticeSent("review", "alice@example.com") || r.noticeSent("review", "bob@example.com") {
		t.Fatalf("notices after the deadline: %+v, want Alice's recorded", r.Notices)
	}
	f.clock.Add(SendLease + time.Second)
	f.mustPoll(t, Pending)
	per := map[string]int{}
	for _, m := range f.n.sent() {
		per[m.Approver]++
	}
	if per["alice@example.com"] != 1 || per["bob@example.com"] != 1 {
		t.Errorf("messages per approver = %v, want one each", per)
	}
}

func TestGateNamesKeepSeparateRequests(t *testing.T) {
	f := newFixture(t, []string{"sec@example.com"}, 1)
	f.poll.Settings.Gate = "security"
	f.mustPoll(t, Pending)
	product := f.poll
	product.Settings.Gate = "product"
	product.Settings.Approvers = []string{"pm@example.com"}
	if v, err := f.gate.Poll(context.Background(), product); err != nil || v.Outcome != Pending {
		t.Fatalf("product gate: %+v, %v", v, err)
	}
	to := map[string]bool{}
	for _, m := range f.n.sent() {
		to[m.Approver] = true
	}
	if !to["sec@example.com"] || !to["pm@example.com"] {
		t.Errorf("messages went to %v, want both gates' approvers", to)
	}
	keys, _ := f.st.List(context.Background(), KeyPrefix, 0)
	if len(keys) != 2 || !strings.HasSuffix(keys[1], "POST_TEST_TRAFFIC_SHIFT.security.json") {
		t.Errorf("keys = %v, want one per gate", keys)
	}
}
