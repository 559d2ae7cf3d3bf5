package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// suite is both functions, built as bootstrap binaries, running under the
// Lambda Runtime Interface Emulator against versitygw and goaws, with a
// front server that plays the Lambda Function URL for the review API.
type suite struct {
	s3    *awstest.S3
	sns   *awstest.SNS
	hook  *awstest.RIE
	api   *awstest.RIE
	front *httptest.Server
	store *store.S3
}

func newSuite(t *testing.T) *suite {
	t.Helper()
	return newSuiteAt(t, "")
}

// newSuiteAt is newSuite with a review URL of the front server's URL and
// basePath, as behind a custom domain with a path (CloudFront forwarding
// /gatehouse/... to the Function URL); the review API is told it too.
func newSuiteAt(t *testing.T, basePath string) *suite {
	t.Helper()
	s := &suite{s3: awstest.NewS3(t), sns: awstest.NewSNS(t)}
	s.store = store.New(s.s3.Client(), s.s3.Bucket)
	// The front server exists before the functions so the hook knows the
	// review URL; it forwards to s.api once that runs.
	s.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.forward(t, w, r) }))
	t.Cleanup(s.front.Close)
	common := append(s.sns.Env(), s.s3.Env()...)
	common = append(common,
		config.EnvStateBucket+"="+s.s3.Bucket,
		config.EnvSigningKey+"="+signingKey,
	)
	s.hook = awstest.NewRIE(t, awstest.BuildFunction(t, "approval-hook"), append(common,
		config.EnvTopicARN+"="+s.sns.TopicARN,
		config.EnvReviewURL+"="+s.front.URL+basePath,
		config.EnvApprovers+"=alice@example.com,bob@example.com",
	))
	apiEnv := common
	if basePath != "" {
		apiEnv = append(apiEnv[:len(apiEnv):len(apiEnv)], config.EnvReviewURL+"="+s.front.URL+basePath)
	}
	s.api = awstest.NewRIE(t, awstest.BuildFunction(t, "approval-api"), apiEnv)
	return s
}

// forward turns an HTTP request into a Function URL event, invokes the
// review API under the emulator, and writes its answer back: what the
// Function URL service does in AWS.
func (s *suite) forward(t *testing.T, w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	hdr := map[string]string{}
	for k, v := range r.Header {
		hdr[strings.ToLower(k)] = strings.Join(v, ",")
	}
	ev := events.LambdaFunctionURLRequest{
		Version:        "2.0",
		RawPath:        r.URL.Path,
		RawQueryString: r.URL.RawQuery,
		Headers:        hdr,
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: r.Host,
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: "198.51.100.23", UserAgent: r.UserAgent(),
			},
		},
		Body: string(body),
	}
	payload, _ := json.Marshal(ev)
	out, err := s.api.Invoke(r.Context(), payload)
	if err != nil {
		t.Errorf("review API invoke: %v", err)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var res events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &res); err != nil {
		t.Errorf("review API answer %s: %v", out, err)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, v := range res.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.WriteString(w, res.Body)
}

// event returns the POST_TEST_TRAFFIC_SHIFT sample for a deployment id of
// the test's own, with hookDetails.
func event(t *testing.T, id string, details map[string]any) []byte {
	t.Helper()
	var req hook.Request
	data := mustRead(t, "../../events/post-test-traffic-shift.json")
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	req.ResourceARN = strings.Replace(req.ResourceARN, "EZe5RNVLH6PPzHXINuP28", id, 1)
	if details != nil {
		req.HookDetails, _ = json.Marshal(details)
	}
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *suite) call(t *testing.T, ev []byte) hook.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := s.hook.Invoke(ctx, ev)
	if err != nil {
		t.Fatalf("hook invoke: %v (a handler error is a rollback)\n%s", err, s.hook.Logs())
	}
	var res hook.Response
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("hook answer %s: %v", out, err)
	}
	return res
}

func (s *suite) want(t *testing.T, ev []byte, status hook.Status, reason string) hook.Response {
	t.Helper()
	res := s.call(t, ev)
	if res.HookStatus != status || !strings.Contains(res.Reason, reason) {
		t.Fatalf("hook answered %s %q, want %s with %q", res.HookStatus, res.Reason, status, reason)
	}
	return res
}

// links waits for the review messages about deployment id and returns each
// approver's link.
func (s *suite) links(t *testing.T, id string, n int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := map[string]string{}
		for _, m := range s.sns.Messages() {
			if strings.HasPrefix(m.Subject, "[gatehouse] Approve") && strings.Contains(m.Message, "/"+id+"\n") {
				out[m.MessageAttributes[notify.AttrApprover].Value] = linkRE.FindString(m.Message)
			}
		}
		if len(out) >= n || time.Now().After(deadline) {
			if len(out) != n {
				t.Fatalf("review links for %s: %v, want %d", id, out, n)
			}
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *suite) etag(t *testing.T, id string) string {
	t.Helper()
	obj, err := s.store.Get(context.Background(), s.key(t, id))
	if err != nil {
		t.Fatal(err)
	}
	return obj.ETag
}

func (s *suite) key(t *testing.T, id string) string {
	d, err := hook.ParseDeploymentARN(strings.Replace(deploymentARN, "EZe5RNVLH6PPzHXINuP28", id, 1))
	if err != nil {
		t.Fatal(err)
	}
	return approval.Key(d, hook.StagePostTestTrafficShift)
}

func (s *suite) open(t *testing.T, method, link string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// decide posts the review form as a browser would: the token from the
// page's hidden field, to the form's action resolved against the link.
func (s *suite) decide(t *testing.T, link, decision, comment string) (int, string) {
	t.Helper()
	_, page := s.open(t, http.MethodGet, link)
	m := hiddenToken.FindStringSubmatch(page)
	a := formAction.FindStringSubmatch(page)
	if m == nil || a == nil {
		t.Fatalf("no form on the review page:\n%s", page)
	}
	base, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	action, err := base.Parse(htmlUnescape(a[1]))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"token": {htmlUnescape(m[1])}, "decision": {decision}, "comment": {comment}}
	res, err := http.Post(action.String(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)

// TestLambdaReviewURLWithAPath: with GATEHOUSE_REVIEW_URL under a path (a
// custom domain with a path in front of the Function URL), the built hook
// makes links under it, and the built review API opens them, takes the
// posted form there and decides.
func TestLambdaReviewURLWithAPath(t *testing.T) {
	s := newSuiteAt(t, "/gatehouse")
	ev := event(t, "path1", nil)
	s.want(t, ev, hook.StatusInProgress, "waiting for approval: 0 of 1")
	links := s.links(t, "path1", 2)
	link := links["alice@example.com"]
	if !strings.HasPrefix(link, s.front.URL+"/gatehouse"+review.Path+"?token=") {
		t.Fatalf("review link %q, want it under %s/gatehouse%s", link, s.front.URL, review.Path)
	}
	if code, page := s.open(t, http.MethodGet, link); code != http.StatusOK || !strings.Contains(page, `name="decision"`) {
		t.Fatalf("GET review link = %d, want the form:\n%s", code, page)
	}
	if code, page := s.decide(t, link, "approve", "via the custom domain"); code != http.StatusOK || !strings.Contains(page, "The deployment is approved") {
		t.Fatalf("approve = %d:\n%s", code, page)
	}
	s.want(t, ev, hook.StatusSucceeded, "approved by alice@example.com")
}

func TestLambdaApprovalFlow(t *testing.T) {
	s := newSuite(t)

	t.Run("approve", func(t *testing.T) {
		ev := event(t, "approve1", nil)
		s.want(t, ev, hook.StatusInProgress, "waiting for approval: 0 of 1")
		links := s.links(t, "approve1", 2)
		before := s.etag(t, "approve1")
		// A mail scanner opens the link, with GET and HEAD, again and again.
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodGet} {
			if code, _ := s.open(t, m, links["alice@example.com"]); code != http.StatusOK {
				t.Fatalf("%s review link = %d, want 200", m, code)
			}
		}
		if s.etag(t, "approve1") != before {
			t.Fatal("opening the review link changed the request")
		}
		s.want(t, ev, hook.StatusInProgress, "0 of 1")
		if code, page := s.decide(t, links["alice@example.com"], "approve", "ship it"); code != http.StatusOK || !strings.Contains(page, "The deployment is approved") {
			t.Fatalf("approve = %d:\n%s", code, page)
		}
		s.want(t, ev, hook.StatusSucceeded, "approved by alice@example.com")
		obj, _ := s.store.Get(context.Background(), s.key(t, "approve1"))
		r, err := approval.Decode(obj.Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Votes) != 1 || r.Votes[0].SourceIP != "198.51.100.23" || r.Votes[0].Comment != "ship it" {
			t.Errorf("votes = %+v, want alice's with source IP and comment", r.Votes)
		}
	})

	t.Run("reject", func(t *testing.T) {
		ev := event(t, "reject1", nil)
		s.want(t, ev, hook.StatusInProgress, "waiting")
		links := s.links(t, "reject1", 2)
		if code, _ := s.decide(t, links["bob@example.com"], "reject", "p99 doubled"); code != http.StatusOK {
			t.Fatalf("reject = %d", code)
		}
		s.want(t, ev, hook.StatusFailed, "rejected by bob@example.com: p99 doubled")
	})

	t.Run("quorum and replay", func(t *testing.T) {
		ev := event(t, "quorum1", map[string]any{"requiredApprovals": 2})
		s.want(t, ev, hook.StatusInProgress, "0 of 2")
		links := s.links(t, "quorum1", 2)
		if code, _ := s.decide(t, links["alice@example.com"], "approve", ""); code != http.StatusOK {
			t.Fatalf("alice approve = %d", code)
		}
		s.want(t, ev, hook.StatusInProgress, "1 of 2")
		// Replaying alice's POST does not count twice.
		before := s.etag(t, "quorum1")
		tok := tokenOf(t, links["alice@example.com"])
		res, err := http.PostForm(s.front.URL+review.Path, url.Values{"token": {tok}, "decision": {"approve"}})
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("already recorded")) {
			t.Errorf("replay = %d, want 200 saying already recorded:\n%s", res.StatusCode, page)
		}
		if s.etag(t, "quorum1") != before {
			t.Error("a replayed POST changed the request")
		}
		s.want(t, ev, hook.StatusInProgress, "1 of 2")
		if code, _ := s.decide(t, links["bob@example.com"], "approve", ""); code != http.StatusOK {
			t.Fatalf("bob approve = %d", code)
		}
		s.want(t, ev, hook.StatusSucceeded, "2 of 2 required")
	})

	t.Run("expiry", func(t *testing.T) {
		ev := event(t, "expiry1", map[string]any{"timeout": "1h"})
		s.want(t, ev, hook.StatusInProgress, "waiting")
		// Let an hour pass: move the stored expiry into the past, with a
		// conditional write as every writer does.
		obj, err := s.store.Get(context.Background(), s.key(t, "expiry1"))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := approval.Decode(obj.Body)
		// (its recorded terms too: an expiry moved alone is refused as
		// inconsistent).
		r.CreatedAt = r.CreatedAt.Add(-time.Hour)
		r.ExpiresAt = r.ExpiresAt.Add(-time.Hour)
		r.Terms.ExpiresAt = r.ExpiresAt
		body, _ := r.Encode()
		if _, err := s.store.Update(context.Background(), s.key(t, "expiry1"), body, obj.ETag); err != nil {
			t.Fatal(err)
		}
		s.want(t, ev, hook.StatusFailed, "no decision within 1h, rejected by default")
		link := s.links(t, "expiry1", 2)["alice@example.com"]
		if code, page := s.open(t, http.MethodGet, link); code != http.StatusOK || strings.Contains(page, "<form") || !strings.Contains(page, "closed: no decision within 1h") {
			t.Errorf("review page of an expired request = %d, want it closed without a form:\n%s", code, page)
		}
		res, err := http.PostForm(s.front.URL+review.Path, url.Values{"token": {tokenOf(t, link)}, "decision": {"approve"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusConflict {
			t.Errorf("approving an expired request = %d, want 409", res.StatusCode)
		}
	})

	t.Run("tampered token", func(t *testing.T) {
		ev := event(t, "tamper1", nil)
		s.want(t, ev, hook.StatusInProgress, "waiting")
		link := s.links(t, "tamper1", 2)["alice@example.com"]
		tok := tokenOf(t, link)
		bad := tok[:len(tok)-3] + "AAA"
		before := s.etag(t, "tamper1")
		if code, page := s.open(t, http.MethodGet, s.front.URL+review.Path+"?token="+url.QueryEscape(bad)); code != http.StatusForbidden || strings.Contains(page, "orders") {
			t.Errorf("tampered GET = %d, want 403 revealing nothing:\n%s", code, page)
		}
		res, err := http.PostForm(s.front.URL+review.Path, url.Values{"token": {bad}, "decision": {"approve"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("tampered POST = %d, want 403", res.StatusCode)
		}
		if s.etag(t, "tamper1") != before {
			t.Error("a tampered token changed the request")
		}
		s.want(t, ev, hook.StatusInProgress, "0 of 1")
	})

	t.Run("bad hookDetails", func(t *testing.T) {
		s.want(t, event(t, "bad1", map[string]any{"requiredApprovals": 3}), hook.StatusFailed, "requiredApprovals: 3 is more than the 2 approvers")
		s.want(t, event(t, "bad2", map[string]any{"aprovers": []string{"x@example.com"}}), hook.StatusFailed, "hookDetails.aprovers: unknown key")
	})

	// There is no CloudWatch here (AWS_ENDPOINT_URL is unreachable): the
	// watched alarms cannot be read, which is transient. The request opens,
	// notifies, records when the trouble began (it aborts the request if it
	// lasts), and holds.
	t.Run("alarms unreadable", func(t *testing.T) {
		ev := event(t, "alarms1", map[string]any{"abortOnAlarms": map[string]any{"names": []string{"orders-5xx"}}})
		s.want(t, ev, hook.StatusInProgress, "waiting for approval: 0 of 1")
		s.links(t, "alarms1", 2)
		s.want(t, ev, hook.StatusInProgress, "waiting for approval: 0 of 1")
		obj, err := s.store.Get(context.Background(), s.key(t, "alarms1"))
		if err != nil {
			t.Fatal(err)
		}
		if r, err := approval.Decode(obj.Body); err != nil || r.AbortOnAlarms.String() != "orders-5xx" || r.Outcome != approval.Pending || r.AlarmTroubleSince == nil {
			t.Errorf("request = %+v, %v, want it open, watching orders-5xx, and the trouble reading the alarms recorded", r, err)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		s.want(t, mustRead(t, "../../events/rollback-test-traffic-shift.json"), hook.StatusSucceeded, "rollback")
	})

	t.Run("malformed event", func(t *testing.T) {
		s.want(t, []byte(`{"lifecycleStage":"POST_TEST_TRAFFIC_SHIFT"}`), hook.StatusFailed, "resourceArn is missing")
	})

	// Last: it stops the S3 server.
	t.Run("S3 unreachable", func(t *testing.T) {
		ev := event(t, "s3down1", nil)
		s.s3.Stop()
		res := s.want(t, ev, hook.StatusInProgress, "transient error")
		if res.CallBackDelay != 30 {
			t.Errorf("callBackDelay = %d, want 30", res.CallBackDelay)
		}
		code, page := s.open(t, http.MethodGet, s.front.URL+review.Path+"?token="+url.QueryEscape(tokenOf(t, s.links(t, "approve1", 2)["bob@example.com"])))
		if code != http.StatusServiceUnavailable {
			t.Errorf("review page with S3 down = %d, want 503:\n%s", code, page)
		}
	})
}

func TestLambdaBadEnvironment(t *testing.T) {
	r := awstest.NewRIE(t, awstest.BuildFunction(t, "approval-hook"), []string{config.EnvRequiredApprovals + "=two"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := r.Invoke(ctx, mustRead(t, "../../events/post-test-traffic-shift.json"))
	if err == nil {
		t.Fatal("invoke with a bad environment succeeded, want the function to stop at start")
	}
	// The emulator may answer before the function's last line reaches its
	// log: read it until the line is there, for a few seconds at most.
	logs := r.Logs()
	for i := 0; i < 50 && !strings.Contains(logs, config.EnvRequiredApprovals); i++ {
		time.Sleep(100 * time.Millisecond)
		logs = r.Logs()
	}
	for _, name := range []string{config.EnvStateBucket, config.EnvTopicARN, config.EnvReviewURL, config.EnvRequiredApprovals} {
		if !strings.Contains(logs, name) {
			t.Errorf("start-up log does not name %s:\n%s", name, logs)
		}
	}
	if n := strings.Count(logs, "bad configuration"); n < 1 {
		t.Errorf("no bad-configuration line in:\n%s", logs)
	}
}
