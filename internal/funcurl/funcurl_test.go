package funcurl

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

func TestHandler(t *testing.T) {
	var got struct {
		method, path, query, host, remote, ua, cookie, ctype string
		body                                                 string
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.path, got.query, got.host = r.Method, r.URL.Path, r.URL.RawQuery, r.Host
		got.remote, got.ua, got.cookie, got.ctype, got.body = r.RemoteAddr, r.UserAgent(), r.Header.Get("Cookie"), r.Header.Get("Content-Type"), string(b)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte("<p>closed</p>"))
	})
	in := events.LambdaFunctionURLRequest{
		Version:        "2.0",
		RawPath:        "/review",
		RawQueryString: "token=abc.def",
		Cookies:        []string{"x=1", "y=2"},
		Headers:        map[string]string{"content-type": "application/x-www-form-urlencoded", "host": "abc.lambda-url.us-west-2.on.aws"},
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: "abc.lambda-url.us-west-2.on.aws",
			HTTP:       events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", SourceIP: "203.0.113.7", UserAgent: "Mozilla/5.0"},
		},
		Body:            base64.StdEncoding.EncodeToString([]byte("decision=approve")),
		IsBase64Encoded: true,
	}
	res, err := Handler(h)(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := events.LambdaFunctionURLResponse{
		StatusCode: http.StatusConflict,
		Headers:    map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
		Body:       "<p>closed</p>",
		Cookies:    []string{"a=1", "b=2"},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	for name, pair := range map[string][2]string{
		"method": {got.method, "POST"}, "path": {got.path, "/review"}, "query": {got.query, "token=abc.def"},
		"host": {got.host, "abc.lambda-url.us-west-2.on.aws"}, "remote": {got.remote, "203.0.113.7:0"}, "ua": {got.ua, "Mozilla/5.0"},
		"cookie": {got.cookie, "x=1; y=2"}, "content-type": {got.ctype, "application/x-www-form-urlencoded"}, "body": {got.body, "decision=approve"},
	} {
		if pair[0] != pair[1] {
			t.Errorf("request %s = %q, want %q", name, pair[0], pair[1])
		}
	}
}

func TestHeadHasNoBody(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("page"))
	})
	res, _ := Handler(h)(context.Background(), events.LambdaFunctionURLRequest{
		RawPath:        "/review",
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "HEAD", SourceIP: "127.0.0.1"}},
	})
	if res.StatusCode != 200 || res.Body != "" {
		t.Errorf("HEAD = %d %q, want 200 and no body", res.StatusCode, res.Body)
	}
}

func TestBadEvent(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler called for a bad event") })
	for name, in := range map[string]events.LambdaFunctionURLRequest{
		"no method":  {RawPath: "/"},
		"bad base64": {RawPath: "/", Body: "%%%", IsBase64Encoded: true, RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST"}}},
	} {
		res, err := Handler(h)(context.Background(), in)
		if err != nil || res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, %v; want 400 and no error", name, res.StatusCode, err)
		}
	}
}

func TestBinaryBodyIsBase64(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte{0x89, 'P', 'N', 'G'})
	})
	res, _ := Handler(h)(context.Background(), events.LambdaFunctionURLRequest{
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "GET"}},
	})
	if !res.IsBase64Encoded || res.Body != base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G'}) {
		t.Errorf("binary body = %q (base64 %v)", res.Body, res.IsBase64Encoded)
	}
}
