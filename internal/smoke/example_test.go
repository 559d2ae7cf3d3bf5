package smoke_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The smoke hook called in-process, as the local simulator does: its own
// HTTP client, no discovery (the base URL is in the configuration), reports
// in memory.
func ExampleHookHandler() {
	green := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			io.WriteString(w, "ok")
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer green.Close()

	defaults, err := smoke.DefaultConfig().Apply([]byte(`{"retries": 0, "checks": [
		{"name": "health", "path": "/health", "bodyContains": "ok"},
		{"name": "orders", "path": "/orders"}]}`), "GATEHOUSE_SMOKE_CONFIG")
	if err != nil {
		panic(err)
	}
	// Services give the URL of their test listener: the policy lets them.
	defaults.Policy = hook.Loosen{"baseUrl": true}
	reports := store.NewMemory()
	runner := &smoke.Runner{Client: green.Client(), Reports: reports, Log: slog.New(slog.DiscardHandler)}
	h := hook.Wrap(smoke.HookHandler(runner, defaults), hook.Options{Logger: slog.New(slog.DiscardHandler)})

	event := fmt.Sprintf(`{"executionId": "e1", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
		"resourceArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/local1",
		"executionDetails": {"serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders",
			"targetServiceRevisionArn": "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/2"},
		"hookDetails": {"baseUrl": %q}}`, green.URL)
	res, _ := h(context.Background(), []byte(event))
	fmt.Println(res.HookStatus)
	fmt.Println(res.Reason)

	d, _ := hook.ParseDeploymentARN("arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/local1")
	report, _ := smoke.LoadReport(context.Background(), reports, d, hook.StagePostTestTrafficShift)
	fmt.Println(report.Verdict, len(report.Failed(true)))
	// Output:
	// FAILED
	// smoke checks failed: orders [1 attempt]: status 500, want 200
	// failed 1
}
