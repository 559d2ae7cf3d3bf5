package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// counter is a reverse proxy in front of the S3 server that counts requests
// by method, so a test can see exactly what a poll costs.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
}

func newCountingProxy(t testing.TB, target string) (*counter, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{counts: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.counts[r.Method]++
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// deploymentECS is ECS for the sample event's deployment, in progress at
// POST_TEST_TRAFFIC_SHIFT with its approval hook, from blue to green.
func deploymentECS(t testing.TB) *awstest.ECS {
	t.Helper()
	const (
		dep   = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"
		blue  = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/4971276102587734015"
		green = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/9313423515462893900"
	)
	started := float64(time.Now().Add(-10 * time.Minute).Unix())
	return awstest.NewECS(t, func(op string, body []byte) (any, *awstest.ECSError) {
		switch op {
		case "DescribeServiceDeployments":
			return map[string]any{"serviceDeployments": []any{map[string]any{
				"serviceDeploymentArn": dep, "serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders",
				"status": "IN_PROGRESS", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "startedAt": started, "createdAt": started,
				"sourceServiceRevisions": []any{map[string]any{"arn": blue}}, "targetServiceRevision": map[string]any{"arn": green},
				"lifecycleHookDetails": []any{map[string]any{"targetArn": "arn:aws:lambda:us-west-2:123456789012:function:bootstrap", "status": "IN_PROGRESS", "timeoutAction": "ROLLBACK"}},
			}}}, nil
		case "DescribeServiceRevisions":
			rev := func(arn, td, image string) any {
				return map[string]any{"serviceRevisionArn": arn, "taskDefinition": td, "containerImages": []any{map[string]any{"containerName": "web", "image": image}}}
			}
			return map[string]any{"serviceRevisions": []any{rev(blue, "orders:41", "orders:2.4.0"), rev(green, "orders:42", "orders:2.4.1")}}, nil
		case "ListServiceDeployments":
			return map[string]any{"serviceDeployments": []any{}}, nil
		case "DescribeTaskDefinition":
			var in struct{ TaskDefinition string }
			_ = json.Unmarshal(body, &in)
			image := map[string]string{"orders:41": "orders:2.4.0", "orders:42": "orders:2.4.1"}[in.TaskDefinition]
			return map[string]any{"taskDefinition": map[string]any{"taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/" + in.TaskDefinition,
				"containerDefinitions": []any{map[string]any{"name": "web", "image": image}}}}, nil
		}
		return nil, &awstest.ECSError{Code: "InvalidParameterException", Message: "not answered here: " + op}
	})
}

// pendingHook runs the approval hook under the emulator with S3 behind a
// counting proxy, and opens one approval request, so that later calls with
// the returned event are pending polls. With ecs, ECS answers (a stand-in);
// without, it cannot be reached.
func pendingHook(t testing.TB, ecs *awstest.ECS) (*awstest.RIE, *counter, []byte, func() *awstest.RIE) {
	t.Helper()
	s3srv := awstest.NewS3(t)
	snssrv := awstest.NewSNS(t)
	c, proxy := newCountingProxy(t, s3srv.Endpoint)
	env := append(snssrv.Env(), s3srv.Env()...)
	if ecs != nil {
		env = append(env, ecs.Env()...)
	}
	env = append(env,
		"AWS_ENDPOINT_URL_S3="+proxy,
		config.EnvStateBucket+"="+s3srv.Bucket,
		config.EnvSigningKey+"="+signingKey,
		config.EnvTopicARN+"="+snssrv.TopicARN,
		config.EnvReviewURL+"=http://127.0.0.1:1",
		config.EnvApprovers+"=alice@example.com",
	)
	bootstrap := awstest.BuildFunction(t, "approval-hook")
	start := func() *awstest.RIE { return awstest.NewRIE(t, bootstrap, env) }
	r := start()
	ev := mustReadTB(t, "../../events/post-test-traffic-shift.json")
	invoke(t, r, ev, hook.StatusInProgress)
	return r, c, ev, start
}

func invoke(t testing.TB, r *awstest.RIE, ev []byte, want hook.Status) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := r.Invoke(ctx, ev)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var res hook.Response
	if err := json.Unmarshal(out, &res); err != nil || res.HookStatus != want {
		t.Fatalf("hook answered %s (%v), want %s", out, err, want)
	}
}

// TestPendingPollMakesOneGet: a poll of a pending request costs exactly one
// S3 GET and no write, measured at the wire in front of the S3 server, and
// no call to ECS, which answered when the request opened.
func TestPendingPollMakesOneGet(t *testing.T) {
	ecs := deploymentECS(t)
	r, c, ev, _ := pendingHook(t, ecs)
	if ecs.Calls()["DescribeServiceDeployments"] == 0 {
		t.Fatalf("ECS was not asked when the request opened: %v", ecs.Calls())
	}
	asked := ecs.Calls()
	before := c.snapshot()
	const polls = 5
	for range polls {
		invoke(t, r, ev, hook.StatusInProgress)
	}
	after := c.snapshot()
	if gets := after[http.MethodGet] - before[http.MethodGet]; gets != polls {
		t.Errorf("%d pending polls made %d GETs, want exactly %d", polls, gets, polls)
	}
	for _, m := range []string{http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead} {
		if n := after[m] - before[m]; n != 0 {
			t.Errorf("%d pending polls made %d %s requests, want 0", polls, n, m)
		}
	}
	if now := ecs.Calls(); fmt.Sprint(now) != fmt.Sprint(asked) {
		t.Errorf("pending polls asked ECS: %v, then %v", asked, now)
	}
}

// BenchmarkFunctionSize reports each function's stripped linux/arm64 binary
// size (MB), and its zip's (zip-MB). Goal: at most 12 MB.
func BenchmarkFunctionSize(b *testing.B) {
	root := awstest.ModuleRoot(b)
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		b.Run(e.Name(), func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "bootstrap")
			// As `make build` builds them (Makefile, LAMBDA_FLAGS).
			cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-gcflags=all=-l", "-o", out, "./functions/"+e.Name())
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			if msg, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("build: %v\n%s", err, msg)
			}
			fi, err := os.Stat(out)
			if err != nil {
				b.Fatal(err)
			}
			// And packed as `make build` packs it: the size uploaded.
			zipped := filepath.Join(b.TempDir(), e.Name()+".zip")
			pack := exec.Command("go", "run", "./scripts/lambdazip", "-o", zipped, out)
			pack.Dir = root
			if msg, err := pack.CombinedOutput(); err != nil {
				b.Fatalf("zip: %v\n%s", err, msg)
			}
			zi, err := os.Stat(zipped)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
			}
			b.ReportMetric(float64(fi.Size())/1e6, "MB")
			b.ReportMetric(float64(zi.Size())/1e6, "zip-MB")
			b.ReportMetric(0, "ns/op")
			if fi.Size() > 12e6 {
				b.Errorf("%s is %.1f MB, over the 12 MB goal", e.Name(), float64(fi.Size())/1e6)
			}
		})
	}
}

// BenchmarkPendingPollWarm: one pending poll of the approval hook under the
// emulator, warm, ECS answering (a stand-in at the wire).
func BenchmarkPendingPollWarm(b *testing.B) {
	benchPendingPoll(b, deploymentECS(b))
}

// BenchmarkPendingPollWarmECSUnreachable: the same while ECS cannot be
// reached: each poll asks ECS again what the deployment changes (the SDK's
// retries included) before it answers.
func BenchmarkPendingPollWarmECSUnreachable(b *testing.B) {
	benchPendingPoll(b, nil)
}

func benchPendingPoll(b *testing.B, ecs *awstest.ECS) {
	r, c, ev, _ := pendingHook(b, ecs)
	before := c.snapshot()
	n := 0
	for b.Loop() {
		invoke(b, r, ev, hook.StatusInProgress)
		n++
	}
	after := c.snapshot()
	b.ReportMetric(float64(after[http.MethodGet]-before[http.MethodGet])/float64(n), "S3-GETs/poll")
	b.ReportMetric(float64(after[http.MethodPut]-before[http.MethodPut])/float64(n), "S3-PUTs/poll")
}

// BenchmarkPendingPollCold: a fresh emulator and function process for every
// poll: start-up, init and the first invoke.
func BenchmarkPendingPollCold(b *testing.B) {
	_, _, ev, start := pendingHook(b, deploymentECS(b))
	for b.Loop() {
		invoke(b, start(), ev, hook.StatusInProgress)
	}
}

func mustReadTB(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
