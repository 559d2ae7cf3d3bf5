package awstest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// ECS stands in for the Amazon ECS API at the wire, for built functions
// run under the emulator, which no SDK middleware (Answer) reaches. No ECS
// emulator exists here: it answers the awsJson1.1 protocol the SDK speaks
// (POST, X-Amz-Target AmazonEC2ContainerServiceV20141113.<Operation>, a
// JSON body) from a function the test gives, so the SDK's own encoding and
// decoding run. It listens on loopback only.
type ECS struct {
	// URL is the endpoint: AWS_ENDPOINT_URL_ECS.
	URL string

	mu    sync.Mutex
	calls map[string]int
}

// ECSAnswer answers one call of operation op (DescribeServiceDeployments,
// ...) with body, the request's JSON: a value marshalled as the response,
// or an error sent as ECS sends one (code, message).
type ECSAnswer func(op string, body []byte) (any, *ECSError)

// ECSError is an error ECS answers with.
type ECSError struct{ Code, Message string }

// NewECS starts the stand-in; it stops when the test ends.
func NewECS(t testing.TB, answer ECSAnswer) *ECS {
	t.Helper()
	e := &ECS{calls: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.")
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		e.mu.Lock()
		e.calls[op]++
		e.mu.Unlock()
		out, ecsErr := answer(op, body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if ecsErr != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"__type": ecsErr.Code, "message": ecsErr.Message})
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

// Env is the environment that points a function's ECS client here.
func (e *ECS) Env() []string { return []string{"AWS_ENDPOINT_URL_ECS=" + e.URL} }

// Calls returns how many calls of each operation it answered so far.
func (e *ECS) Calls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for k, v := range e.calls {
		out[k] = v
	}
	return out
}
