package e2e

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// smokeSecret is in the green service's response bodies; it must not appear
// in the function's output.
const smokeSecret = "e2e-b0dy-s3cret"

// greenService is the revision under test: a local HTTP server on 127.0.0.1.
type greenService struct {
	mu    sync.Mutex
	hits  map[string]int
	flaky int
}

func (g *greenService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	if g.hits == nil {
		g.hits = map[string]int{}
	}
	g.hits[r.URL.Path]++
	n := g.hits[r.URL.Path]
	g.mu.Unlock()
	switch r.URL.Path {
	case "/health":
		io.WriteString(w, "ok "+smokeSecret)
	case "/orders":
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "database unreachable "+smokeSecret)
	case "/warming":
		if n <= g.flaky {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	default:
		http.NotFound(w, r)
	}
}

func (g *greenService) count(path string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.hits[path]
}

func smokeCall(t *testing.T, fn *awstest.RIE, ev []byte) hook.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := fn.Invoke(ctx, ev)
	if err != nil {
		t.Fatalf("smoke hook invoke: %v (a handler error is a rollback)\n%s", err, fn.Logs())
	}
	var res hook.Response
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("smoke hook answer %s: %v", out, err)
	}
	return res
}

func smokeReport(t *testing.T, st *store.S3, id string) smoke.Report {
	t.Helper()
	d, err := hook.ParseDeploymentARN(strings.Replace(deploymentARN, "EZe5RNVLH6PPzHXINuP28", id, 1))
	if err != nil {
		t.Fatal(err)
	}
	r, err := smoke.LoadReport(context.Background(), st, d, hook.StagePostTestTrafficShift)
	if err != nil {
		t.Fatalf("LoadReport(%s) = %v", id, err)
	}
	text, err := st.Get(context.Background(), smoke.ReportKey(d, hook.StagePostTestTrafficShift, smoke.ExtText))
	if err != nil || !strings.HasPrefix(string(text.Body), "gatehouse smoke test: "+strings.ToUpper(string(r.Verdict))) {
		t.Errorf("text report = %q, %v, want one with the verdict", text.Body, err)
	}
	return r
}

// TestLambdaSmokeHook runs the built smoke-hook under the Lambda Runtime
// Interface Emulator against a local HTTP server, with its reports in a
// real S3-compatible server.
func TestLambdaSmokeHook(t *testing.T) {
	green := &greenService{}
	srv := httptest.NewServer(green)
	defer srv.Close()
	s3srv := awstest.NewS3(t)
	reports := store.New(s3srv.Client(), s3srv.Bucket)
	fn := awstest.NewRIE(t, awstest.BuildFunction(t, "smoke-hook"), append(s3srv.Env(),
		config.EnvStateBucket+"="+s3srv.Bucket,
		config.EnvSmokeConfig+`={"retries":1,"retryDelayMs":20,"timeoutMs":2000,"checks":[{"name":"health","path":"/health","bodyContains":"ok"}]}`,
		// Each service gives the URL of its test listener.
		config.EnvPolicy+`={"smoke": {"loosen": {"baseUrl": true}}}`,
	))

	t.Run("healthy", func(t *testing.T) {
		res := smokeCall(t, fn, event(t, "smoke1", map[string]any{"baseUrl": srv.URL}))
		if res.HookStatus != hook.StatusSucceeded || !strings.Contains(res.Reason, "smoke checks passed: 1 of 1") {
			t.Fatalf("answer %+v, want SUCCEEDED", res)
		}
		r := smokeReport(t, reports, "smoke1")
		if r.Verdict != smoke.VerdictPassed || len(r.Checks) != 1 || !r.Checks[0].Passed || r.Checks[0].LastStatus != 200 || r.Finished.IsZero() {
			t.Errorf("report %+v, want passed", r)
		}
	})

	t.Run("broken", func(t *testing.T) {
		// The service's check runs besides the suite's health check.
		res := smokeCall(t, fn, event(t, "smoke2", map[string]any{"baseUrl": srv.URL, "checks": []map[string]any{
			{"name": "orders api", "path": "/orders", "expectStatus": []int{200}},
		}}))
		if res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "smoke checks failed: orders api [2 attempts]: status 500, want 200") {
			t.Fatalf("answer %+v, want FAILED naming orders api", res)
		}
		r := smokeReport(t, reports, "smoke2")
		if r.Verdict != smoke.VerdictFailed || r.Summary != res.Reason {
			t.Errorf("report %+v, want failed with the reason", r)
		}
		if f := r.Failed(true); len(f) != 1 || f[0].Name != "orders api" || f[0].Attempts != 2 {
			t.Errorf("failed checks %+v, want orders api after 2 attempts", f)
		}
	})

	t.Run("bad configuration", func(t *testing.T) {
		res := smokeCall(t, fn, event(t, "smoke3", map[string]any{"baseUrl": srv.URL, "checks": []map[string]any{{"name": "x", "path": "health"}}}))
		if res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "hookDetails.checks[0].path") {
			t.Errorf("answer %+v, want FAILED naming checks[0].path", res)
		}
	})

	t.Run("no baseUrl and nothing to discover", func(t *testing.T) {
		// ECS and ELBv2 point at a dead local endpoint: discovery fails
		// with a refused connection, which is transient.
		res := smokeCall(t, fn, event(t, "smoke4", nil))
		if res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "baseUrl") {
			t.Errorf("answer %+v, want IN_PROGRESS naming baseUrl", res)
		}
	})

	if strings.Contains(fn.Logs(), smokeSecret) {
		t.Errorf("the function logged a response body:\n%s", fn.Logs())
	}
}

// TestLambdaSmokeContinues: with a function timeout of 3 s, a retry due in
// a few seconds does not fit into one call; the built function answers
// IN_PROGRESS with its state, and the call ECS makes after the callback
// delay (with the state merged back into hookDetails) passes.
func TestLambdaSmokeContinues(t *testing.T) {
	green := &greenService{flaky: 1}
	srv := httptest.NewServer(green)
	defer srv.Close()
	s3srv := awstest.NewS3(t)
	fn := awstest.NewRIE(t, awstest.BuildFunction(t, "smoke-hook"), append(s3srv.Env(),
		config.EnvStateBucket+"="+s3srv.Bucket,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=3",
	))
	configured := map[string]any{"baseUrl": srv.URL, "retryDelayMs": 3000, "timeoutMs": 500,
		"checks": []map[string]any{{"name": "warming", "path": "/warming"}}}
	details := maps.Clone(configured)
	var res hook.Response
	for call := 1; ; call++ {
		if call > 5 {
			t.Fatalf("still %s after %d calls: %s", res.HookStatus, call-1, res.Reason)
		}
		res = smokeCall(t, fn, event(t, "smoke5", details))
		if res.HookStatus != hook.StatusInProgress {
			break
		}
		if res.CallBackDelay < 1 || res.CallBackDelay > 3 {
			t.Fatalf("callBackDelay %d, want the 1.5 to 3 s until the retry", res.CallBackDelay)
		}
		// What ECS does: merge the returned hookDetails into the
		// configured ones and call again after the delay.
		var returned map[string]any
		if err := json.Unmarshal(res.HookDetails, &returned); err != nil || returned[smoke.StateKey] == nil {
			t.Fatalf("returned hookDetails %s, want the state under %s", res.HookDetails, smoke.StateKey)
		}
		maps.Copy(details, returned)
		time.Sleep(time.Duration(res.CallBackDelay) * time.Second)
	}
	if res.HookStatus != hook.StatusSucceeded {
		t.Fatalf("answer %+v, want SUCCEEDED once green warmed up", res)
	}
	if n := green.count("/warming"); n != 2 {
		t.Errorf("/warming requested %d times, want 2", n)
	}
	r := smokeReport(t, store.New(s3srv.Client(), s3srv.Bucket), "smoke5")
	if r.Verdict != smoke.VerdictPassed || r.Calls < 2 || r.Checks[0].Attempts != 2 {
		t.Errorf("report %+v, want passed after 2 attempts over at least 2 calls", r)
	}
}
