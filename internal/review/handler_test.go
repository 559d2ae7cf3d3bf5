package review

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/golden"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/taskdiff"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

const deploymentARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"

type env struct {
	st    *store.Memory
	keys  token.Keyring
	now   time.Time
	srv   *httptest.Server
	h     *Handler
	key   string
	links Links
}

// service is the approval service the page votes through, over e's
// store and clock: gate, when set, with its ports; deployments, when set,
// as its view of ECS.
func (e *env) service(gate *approval.Gate, deployments approval.DeploymentStatus) *approval.Service {
	if gate == nil {
		gate = &approval.Gate{Store: e.st, Now: func() time.Time { return e.now }, Log: slog.New(slog.DiscardHandler)}
	}
	return approval.NewService(approval.Parts{Gate: gate, Deployments: deployments})
}

func newEnv(t *testing.T, approvers []string, required int) *env {
	t.Helper()
	k, err := token.NewKey(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: store.NewMemory(), keys: token.Keyring{Current: k}, now: t0.Add(time.Minute)}
	h := &Handler{Approvals: e.service(nil, nil), Reports: e.st, Keys: e.keys, Now: func() time.Time { return e.now }, Log: slog.New(slog.DiscardHandler)}
	e.h = h
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.links = Links{Base: e.srv.URL + "/", Keys: e.keys}
	d, _ := hook.ParseDeploymentARN(deploymentARN)
	e.key = approval.Key(d, hook.StagePostTestTrafficShift)
	r := &approval.Request{
		SchemaVersion:     approval.SchemaVersion,
		ID:                "7f3a",
		DeploymentARN:     deploymentARN,
		Stage:             hook.StagePostTestTrafficShift,
		ServiceARN:        d.ServiceARN(),
		Cluster:           "prod-cluster",
		Service:           "orders",
		Region:            "us-west-2",
		Account:           "123456789012",
		TargetRevisionARN: "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/9313423515462893900",
		Change: approval.Change{Known: true, SourceTaskDefinitions: []string{"orders:41"}, TargetTaskDefinition: "orders:42",
			SourceImages: []approval.Image{{Container: "web", Image: "orders:2.4.0"}},
			TargetImages: []approval.Image{{Container: "web", Image: "orders:2.4.1<script>"}}},
		Approvers:         approvers,
		RequiredApprovals: required,
		OnExpiry:          approval.Reject,
		CreatedAt:         t0,
		ExpiresAt:         t0.Add(4 * time.Hour),
	}
	body, _ := r.Encode()
	if _, err := e.st.Create(context.Background(), e.key, body); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) link(t *testing.T, approver string) string {
	t.Helper()
	r := e.request(t)
	l, err := e.links.Link(context.Background(), r, approver)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// setSmoke records a passed smoke verdict on the request.
func (e *env) setSmoke(t *testing.T, summary string) {
	t.Helper()
	r := e.request(t)
	r.Smoke = &approval.Smoke{Passed: true, Summary: summary}
	body, _ := r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
}

func (e *env) request(t *testing.T) *approval.Request {
	t.Helper()
	obj, err := e.st.Get(context.Background(), e.key)
	if err != nil {
		t.Fatal(err)
	}
	r, err := approval.Decode(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) etag(t *testing.T) string {
	t.Helper()
	obj, err := e.st.Get(context.Background(), e.key)
	if err != nil {
		t.Fatal(err)
	}
	return obj.ETag
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func get(t *testing.T, method, link string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, link, nil)
	return do(t, req)
}

func post(t *testing.T, base string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+Path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "test-browser/1.0")
	return do(t, req)
}

func TestOpeningALinkChangesNothing(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com", "bob@example.com"}, 2)
	link := e.link(t, "alice@example.com")
	before := e.etag(t)
	// A mail scanner: GET, HEAD, again and again.
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodGet} {
		res, body := get(t, m, link)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s = %d, want 200:\n%s", m, res.StatusCode, body)
		}
		for h, want := range map[string]string{
			"Cache-Control":          "no-store",
			"Referrer-Policy":        "no-referrer",
			"X-Content-Type-Options": "nosniff",
		} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", m, h, got, want)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script") {
			t.Errorf("Content-Security-Policy = %q, want default-src 'none' and no script", csp)
		}
		if m == http.MethodHead && body != "" {
			t.Errorf("HEAD returned a body")
		}
	}
	if after := e.etag(t); after != before {
		t.Errorf("opening the link changed the request (etag %s -> %s)", before, after)
	}
	_, body := get(t, http.MethodGet, link)
	body = strings.ReplaceAll(body, tokenOf(t, link), "TOKEN")
	golden.Check(t, "page-open.html", body)
	for _, want := range []string{`method="post"`, `name="decision" value="approve"`, `name="decision" value="reject"`, `type="hidden" name="token"`, "0 of 2 required", "orders:2.4.1&lt;script&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") {
		t.Error("page contains a script element")
	}
}

func TestDecide(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com", "bob@example.com"}, 2)
	alice := tokenOf(t, e.link(t, "alice@example.com"))
	bob := tokenOf(t, e.link(t, "bob@example.com"))

	res, body := post(t, e.srv.URL, url.Values{"token": {alice}, "decision": {"approve"}, "comment": {"looks good"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Still waiting for more approvals") {
		t.Fatalf("alice approve = %d:\n%s", res.StatusCode, body)
	}
	r := e.request(t)
	if len(r.Votes) != 1 || r.Votes[0].Approver != "alice@example.com" || r.Votes[0].Comment != "looks good" ||
		r.Votes[0].SourceIP != "127.0.0.1" || r.Votes[0].UserAgent != "test-browser/1.0" || r.Votes[0].Via != "link" {
		t.Errorf("votes = %+v, want alice's approval with comment, ip and user agent", r.Votes)
	}

	// Replay: the same POST again changes nothing and says so.
	etag := e.etag(t)
	res, body = post(t, e.srv.URL, url.Values{"token": {alice}, "decision": {"approve"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "already recorded") {
		t.Errorf("replay = %d, want 200 saying already recorded:\n%s", res.StatusCode, body)
	}
	res, _ = post(t, e.srv.URL, url.Values{"token": {alice}, "decision": {"reject"}})
	if res.StatusCode != http.StatusConflict {
		t.Errorf("changing a vote = %d, want 409", res.StatusCode)
	}
	if e.etag(t) != etag {
		t.Error("replayed POSTs changed the request")
	}

	res, body = post(t, e.srv.URL, url.Values{"token": {bob}, "decision": {"approve"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "The deployment is approved") {
		t.Fatalf("bob approve = %d:\n%s", res.StatusCode, body)
	}
	if r := e.request(t); r.Outcome != approval.Approved {
		t.Errorf("outcome = %q, want approved", r.Outcome)
	}
	// The page now shows the closed request, without a form.
	_, body = get(t, http.MethodGet, e.links.Base+"review?token="+url.QueryEscape(alice))
	if strings.Contains(body, "<form") || !strings.Contains(body, "This approval request is closed: approved by alice@example.com, bob@example.com") {
		t.Errorf("closed page:\n%s", body)
	}
	golden.Check(t, "page-closed.html", strings.ReplaceAll(body, alice, "TOKEN"))
}

func TestDecideOnClosedRequest(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com", "bob@example.com"}, 1)
	alice := tokenOf(t, e.link(t, "alice@example.com"))
	bob := tokenOf(t, e.link(t, "bob@example.com"))
	if res, _ := post(t, e.srv.URL, url.Values{"token": {bob}, "decision": {"reject"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("bob reject = %d", res.StatusCode)
	}
	res, body := post(t, e.srv.URL, url.Values{"token": {alice}, "decision": {"approve"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "closed (rejected by bob@example.com)") {
		t.Errorf("approve after veto = %d, want 409 saying why:\n%s", res.StatusCode, body)
	}
	if r := e.request(t); len(r.Votes) != 1 || r.Outcome != approval.Rejected {
		t.Errorf("request after refused vote: %d votes, outcome %q", len(r.Votes), r.Outcome)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	good := tokenOf(t, e.link(t, "alice@example.com"))
	other, _ := token.NewKey(bytes.Repeat([]byte("o"), 32))
	foreign, _ := token.Keyring{Current: other}.Sign(token.Claims{Deployment: deploymentARN, Stage: "POST_TEST_TRAFFIC_SHIFT", Request: "7f3a", Approver: "alice@example.com", Expires: t0.Add(time.Hour).Unix()})
	stranger, _ := e.keys.Sign(token.Claims{Deployment: deploymentARN, Stage: "POST_TEST_TRAFFIC_SHIFT", Request: "7f3a", Approver: "mallory@example.com", Expires: t0.Add(time.Hour).Unix()})
	superseded, _ := e.keys.Sign(token.Claims{Deployment: deploymentARN, Stage: "POST_TEST_TRAFFIC_SHIFT", Request: "0000", Approver: "alice@example.com", Expires: t0.Add(time.Hour).Unix()})
	otherStage, _ := e.keys.Sign(token.Claims{Deployment: deploymentARN, Stage: "POST_SCALE_UP", Request: "7f3a", Approver: "alice@example.com", Expires: t0.Add(time.Hour).Unix()})
	expired, _ := e.keys.Sign(token.Claims{Deployment: deploymentARN, Stage: "POST_TEST_TRAFFIC_SHIFT", Request: "7f3a", Approver: "alice@example.com", Expires: t0.Unix()})
	tampered := good[:len(good)-2] + "AA"
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"missing", "", http.StatusBadRequest},
		{"tampered", tampered, http.StatusForbidden},
		{"foreign key", foreign, http.StatusForbidden},
		{"not an approver", stranger, http.StatusForbidden},
		{"superseded request", superseded, http.StatusGone},
		{"other stage", otherStage, http.StatusNotFound},
		{"expired", expired, http.StatusGone},
	}
	before := e.etag(t)
	for _, tt := range tests {
		res, body := get(t, http.MethodGet, e.srv.URL+Path+"?token="+url.QueryEscape(tt.token))
		if res.StatusCode != tt.status {
			t.Errorf("%s: GET = %d, want %d", tt.name, res.StatusCode, tt.status)
		}
		if strings.Contains(body, "orders") || strings.Contains(body, "<form") {
			t.Errorf("%s: refusal page reveals the request:\n%s", tt.name, body)
		}
		res, _ = post(t, e.srv.URL, url.Values{"token": {tt.token}, "decision": {"approve"}})
		if res.StatusCode != tt.status {
			t.Errorf("%s: POST = %d, want %d", tt.name, res.StatusCode, tt.status)
		}
	}
	if e.etag(t) != before {
		t.Error("refused requests changed the stored request")
	}

	res, _ := post(t, e.srv.URL, url.Values{"token": {good}, "decision": {"maybe"}})
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("POST with decision=maybe = %d, want 400", res.StatusCode)
	}
	res, _ = post(t, e.srv.URL, url.Values{"token": {good}, "decision": {"approve"}, "comment": {strings.Repeat("x", MaxBodySize)}})
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("oversized POST = %d, want 400", res.StatusCode)
	}
	res, _ = get(t, http.MethodDelete, e.srv.URL+Path)
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE = %d, want 405", res.StatusCode)
	}
	res, _ = get(t, http.MethodGet, e.srv.URL+"/admin")
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /admin = %d, want 404", res.StatusCode)
	}
	if e.etag(t) != before {
		t.Error("bad requests changed the stored request")
	}
}

func TestStoreUnavailable(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	alice := tokenOf(t, e.link(t, "alice@example.com"))
	e.st.Fail = func(op, key string) error { return hook.Transient(errors.New("connection refused")) }
	res, body := post(t, e.srv.URL, url.Values{"token": {alice}, "decision": {"approve"}})
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Nothing was recorded") {
		t.Errorf("POST with S3 down = %d, want 503 saying nothing was recorded:\n%s", res.StatusCode, body)
	}
	e.st.Fail = nil
	if r := e.request(t); len(r.Votes) != 0 {
		t.Errorf("votes = %+v, want none", r.Votes)
	}
}

func TestSharedLink(t *testing.T) {
	e := newEnv(t, nil, 1)
	link := e.link(t, "")
	_, body := get(t, http.MethodGet, link)
	if !strings.Contains(body, `name="name"`) {
		t.Fatalf("shared page does not ask for a name:\n%s", body)
	}
	tok := tokenOf(t, link)
	res, _ := post(t, e.srv.URL, url.Values{"token": {tok}, "decision": {"approve"}, "name": {"  "}})
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("POST without a name = %d, want 400", res.StatusCode)
	}
	res, _ = post(t, e.srv.URL, url.Values{"token": {tok}, "decision": {"approve"}, "name": {"Dana\x00 (on call)"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST with a name = %d", res.StatusCode)
	}
	r := e.request(t)
	if len(r.Votes) != 1 || r.Votes[0].Approver != "Dana (on call)" || r.Votes[0].Via != "shared-link" || r.Outcome != approval.Approved {
		t.Errorf("request = votes %+v outcome %q", r.Votes, r.Outcome)
	}
}

func TestRacingDecisionsGiveOneOutcome(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com", "bob@example.com"}, 1)
	alice := tokenOf(t, e.link(t, "alice@example.com"))
	bob := tokenOf(t, e.link(t, "bob@example.com"))
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, f := range []url.Values{
		{"token": {alice}, "decision": {"approve"}},
		{"token": {bob}, "decision": {"reject"}},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.PostForm(e.srv.URL+Path, f)
			if err == nil {
				codes[i] = res.StatusCode
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	r := e.request(t)
	if len(r.Votes) != 1 || r.Outcome == approval.Pending {
		t.Fatalf("after racing votes: %d votes, outcome %q; want exactly one vote deciding", len(r.Votes), r.Outcome)
	}
	ok, conflict := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
			conflict++
		}
	}
	if ok != 1 || conflict != 1 {
		t.Errorf("status codes %v, want one 200 and one 409", codes)
	}
}

func TestSmokeReportPage(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	ctx := context.Background()
	e.setSmoke(t, "smoke checks passed: 2 of 2")
	link := e.link(t, "alice@example.com")
	tok := tokenOf(t, link)
	report := e.srv.URL + ReportPath + "?token=" + url.QueryEscape(tok)

	if res, page := get(t, http.MethodGet, report); res.StatusCode != http.StatusNotFound || !strings.Contains(page, "no smoke report") {
		t.Errorf("report page without a report = %d:\n%s", res.StatusCode, page)
	}
	d, _ := hook.ParseDeploymentARN(deploymentARN)
	rep := smoke.Report{Version: smoke.ReportVersion, DeploymentARN: deploymentARN, Stage: hook.StagePostTestTrafficShift,
		Verdict: smoke.VerdictPassed, Summary: "smoke checks passed: 2 of 2 <b>"}
	if _, err := e.st.Create(ctx, smoke.ReportKey(d, hook.StagePostTestTrafficShift, smoke.ExtJSON), rep.EncodeJSON()); err != nil {
		t.Fatal(err)
	}
	res, page := get(t, http.MethodGet, report)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "smoke checks passed: 2 of 2 &lt;b&gt;") || !strings.Contains(page, `href="../review?token=`) {
		t.Errorf("report page = %d:\n%s", res.StatusCode, page)
	}
	if res, _ := get(t, http.MethodGet, e.srv.URL+ReportPath+"?token=x"+url.QueryEscape(tok)); res.StatusCode != http.StatusForbidden {
		t.Errorf("report page with a bad token = %d, want 403", res.StatusCode)
	}
	_, page = get(t, http.MethodGet, link)
	if !strings.Contains(page, `id="smoke">smoke checks passed: 2 of 2</span>`) || !strings.Contains(page, `href="review/report?token=`) {
		t.Errorf("review page lacks the smoke verdict and report link:\n%s", page)
	}
}

// TestAbortedRequest: the page of a request that watches alarms says which;
// once a watched alarm aborted it, the page says why and a vote is refused.
func TestAbortedRequest(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	r := e.request(t)
	r.AbortOnAlarms = approval.Alarms{Names: []string{"orders-5xx"}, Prefixes: []string{"orders-p"}}
	r.Notices = []approval.Notice{{Kind: "review", Approver: "alice@example.com", MessageID: "m-1", At: t0}}
	body, _ := r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
	link := e.link(t, "alice@example.com")
	if _, page := get(t, http.MethodGet, link); !strings.Contains(page, `<code id="watching">orders-5xx, orders-p*</code>`) {
		t.Errorf("open page does not list the watched alarms:\n%s", page)
	}

	r = e.request(t)
	r.AbortReason = "alarm orders-5xx is in ALARM"
	r.Outcome = approval.Aborted
	decided := e.now
	r.DecidedAt = &decided
	body, _ = r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
	if _, page := get(t, http.MethodGet, link); !strings.Contains(page, "This approval request is closed: aborted: alarm orders-5xx is in ALARM.") || strings.Contains(page, `name="decision"`) {
		t.Errorf("page of an aborted request does not say why, or still offers the form:\n%s", page)
	}
	res, page := post(t, e.srv.URL, url.Values{"token": {tokenOf(t, link)}, "decision": {"approve"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "aborted: alarm orders-5xx is in ALARM") {
		t.Errorf("approve after abort = %d, want 409 saying why:\n%s", res.StatusCode, page)
	}
	if r := e.request(t); len(r.Votes) != 0 {
		t.Errorf("the refused vote was recorded: %+v", r.Votes)
	}
}

type fakeStatus struct {
	status string
	err    error
	calls  int
}

func (f *fakeStatus) Status(ctx context.Context, arn string) (string, error) {
	f.calls++
	if arn != deploymentARN {
		return "", fmt.Errorf("asked about %s", arn)
	}
	return f.status, f.err
}

// TestDeploymentOver: an open request whose deployment ECS has stopped or
// rolled back shows that and takes no vote; while it runs, or when ECS
// cannot say, the page works as usual; a closed request does not ask.
func TestDeploymentOver(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com", "bob@example.com"}, 1)
	st := &fakeStatus{status: "ROLLBACK_SUCCESSFUL"}
	h := &Handler{Approvals: e.service(nil, st), Reports: e.st, Keys: e.keys, Now: func() time.Time { return e.now }, Log: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(h)
	defer srv.Close()
	link := strings.Replace(e.link(t, "alice@example.com"), e.srv.URL, srv.URL, 1)
	tok := tokenOf(t, link)

	res, page := get(t, http.MethodGet, link)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "ECS reports this deployment ROLLBACK_SUCCESSFUL: it no longer waits for this approval") || strings.Contains(page, `name="decision"`) {
		t.Errorf("page of a rolled-back deployment = %d, want it to say so without a form:\n%s", res.StatusCode, page)
	}
	calls := st.calls
	if res, _ := get(t, http.MethodHead, link); res.StatusCode != http.StatusOK || st.calls != calls {
		t.Errorf("HEAD = %d and asked ECS %d times, want 200 without asking (no body to show it in)", res.StatusCode, st.calls-calls)
	}
	res, page = post(t, srv.URL, url.Values{"token": {tok}, "decision": {"approve"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "ROLLBACK_SUCCESSFUL: it no longer waits for this approval, and there is nothing to decide. Nothing was recorded.") {
		t.Errorf("approve on a rolled-back deployment = %d, want 409:\n%s", res.StatusCode, page)
	}
	if r := e.request(t); len(r.Votes) != 0 {
		t.Errorf("a vote was recorded for a deployment that is over: %+v", r.Votes)
	}

	for _, tt := range []struct {
		name   string
		status string
		err    error
	}{{"running", "IN_PROGRESS", nil}, {"ECS unreachable", "", errors.New("dial tcp: connection refused")}} {
		st.status, st.err = tt.status, tt.err
		if _, page := get(t, http.MethodGet, link); !strings.Contains(page, `name="decision"`) || strings.Contains(page, "ECS reports") {
			t.Errorf("%s: page does not offer the form as usual:\n%s", tt.name, page)
		}
	}
	if res, _ := post(t, srv.URL, url.Values{"token": {tok}, "decision": {"approve"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("approve while ECS cannot say = %d, want 200", res.StatusCode)
	}
	calls = st.calls
	st.status, st.err = "ROLLBACK_SUCCESSFUL", nil
	if _, page := get(t, http.MethodGet, link); !strings.Contains(page, "This approval request is closed: approved by alice@example.com") || st.calls != calls {
		t.Errorf("closed request: asked ECS %d more times, page:\n%s", st.calls-calls, page)
	}
}

// TestFrozenRequestPage: a request that needs an emergency override says
// so, offers "Approve as emergency override", and takes an approval only as
// an override with a reason.
func TestFrozenRequestPage(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com", "bob@example.com"}, 1)
	r := e.request(t)
	r.Freeze = "deployment freeze (holidays) until 2027-01-04 00:00 UTC"
	r.OnExpiry = approval.Approve
	body, _ := r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
	link := e.link(t, "alice@example.com")
	tok := tokenOf(t, link)
	_, page := get(t, http.MethodGet, link)
	for _, want := range []string{`<span id="freeze">deployment freeze (holidays) until 2027-01-04 00:00 UTC</span>`,
		`<button type="submit" name="decision" value="override" class="approve" id="approve">Approve as emergency override</button>`,
		"without a decision the deployment is rejected and rolled back"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, `value="approve"`) {
		t.Errorf("page offers a plain approval:\n%s", page)
	}
	for _, tt := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"token": {tok}, "decision": {"approve"}}, http.StatusConflict, "This deployment needs an emergency override (deployment freeze (holidays)"},
		{url.Values{"token": {tok}, "decision": {"override"}, "comment": {" "}}, http.StatusBadRequest, "An emergency override needs the reason in the comment."},
	} {
		res, page := post(t, e.srv.URL, tt.form)
		if res.StatusCode != tt.status || !strings.Contains(page, tt.want) {
			t.Errorf("POST %v = %d, want %d with %q:\n%s", tt.form, res.StatusCode, tt.status, tt.want, page)
		}
	}
	if r := e.request(t); len(r.Votes) != 0 {
		t.Fatalf("refused votes were recorded: %+v", r.Votes)
	}
	res, page := post(t, e.srv.URL, url.Values{"token": {tok}, "decision": {"override"}, "comment": {"payment outage fix"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "approved by alice@example.com (emergency override)") {
		t.Errorf("override = %d:\n%s", res.StatusCode, page)
	}
	if r := e.request(t); len(r.Votes) != 1 || !r.Votes[0].Override || r.Votes[0].Comment != "payment outage fix" || r.Outcome != approval.Approved {
		t.Errorf("request after the override: %+v", r.Votes)
	}
}

// TestReviewURLWithAPath: with a review URL that has a path (a custom domain
// in front of the Function URL, such as CloudFront with /gatehouse), links
// live under that path; the page, its form and its report link all work
// there, and the root keeps working.
func TestReviewURLWithAPath(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com", "bob@example.com"}, 2)
	e.h.BasePath = BasePath(e.srv.URL + "/gatehouse/")
	if e.h.BasePath != "/gatehouse" {
		t.Fatalf("BasePath = %q, want /gatehouse", e.h.BasePath)
	}
	e.links.Base = e.srv.URL + "/gatehouse"
	ctx := context.Background()
	e.setSmoke(t, "smoke checks passed: 1 of 1")
	d, _ := hook.ParseDeploymentARN(deploymentARN)
	rep := smoke.Report{Version: smoke.ReportVersion, DeploymentARN: deploymentARN, Stage: hook.StagePostTestTrafficShift,
		Verdict: smoke.VerdictPassed, Summary: "smoke checks passed: 1 of 1"}
	if _, err := e.st.Create(ctx, smoke.ReportKey(d, hook.StagePostTestTrafficShift, smoke.ExtJSON), rep.EncodeJSON()); err != nil {
		t.Fatal(err)
	}

	link := e.link(t, "alice@example.com")
	if !strings.HasPrefix(link, e.srv.URL+"/gatehouse/review?token=") {
		t.Fatalf("link = %q, want it under /gatehouse/review", link)
	}
	res, page := get(t, http.MethodGet, link)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) {
		t.Fatalf("GET %s = %d, want the form:\n%s", link, res.StatusCode, page)
	}
	// Follow the page's own links as a browser resolves them.
	i := strings.Index(page, `href="review/report?token=`)
	if i < 0 {
		t.Fatalf("page has no report link:\n%s", page)
	}
	report := resolveRef(t, link, page[i+len(`href="`):])
	if !strings.HasPrefix(report, e.srv.URL+"/gatehouse/review/report?") {
		t.Errorf("report link resolves to %s", report)
	}
	if res, rp := get(t, http.MethodGet, report); res.StatusCode != http.StatusOK || !strings.Contains(rp, "smoke checks passed: 1 of 1") {
		t.Errorf("GET %s = %d:\n%s", report, res.StatusCode, rp)
	} else if back := resolveRef(t, report, rp[strings.Index(rp, `<a href="`)+len(`<a href="`):]); back != link {
		t.Errorf("the report's back link resolves to %s, want %s", back, link)
	}
	action := resolveRef(t, link, page[strings.Index(page, `action="`)+len(`action="`):])
	if action != e.srv.URL+"/gatehouse/review" {
		t.Fatalf("form action resolves to %s, want %s/gatehouse/review", action, e.srv.URL)
	}
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(url.Values{"token": {tokenOf(t, link)}, "decision": {"approve"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res, body := do(t, req); res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d:\n%s", action, res.StatusCode, body)
	}
	if got := e.request(t).Approvals(); got != 1 {
		t.Errorf("approvals after the post = %d, want 1", got)
	}
	// The root still serves, for a proxy that strips the path, and for the
	// Function URL itself.
	bob := e.link(t, "bob@example.com")
	root := strings.Replace(bob, "/gatehouse/review", "/review", 1)
	if res, page := get(t, http.MethodGet, root); res.StatusCode != http.StatusOK || !strings.Contains(page, `name="decision"`) {
		t.Errorf("GET %s = %d, want the form", root, res.StatusCode)
	}
	for _, p := range []string{"/gatehousex/review", "/other/review", "/gatehouse/gatehouse/review"} {
		if res, _ := get(t, http.MethodGet, e.srv.URL+p+"?token="+url.QueryEscape(tokenOf(t, bob))); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
	if res, _ := get(t, http.MethodGet, e.srv.URL+"/gatehouse"); res.StatusCode != http.StatusOK {
		t.Errorf("GET /gatehouse = %d, want the service's front page", res.StatusCode)
	}
}

// resolveRef resolves the attribute value at the start of rest (up to its
// closing quote) against base, as a browser would.
func resolveRef(t *testing.T, base, rest string) string {
	t.Helper()
	end := strings.IndexByte(rest, '"')
	if end < 0 {
		t.Fatalf("no closing quote in %.40q", rest)
	}
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Parse(strings.ReplaceAll(rest[:end], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// TestVoteWhileSmokeRuns: while the request waits for its smoke verdict the
// page shows no form, and a posted vote answers 409 saying why, recording
// nothing (it used to answer a generic 500).
func TestVoteWhileSmokeRuns(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	r := e.request(t)
	r.AwaitSmoke = true
	body, _ := r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
	link := e.link(t, "alice@example.com")
	if res, page := get(t, http.MethodGet, link); res.StatusCode != http.StatusOK || strings.Contains(page, `name="decision"`) {
		t.Errorf("GET while smoke runs = %d, want 200 without a form:\n%s", res.StatusCode, page)
	}
	before := e.etag(t)
	res, page := post(t, e.srv.URL, url.Values{"token": {tokenOf(t, link)}, "decision": {"approve"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "waits for the smoke checks") || strings.Contains(page, `name="decision"`) {
		t.Errorf("POST while smoke runs = %d, want 409 saying why and no form:\n%s", res.StatusCode, page)
	}
	if e.etag(t) != before || e.request(t).Approvals() != 0 {
		t.Error("a vote while smoke runs changed the request")
	}
}

// TestPolicyShown: the page says what the suite's policy does not let the
// service loosen.
func TestPolicyShown(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	r := e.request(t)
	r.Policy = []string{"This service may not lower the quorum below 2.", "Expiry rejects: this service may not make it <approve>."}
	body, _ := r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
	_, page := get(t, http.MethodGet, e.link(t, "alice@example.com"))
	if !strings.Contains(page, `<ul id="policy"><li>This service may not lower the quorum below 2.</li><li>Expiry rejects: this service may not make it &lt;approve&gt;.</li></ul>`) {
		t.Errorf("page does not show the suite's policy:\n%s", page)
	}
}

// TestInconsistentRequestPage: a request whose stored parts disagree gets
// a 409 page that says so, with no form, and a vote records nothing.
func TestInconsistentRequestPage(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	r := e.request(t)
	r.Outcome = approval.Approved // with no votes
	body, _ := r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
	before := e.etag(t)
	link := e.link(t, "alice@example.com")
	res, page := get(t, http.MethodGet, link)
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "stored record is inconsistent") || strings.Contains(page, "<form") {
		t.Errorf("page = %d:\n%s", res.StatusCode, page)
	}
	res, _ = post(t, e.srv.URL, url.Values{"token": {tokenOf(t, link)}, "decision": {"approve"}})
	if res.StatusCode != http.StatusConflict || e.etag(t) != before {
		t.Errorf("vote = %d (document changed: %v), want 409 and nothing recorded", res.StatusCode, e.etag(t) != before)
	}
}

// TestTimeoutContinueShown: the page warns that ECS lets the deployment go
// on when nobody decides before the hook's ECS timeout.
func TestTimeoutContinueShown(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	r := e.request(t)
	r.TimeoutContinues = true
	body, _ := r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
	if _, page := get(t, http.MethodGet, e.link(t, "alice@example.com")); !strings.Contains(page, `id="timeout-continue">CONTINUE: if nobody decides before this hook's ECS timeout`) {
		t.Errorf("page does not warn of CONTINUE:\n%s", page)
	}
}

// TestSlackInteractionsPath: Slack's clicks reach the Slack handler at
// /slack/interactions, under the review URL's path and at the root; without
// Slack configured there is nothing there.
func TestSlackInteractionsPath(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	res, _ := http.Post(e.srv.URL+SlackPath, "application/x-www-form-urlencoded", strings.NewReader("payload=x"))
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("without Slack: %d, want 404", res.StatusCode)
	}
	var reached []string
	e.h.Slack = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = append(reached, r.URL.Path) })
	e.h.BasePath = "/gatehouse"
	for _, p := range []string{"/gatehouse" + SlackPath, SlackPath} {
		res, err := http.Post(e.srv.URL+p, "application/x-www-form-urlencoded", strings.NewReader("payload=x"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if len(reached) != 2 {
		t.Errorf("the Slack handler got %v, want both paths", reached)
	}
}

// TestPageShowsWhatChangesAndWhereToTry: the page says where green can be
// tried (the link, the header to send, an internal load balancer) and what
// changes, as a table, with no secret-looking value; the email says both
// in short.
func TestPageShowsWhatChangesAndWhereToTry(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	r := e.request(t)
	blue := ecsdeploy.TaskDefinition{Memory: "512", Containers: []ecsdeploy.Container{{Name: "web", Image: "orders:1.4.0",
		Environment: map[string]string{"LOG_LEVEL": "info", "DB_PASSWORD": "hunter2-old"}}}}
	green := ecsdeploy.TaskDefinition{Memory: "1024", Containers: []ecsdeploy.Container{{Name: "web", Image: "orders:1.5.0",
		Environment: map[string]string{"LOG_LEVEL": "debug", "DB_PASSWORD": "hunter2-new"}}}}
	d := taskdiff.Compare(blue, green)
	r.Change.Known, r.Change.Diff = true, &d
	// As the approval hook stores it: a secret-looking header's value is
	// not kept (approvalparts), and the page and email name it only.
	r.Change.Try = &approval.TryIt{URL: "http://internal-orders.elb.amazonaws.com:8080", Headers: map[string]string{"x-amzn-ecs-bluegreen-test": "true", "X-Green-Token": approval.HeaderValue("X-Green-Token", "hunter2-header")},
		Paths: []string{"/api/*"}, Internal: true}
	body, _ := r.Encode()
	if _, err := e.st.Update(context.Background(), e.key, body, e.etag(t)); err != nil {
		t.Fatal(err)
	}
	_, page := get(t, http.MethodGet, e.link(t, "alice@example.com"))
	for _, want := range []string{`<a id="try" href="http://internal-orders.elb.amazonaws.com:8080">`, "x-amzn-ecs-bluegreen-test: true", "An internal load balancer",
		"X-Green-Token: (the value in the test listener rule)", "on the paths <code>/api/*</code> (others reach blue)",
		`<div id="changes">4 changes: memory 512 → 1024, web image 1.4.0 → 1.5.0, DB_PASSWORD changed, LOG_LEVEL info → debug</div>`,
		"<code>env LOG_LEVEL</code></td><td><code>info</code></td><td><code>debug</code>", "changed; the values are not shown"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	msg := approval.ReviewMessage(r, "alice@example.com", "https://review.example.com/review?token=x")
	for _, want := range []string{"Changes:     4 changes: memory 512 → 1024", "Try it:      http://internal-orders.elb.amazonaws.com:8080", "with the header x-amzn-ecs-bluegreen-test: true", "internal load balancer"} {
		if !strings.Contains(msg.Body, want) {
			t.Errorf("email lacks %q:\n%s", want, msg.Body)
		}
	}
	// Slack's message carries the same facts as the email.
	facts := approval.Facts(r)
	if !strings.Contains(facts, "Changes:     4 changes") || !strings.Contains(facts, "Try it:") {
		t.Errorf("the chat's facts lack the changes or where to try green:\n%s", facts)
	}
	stored, _ := r.Encode()
	if strings.Contains(page+msg.Body+facts+string(stored), "hunter2") {
		t.Error("a secret-looking value is on the page, in the email, in the chat's facts or in the stored request")
	}
}

// TestPageShowsTheStep: the request of one step of a linear or canary
// deployment (steps: each) says the step and the step check's verdict on
// the step just baked, on the page, in the email and in the chat's facts.
func TestPageShowsTheStep(t *testing.T) {
	e := newEnv(t, []string{"alice@example.com"}, 1)
	r := e.request(t)
	// The request of the step at 12.5%, at PRE_PRODUCTION_TRAFFIC_SHIFT.
	d, _ := hook.ParseDeploymentARN(deploymentARN)
	r.Stage, r.Gate, r.Steps = hook.StagePreProductionTrafficShift, approval.StepGate("", 12.5), approval.StepsEach
	r.Step = &approval.Step{GreenShare: 12.5, Evidence: "SUCCEEDED: step with 12.5% of production on green: bake passed: 6m, every check within limits, green served 480 requests"}
	body, _ := r.Encode()
	if _, err := e.st.Create(context.Background(), approval.GateKey(d, r.Stage, r.Gate), body); err != nil {
		t.Fatal(err)
	}
	link, err := e.links.Link(context.Background(), r, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	_, page := get(t, http.MethodGet, link)
	for _, want := range []string{`<span id="step">12.5% of production on green so far; approve to move on to the next step (steps: each)</span>`, "Step check: SUCCEEDED: step with 12.5% of production on green: bake passed"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	msg := approval.ReviewMessage(r, "alice@example.com", "https://review.example.com/review?token=x")
	facts := approval.Facts(r)
	for _, text := range []string{msg.Body, facts} {
		if !strings.Contains(text, "Step:        12.5% of production on green so far") || !strings.Contains(text, "Step check:  SUCCEEDED: step with 12.5%") {
			t.Errorf("the email or the chat's facts lack the step:\n%s", text)
		}
	}
}
