package smoke

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Each test here is a way a smoke run could pass without having tested
// green, or leak what green answered.

func TestDiscoveredRuleMustRouteEveryCheck(t *testing.T) {
	srv := httptest.NewServer(&app{})
	defer srv.Close()
	cfg, err := DefaultConfig().Apply([]byte(`{"retries":0,"checks":[{"name":"health","path":"/health?x=1","bodyContains":"ok"}]}`), "test")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		target Target
		status hook.Status
		reason string
	}{
		{"no restrictions", Target{BaseURL: srv.URL}, hook.StatusSucceeded, "passed"},
		{"path covered by a pattern", Target{BaseURL: srv.URL, PathPatterns: []string{"/api/*", "/hea?th"}, Methods: []string{"GET", "HEAD"}}, hook.StatusSucceeded, "passed"},
		{"path not routed", Target{BaseURL: srv.URL, PathPatterns: []string{"/api/*"}}, hook.StatusFailed, "checks[0].path /health is not routed by the test listener rule"},
		{"method not routed", Target{BaseURL: srv.URL, Methods: []string{"POST"}}, hook.StatusFailed, "checks[0].method GET is not routed"},
		{"condition that cannot be met", Target{BaseURL: srv.URL, Unsatisfiable: []string{"source address 10.0.0.0/8"}}, hook.StatusFailed, "conditions the checks cannot be sure to meet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{Client: srv.Client(), Reports: newReports(), Log: slog.New(slog.DiscardHandler),
				Discoverer: DiscoverFunc(func(context.Context, string) (Target, error) { return tt.target, nil })}
			res, err := HookHandler(r, cfg)(context.Background(), request(""))
			if err != nil || res.HookStatus != tt.status || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("= %s %q (%v), want %s with %q", res.HookStatus, res.Reason, err, tt.status, tt.reason)
			}
		})
	}
}

func TestStateOfAnotherRunIsNotReused(t *testing.T) {
	a := &app{}
	srv := httptest.NewServer(a)
	defer srv.Close()
	details := fmt.Sprintf(`{"baseUrl":%q,"retries":0,"checks":[{"name":"health","path":"/health","bodyContains":"ok"}]}`, srv.URL)
	h := HookHandler(&Runner{Client: srv.Client(), Reports: newReports(), Log: slog.New(slog.DiscardHandler)}, DefaultConfig())
	first, err := h(context.Background(), request(details))
	if err != nil || first.HookStatus != hook.StatusSucceeded {
		t.Fatalf("first run: %s %v", first.HookStatus, err)
	}
	// A state that says everything passed, but for another stage (ECS keeps
	// merged hookDetails): the checks run again.
	st := newState(mustConfig(t, details), time.Now())
	st.Run = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/other|PRE_SCALE_UP|rev"
	for i := range st.Checks {
		st.Checks[i].Outcome, st.Checks[i].Attempts, st.Checks[i].Streak = OutcomePassed, 1, 1
	}
	before := a.count("/health")
	req := request(strings.TrimSuffix(details, "}") + `,"smokeState":` + string(st.encode()) + `}`)
	if _, err := h(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if a.count("/health") == before {
		t.Error("a state from another run was trusted: no request reached green")
	}
}

func TestNoCriticalCheckIsRefused(t *testing.T) {
	cfg, err := DefaultConfig().Apply([]byte(`{"checks":[{"name":"a","path":"/a","critical":false}]}`), "hookDetails")
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), "none is critical") {
		t.Errorf("a configuration without a critical check = %v, want it refused", err)
	}
}

func TestFailureIsAnsweredEvenIfTheReportIsNot(t *testing.T) {
	srv := httptest.NewServer(&app{})
	defer srv.Close()
	reports := newReports()
	reports.Fail = func(_, _ string) error { return hook.Transient(errors.New("s3: slow down")) }
	h := HookHandler(&Runner{Client: srv.Client(), Reports: reports, Log: slog.New(slog.DiscardHandler)}, DefaultConfig())
	res, err := h(context.Background(), request(fmt.Sprintf(`{"baseUrl":%q,"retries":0,"checks":[{"name":"api","path":"/broken"}]}`, srv.URL)))
	if err != nil || res.HookStatus != hook.StatusFailed {
		t.Errorf("= %s %q (%v), want FAILED at once", res.HookStatus, res.Reason, err)
	}
}

func TestResponseBytesStayOut(t *testing.T) {
	// A server whose answer is malformed, carrying a secret.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for range 10 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = bufio.NewReader(c).ReadString('\n')
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nSet-Cookie session=SECRET-TOKEN\r\n\r\n")
			c.Close()
		}
	}()
	reports := newReports()
	h := HookHandler(&Runner{Reports: reports, Log: slog.New(slog.DiscardHandler)}, DefaultConfig())
	res, err := h(context.Background(), request(fmt.Sprintf(`{"baseUrl":"http://%s","retries":0,"checks":[{"name":"h","path":"/h"}]}`, ln.Addr())))
	if err != nil || res.HookStatus != hook.StatusFailed {
		t.Fatalf("= %s %q (%v)", res.HookStatus, res.Reason, err)
	}
	if strings.Contains(res.Reason, "SECRET") {
		t.Errorf("the reason quotes the response: %q", res.Reason)
	}
	for _, k := range reports.Keys() {
		if b, _ := reports.Get(context.Background(), k); strings.Contains(string(b.Body), "SECRET") {
			t.Errorf("report %s quotes the response", k)
		}
	}
}
