package review

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
)

// pausedHook is ECS for the request's PAUSE hook: its state, and the
// continues made.
type pausedHook struct {
	mu    sync.Mutex
	state approval.HookState
	calls []string
}

func (p *pausedHook) Awaiting(ctx context.Context, arn, hookID string) ([]approval.Paused, error) {
	return nil, nil
}

func (p *pausedHook) Continue(ctx context.Context, arn, hookID, action string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, hookID+" "+action)
	return nil
}

func (p *pausedHook) State(ctx context.Context, arn, hookID string) (approval.HookState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state, nil
}

// messages counts what the gate publishes.
type messages struct {
	mu   sync.Mutex
	sent []approval.Message
}

func (m *messages) Publish(ctx context.Context, msg approval.Message) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return fmt.Sprint(len(m.sent)), nil
}

// TestHookContinuedOutside: someone continued the request's PAUSE hook
// outside gatehouse. Opening the link says so, offers no form and writes
// nothing; posting a vote is refused (409), closes the request as
// continued outside gatehouse, never approved, and tells the approvers
// who were asked; gatehouse calls ECS no more.
func TestHookContinuedOutside(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com", "bob@example.com"}, 1)
	r := e.request(t)
	r.Pause = &approval.PauseRun{HookID: "ecs-pause-1"}
	at := t0
	r.Notices = []approval.Notice{{Kind: "review", Approver: "alice@example.com", At: at}, {Kind: "review", Approver: "bob@example.com", At: at}}
	body, _ := r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
	ecs := &pausedHook{state: approval.HookState{Deployment: "IN_PROGRESS", Status: approval.HookAwaiting}}
	sent := &messages{}
	gate := &approval.Gate{Store: e.st, Notifier: sent, Pauses: ecs, Now: func() time.Time { return e.now }, Log: slog.New(slog.DiscardHandler)}
	h := &Handler{Approvals: e.service(gate, nil), Reports: e.st, Keys: e.keys, Now: func() time.Time { return e.now }, Log: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(h)
	defer srv.Close()
	link := strings.Replace(e.link(t, "alice@example.com"), e.srv.URL, srv.URL, 1)

	if _, page := get(t, http.MethodGet, link); !strings.Contains(page, `name="decision"`) {
		t.Fatalf("while the hook waits the page offers no form:\n%s", page)
	}
	ecs.state.Status = approval.HookSucceeded // the console's "Take action"
	before := e.etag(t)
	res, page := get(t, http.MethodGet, link)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "ECS reports that this deployment no longer waits for this approval") ||
		!strings.Contains(page, "gatehouse never told ECS to go on") || strings.Contains(page, `name="decision"`) {
		t.Errorf("page = %d, want it to say the hook was continued outside gatehouse, without a form:\n%s", res.StatusCode, page)
	}
	if e.etag(t) != before {
		t.Error("opening the link wrote the request")
	}
	res, page = post(t, srv.URL, url.Values{"token": {tokenOf(t, link)}, "decision": {"approve"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "continued outside gatehouse, not approved") || !strings.Contains(page, "Nothing was recorded.") {
		t.Errorf("approve = %d, want 409 saying so:\n%s", res.StatusCode, page)
	}
	got := e.request(t)
	if got.Outcome != approval.ContinuedOutside || len(got.Votes) != 0 || got.Passes(got.Outcome) {
		t.Errorf("request %s with votes %+v, want continued-outside, no vote", got.Outcome, got.Votes)
	}
	if len(sent.sent) != 2 || !strings.Contains(sent.sent[0].Subject, "continued outside gatehouse") {
		t.Errorf("messages %+v, want a decision notice to each approver", sent.sent)
	}
	if len(ecs.calls) != 0 {
		t.Errorf("ECS was called: %v", ecs.calls)
	}
	// A second vote is refused as on any closed request, telling nobody again.
	link = strings.Replace(e.link(t, "bob@example.com"), e.srv.URL, srv.URL, 1)
	if res, page := post(t, srv.URL, url.Values{"token": {tokenOf(t, link)}, "decision": {"approve"}}); res.StatusCode != http.StatusConflict || !strings.Contains(page, "continued outside gatehouse") || len(sent.sent) != 2 {
		t.Errorf("second approve = %d (%d messages):\n%s", res.StatusCode, len(sent.sent), page)
	}
}

// TestNothingButAPostDecides: a property of the review API with its
// production settler configured: no GET, HEAD or OPTIONS, whatever its
// query (a decision, a comment, an override) and headers (a form's
// content type, a method override), writes the request, tells ECS or
// sends a message; while the hook waits, and after someone ended it.
func TestNothingButAPostDecides(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com", "bob@example.com"}, 1)
	r := e.request(t)
	r.Pause = &approval.PauseRun{HookID: "ecs-pause-1"}
	r.Notices = []approval.Notice{{Kind: "review", Approver: "alice@example.com", At: t0}, {Kind: "review", Approver: "bob@example.com", At: t0}}
	body, _ := r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
	ecs := &pausedHook{state: approval.HookState{Deployment: "IN_PROGRESS", Status: approval.HookAwaiting}}
	sent := &messages{}
	gate := &approval.Gate{Store: e.st, Notifier: sent, Pauses: ecs, Now: func() time.Time { return e.now }, Log: slog.New(slog.DiscardHandler)}
	h := &Handler{Approvals: e.service(gate, nil), Reports: e.st, Keys: e.keys, Now: func() time.Time { return e.now }, Log: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(h)
	defer srv.Close()
	link := strings.Replace(e.link(t, "alice@example.com"), e.srv.URL, srv.URL, 1)
	before := e.etag(t)
	for _, status := range []string{approval.HookAwaiting, approval.HookSucceeded} {
		ecs.state.Status = status
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodOptions} {
			for _, query := range []string{"", "&decision=approve", "&decision=reject&comment=no", "&decision=override&comment=urgent", "&name=mallory&decision=approve"} {
				for _, header := range []map[string]string{nil, {"Content-Type": "application/x-www-form-urlencoded"}, {"X-HTTP-Method-Override": "POST"}} {
					req, err := http.NewRequest(method, link+query, strings.NewReader("decision=approve"))
					if err != nil {
						t.Fatal(err)
					}
					for k, v := range header {
						req.Header.Set(k, v)
					}
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					if e.etag(t) != before || len(sent.sent) != 0 || len(ecs.calls) != 0 {
						t.Fatalf("%s %s with %v (hook %s) changed something: etag %v, %d messages, ECS calls %v",
							method, query, header, status, e.etag(t) != before, len(sent.sent), ecs.calls)
					}
				}
			}
		}
	}
	// The same POST does decide: the property is not vacuous.
	ecs.state.Status = approval.HookAwaiting
	if res, _ := post(t, srv.URL, url.Values{"token": {tokenOf(t, link)}, "decision": {"reject"}}); res.StatusCode != http.StatusOK || e.etag(t) == before {
		t.Errorf("POST reject = %d, want it recorded", res.StatusCode)
	}
}

// TestSharedTokenOpensNoListRequest: a token signed for no approver (a
// shared link's) opens nothing of a request with an approver list: the
// page and the form answer as for an invalid link, and nothing is written.
func TestSharedTokenOpensNoListRequest(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com", "bob@example.com"}, 1)
	link := e.link(t, "")
	before := e.etag(t)
	if res, page := get(t, http.MethodGet, link); res.StatusCode != http.StatusForbidden || !strings.Contains(page, msgInvalid) || strings.Contains(page, "orders:42") {
		t.Errorf("GET with a shared token = %d, want 403 showing nothing:\n%s", res.StatusCode, page)
	}
	if res, _ := post(t, e.srv.URL, url.Values{"token": {tokenOf(t, link)}, "decision": {"approve"}, "name": {"mallory"}}); res.StatusCode != http.StatusForbidden || e.etag(t) != before {
		t.Errorf("POST with a shared token = %d (written %v), want 403 and nothing written", res.StatusCode, e.etag(t) != before)
	}
}
