package approval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/taskdiff"
)

// fakeChat is a chat that knows some approvers; it keeps what each
// message shows, and fails on demand.
type fakeChat struct {
	mu       sync.Mutex
	known    map[string]bool
	posted   map[string]ChatRef // by approver
	shows    map[ChatRef]string // what each message shows (ChatState)
	postErr  error
	showErr  error
	posts    int
	rewrites int
}

func newFakeChat(known ...string) *fakeChat {
	c := &fakeChat{known: map[string]bool{}, posted: map[string]ChatRef{}, shows: map[ChatRef]string{}}
	for _, a := range known {
		c.known[a] = true
	}
	return c
}

func (c *fakeChat) Unreachable(ctx context.Context, approvers []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range approvers {
		if !c.known[a] {
			out[a] = "not in the chat"
		}
	}
	return out, nil
}

func (c *fakeChat) Post(ctx context.Context, r *Request, a, link string) (ChatRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts++
	if c.postErr != nil {
		return ChatRef{}, c.postErr
	}
	if !c.known[a] {
		return ChatRef{}, fmt.Errorf("lookup %s: %w", a, ErrNotInChat)
	}
	if !strings.Contains(link, r.ID+"."+a) {
		return ChatRef{}, fmt.Errorf("link %q is not %s's", link, a)
	}
	ref := ChatRef{Channel: "D-" + a, TS: fmt.Sprint(c.posts)}
	c.posted[a] = ref
	c.shows[ref] = r.ChatState()
	return ref, nil
}

func (c *fakeChat) Show(ctx context.Context, r *Request, a, link string, ref ChatRef) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.showErr != nil {
		return c.showErr
	}
	if (link != "") != (r.Outcome == Pending) || link != "" && !strings.Contains(link, r.ID+"."+a) {
		return fmt.Errorf("link %q for %s of a request %s", link, a, r.Outcome)
	}
	if _, ok := c.shows[ref]; !ok || c.posted[a] != ref {
		return fmt.Errorf("no message %v of %s", ref, a)
	}
	c.rewrites++
	c.shows[ref] = r.ChatState()
	return nil
}

func (c *fakeChat) showing(a string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shows[c.posted[a]]
}

func (c *fakeChat) counts() (posts, rewrites int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.posts, c.rewrites
}

// TestChatMessagesEachApproverOnce: with the email, each approver the chat
// knows gets one message, whatever the polls; one it does not know is
// recorded as such (asked by email alone) and not looked up again; a
// pending poll then costs one GET and nothing else.
func TestChatMessagesEachApproverOnce(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com", "carol@example.com"}, 2)
	chat := newFakeChat("alice@example.com", "bob@example.com")
	f.gate.Chat = chat
	f.mustPoll(t, Pending)
	if n := len(f.n.sent()); n != 3 {
		t.Errorf("%d emails, want 3: the email always goes out", n)
	}
	r, _ := f.load(t)
	if r.SendingSince != nil {
		t.Error("the lease was not released")
	}
	for _, a := range []string{"alice@example.com", "bob@example.com"} {
		if !r.noticeSent(noticeChat, a) || chat.showing(a) != r.ChatState() {
			t.Errorf("%s: no chat message recorded, or it shows %q", a, chat.showing(a))
		}
	}
	if !r.noticeSent(noticeChatSkipped, "carol@example.com") {
		t.Error("carol, whom the chat does not know, is not recorded as such")
	}
	posts, _ := chat.counts()
	gets, writes := f.st.Gets(), f.st.Writes()
	for range 3 {
		f.clock.Add(30 * time.Second)
		f.mustPoll(t, Pending)
	}
	if p, _ := chat.counts(); p != posts {
		t.Errorf("later polls posted %d more chat messages", p-posts)
	}
	if g, w := f.st.Gets()-gets, f.st.Writes()-writes; g != 3 || w != 0 {
		t.Errorf("3 pending polls: %d GETs, %d writes; want 3 and 0", g, w)
	}
}

// TestChatFailureNeverHoldsTheEmail: a chat that fails transiently holds
// nothing up, and the next poll posts; one that refuses the app for good
// is recorded, and not asked again.
func TestChatFailureNeverHoldsTheEmail(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	chat := newFakeChat("alice@example.com")
	chat.postErr = hook.Transient(errors.New("rate limited"))
	f.gate.Chat = chat
	f.mustPoll(t, Pending)
	r, _ := f.load(t)
	if len(f.n.sent()) != 1 || r.noticeSent(noticeChat, "alice@example.com") || r.noticeSent(noticeChatSkipped, "alice@example.com") {
		t.Fatalf("after a transient chat failure: %d emails, notices %+v; want the email, and the chat left to retry", len(f.n.sent()), r.Notices)
	}
	// Within the back-off, a poll costs its read and nothing else.
	gets, writes := f.st.Gets(), f.st.Writes()
	f.clock.Add(30 * time.Second)
	f.mustPoll(t, Pending)
	if g, w := f.st.Gets()-gets, f.st.Writes()-writes; g != 1 || w != 0 || chat.posts != 1 {
		t.Errorf("a poll within the back-off: %d GETs, %d writes, %d posts; want 1, 0, 1", g, w, chat.posts)
	}
	chat.postErr = nil
	f.clock.Add(chatBackoff)
	f.mustPoll(t, Pending)
	if r, _ := f.load(t); !r.noticeSent(noticeChat, "alice@example.com") || len(f.n.sent()) != 1 || r.ChatFailures != 0 || r.ChatRetryAt != nil {
		t.Errorf("the next poll: chat notice %v, %d emails; want the chat message, and no second email", r.noticeSent(noticeChat, "alice@example.com"), len(f.n.sent()))
	}

	g := newFixture(t, []string{"bob@example.com"}, 1)
	refusing := newFakeChat("bob@example.com")
	refusing.postErr = errors.New("chat.postMessage: Slack answered invalid_auth")
	g.gate.Chat = refusing
	g.mustPoll(t, Pending)
	g.clock.Add(30 * time.Second)
	g.mustPoll(t, Pending)
	r, _ = g.load(t)
	if posts, _ := refusing.counts(); posts != 1 || !r.noticeSent(noticeChatSkipped, "bob@example.com") || len(g.n.sent()) != 1 {
		t.Errorf("a chat that refuses: %d posts, notices %+v, %d emails; want one try, recorded, and the email", posts, r.Notices, len(g.n.sent()))
	}
}

// TestChatShowsEveryVoteAndTheOutcome: a vote through the service
// rewrites every approver's message with the tally; the deciding vote
// with the outcome; a rewrite that failed is made by the next poll.
func TestChatShowsEveryVoteAndTheOutcome(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 2)
	chat := newFakeChat("alice@example.com", "bob@example.com")
	f.gate.Chat = chat
	svc := NewService(Parts{Gate: f.gate, Defaults: f.poll.Settings})
	f.mustPoll(t, Pending)
	ctx := context.Background()

	if _, err := svc.Vote(ctx, Ballot{Key: f.key, Vote: Vote{Approver: "alice@example.com", Decision: Approve, Via: "slack"}}); err != nil {
		t.Fatal(err)
	}
	r, _ := f.load(t)
	for _, a := range r.Approvers {
		if chat.showing(a) != r.ChatState() || !strings.Contains(chat.showing(a), "alice@example.com=approve") {
			t.Errorf("%s's message shows %q, want %q", a, chat.showing(a), r.ChatState())
		}
	}
	if len(r.staleChats()) != 0 {
		t.Errorf("stale after the rewrite: %+v", r.staleChats())
	}

	chat.showErr = hook.Transient(errors.New("chat.update: 503"))
	if _, err := svc.Vote(ctx, Ballot{Key: f.key, Vote: Vote{Approver: "bob@example.com", Decision: Approve, Via: "link"}}); err != nil {
		t.Fatal(err)
	}
	r, _ = f.load(t)
	if r.Outcome != Approved || len(r.staleChats()) != 2 {
		t.Fatalf("after a failed rewrite: outcome %s, %d stale messages; want approved, 2 stale", r.Outcome, len(r.staleChats()))
	}
	chat.showErr = nil
	f.mustPoll(t, Approved)
	r, _ = f.load(t)
	for _, a := range r.Approvers {
		if !strings.HasPrefix(chat.showing(a), string(Approved)) {
			t.Errorf("%s's message shows %q, want the outcome", a, chat.showing(a))
		}
	}
	if len(r.staleChats()) != 0 {
		t.Errorf("stale after the announcement: %+v", r.staleChats())
	}
}

// TestChatReachesWhomItMessaged: an approver without an email subscription
// of their own is reached once a chat message was really posted to them,
// so that expiry may approve; a chat account that got no message reaches
// nobody.
func TestChatReachesWhomItMessaged(t *testing.T) {
	r := &Request{Approvers: []string{"alice@example.com", "bob@example.com"}, RequiredApprovals: 1, OnExpiry: Approve,
		Reach: &Reach{Unreachable: map[string]string{"bob@example.com": "no subscription of their own"}}}
	if r.expiryApproves() {
		t.Error("expiry approves though bob was reached by no channel")
	}
	r.Notices = append(r.Notices, Notice{Kind: noticeChatSkipped, Approver: "bob@example.com", Detail: "not in the chat"})
	if r.expiryApproves() {
		t.Error("expiry approves though bob's chat message never went out")
	}
	r.Notices = append(r.Notices, Notice{Kind: noticeChat, Approver: "bob@example.com", Chat: &ChatRef{Channel: "D1", TS: "1"}})
	if !r.expiryApproves() {
		t.Error("expiry does not approve though bob got his chat message")
	}
	r.Reach = &Reach{Error: "the review topic's subscriptions could not be read"}
	if r.expiryApproves() {
		t.Error("expiry approves though alice was reached by no channel")
	}
}

// TestChatRewriteFailuresBackOff: rewrites that keep failing are tried
// again after a back-off that doubles, and not at all after
// maxChatFailures in a row; polls in between cost one read; a rewrite that
// works again clears the count.
func TestChatRewriteFailuresBackOff(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 2)
	chat := newFakeChat("alice@example.com")
	f.gate.Chat = chat
	svc := NewService(Parts{Gate: f.gate, Defaults: f.poll.Settings})
	f.mustPoll(t, Pending)
	chat.showErr = errors.New("chat.update: Slack answered invalid_blocks")
	if _, err := svc.Vote(context.Background(), Ballot{Key: f.key, Vote: Vote{Approver: "bob@example.com", Decision: Approve, Via: "link"}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Second)
	f.mustPoll(t, Pending)
	r, _ := f.load(t)
	if r.ChatFailures != 1 || r.ChatRetryAt == nil || !r.ChatRetryAt.Equal(f.clock.Now().Add(chatBackoff)) || len(r.staleChats()) != 1 {
		t.Fatalf("after a failed rewrite: failures %d, retry at %v, %d stale", r.ChatFailures, r.ChatRetryAt, len(r.staleChats()))
	}
	writes := f.st.Writes()
	f.clock.Add(30 * time.Second)
	f.mustPoll(t, Pending)
	if w := f.st.Writes() - writes; w != 0 {
		t.Errorf("a poll within the back-off made %d writes", w)
	}
	f.clock.Add(chatBackoff)
	f.mustPoll(t, Pending)
	if r, _ := f.load(t); r.ChatFailures != 2 || !r.ChatRetryAt.Equal(f.clock.Now().Add(2*chatBackoff)) {
		t.Errorf("after a second failure: failures %d, retry at %v; want 2, in %s", r.ChatFailures, r.ChatRetryAt, 2*chatBackoff)
	}
	chat.showErr = nil
	f.clock.Add(2 * chatBackoff)
	f.mustPoll(t, Pending)
	if r, _ := f.load(t); r.ChatFailures != 0 || r.ChatRetryAt != nil || len(r.staleChats()) != 0 {
		t.Errorf("after a rewrite that worked: failures %d, retry at %v, %d stale", r.ChatFailures, r.ChatRetryAt, len(r.staleChats()))
	}

}

// TestChatGivesUpAfterMaxFailures: a chat that never works is tried
// maxChatFailures times in a row, then no more, and the history says so.
func TestChatGivesUpAfterMaxFailures(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	chat := newFakeChat("alice@example.com")
	chat.postErr = hook.Transient(errors.New("chat.postMessage: 503"))
	f.gate.Chat = chat
	f.poll.Settings.Timeout = 24 * time.Hour
	f.mustPoll(t, Pending)
	for range maxChatFailures + 3 {
		f.clock.Add(chatBackoffMax)
		f.mustPoll(t, Pending)
	}
	r, _ := f.load(t)
	if posts, _ := chat.counts(); posts != maxChatFailures || r.ChatFailures != maxChatFailures {
		t.Errorf("%d posts tried, %d failures recorded; want %d of each", posts, r.ChatFailures, maxChatFailures)
	}
	if !strings.Contains(r.History[len(r.History)-1].Detail, "no longer sent or updated") {
		t.Errorf("the history does not say the chat was given up: %+v", r.History[len(r.History)-1])
	}
}

// TestDiffFilledInLater: a request opened while ECS could not say what
// changes (transiently) gets its diff on a later poll; a refusal is not
// asked again.
func TestDiffFilledInLater(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.gate.Describer = fakeDescriber{d: Change{TargetTaskDefinition: "orders:42", DiffUnknown: "changes could not be read: throttled", DiffAgain: true}}
	f.mustPoll(t, Pending)
	if r, _ := f.load(t); r.Change.Diff != nil || !r.Change.DiffAgain {
		t.Fatalf("opened with %+v", r.Change)
	}
	d := taskdiff.Diff{Changes: []taskdiff.Change{{Container: "web", What: "image", From: "orders:1.4.0", To: "orders:1.5.0"}}}
	f.gate.Describer = fakeDescriber{d: Change{TargetTaskDefinition: "orders:42", Diff: &d}}
	f.clock.Add(30 * time.Second)
	f.mustPoll(t, Pending)
	r, _ := f.load(t)
	if r.Change.Diff == nil || r.Change.DiffUnknown != "" || r.Change.DiffAgain {
		t.Errorf("after a poll ECS answered: %+v", r.Change)
	}

	g := newFixture(t, []string{"alice@example.com"}, 1)
	g.gate.Describer = fakeDescriber{d: Change{TargetTaskDefinition: "orders:42", DiffUnknown: "changes could not be read: AccessDeniedException"}}
	g.mustPoll(t, Pending)
	g.gate.Describer = fakeDescriber{err: errors.New("must not be asked")}
	gets, writes := g.st.Gets(), g.st.Writes()
	g.clock.Add(30 * time.Second)
	g.mustPoll(t, Pending)
	if gt, w := g.st.Gets()-gets, g.st.Writes()-writes; gt != 1 || w != 0 {
		t.Errorf("a poll after ECS refused: %d GETs, %d writes; want 1 and 0", gt, w)
	}
}

// TestConfiguredTestURLStays: a request opened while ECS could not
// describe the deployment keeps its configured testUrl when ECS later
// does, and the email says it even before.
func TestConfiguredTestURLStays(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.gate.Function = "gatehouse-approval-hook"
	f.gate.Describer = fakeDescriber{err: errors.New("throttled")}
	f.poll.Settings.TestURL = "https://orders-test.example.com"
	f.mustPoll(t, Pending)
	if m := f.n.sent(); len(m) != 1 || !strings.Contains(m[0].Body, "Try it:      https://orders-test.example.com\n             (as configured (testUrl), not read from the load balancer)") {
		t.Errorf("the email does not say where to try green, and that the service's setting gave it:\n%v", m)
	}
	f.gate.Describer = fakeDescriber{d: Change{TargetTaskDefinition: "orders:42", Try: &TryIt{URL: "http://discovered.example.com", Source: "test listener rule arn:r"}}}
	f.clock.Add(30 * time.Second)
	f.mustPoll(t, Pending)
	if r, _ := f.load(t); !r.Change.Known || r.Change.Try == nil || r.Change.Try.URL != "https://orders-test.example.com" {
		t.Errorf("after ECS described the deployment: %+v", r.Change)
	}
}
