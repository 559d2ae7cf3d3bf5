// Package funcurl serves a plain net/http handler behind an AWS Lambda
// Function URL (payload format 2.0, BUFFERED invoke mode), so that the same
// handler runs in Lambda, in local mode and under httptest.
package funcurl

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Handler returns a Lambda handler that serves Function URL requests with h.
// It never returns an error: a request it cannot translate is answered 400.
func Handler(h http.Handler) func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, in events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		req, err := Request(ctx, in)
		if err != nil {
			return events.LambdaFunctionURLResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
				Body:       "bad request\n",
			}, nil
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return Response(rec.Result(), req.Method), nil
	}
}

// Request translates a Function URL event into an *http.Request.
func Request(ctx context.Context, in events.LambdaFunctionURLRequest) (*http.Request, error) {
	method := in.RequestContext.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("function url event without a method")
	}
	body := []byte(in.Body)
	if in.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(in.Body)
		if err != nil {
			return nil, fmt.Errorf("function url event body: %w", err)
		}
		body = b
	}
	path := in.RawPath
	if path == "" {
		path = "/"
	}
	target := path
	if in.RawQueryString != "" {
		target += "?" + in.RawQueryString
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("function url event: %w", err)
	}
	for k, v := range in.Headers {
		req.Header.Set(k, v)
	}
	if len(in.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(in.Cookies, "; "))
	}
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = in.RequestContext.DomainName
	}
	req.ContentLength = int64(len(body))
	req.RemoteAddr = net.JoinHostPort(in.RequestContext.HTTP.SourceIP, "0")
	if in.RequestContext.HTTP.UserAgent != "" && req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", in.RequestContext.HTTP.UserAgent)
	}
	return req, nil
}

// Response translates a recorded response into the Function URL answer.
// Bodies of HEAD requests are dropped; non-text bodies are base64-encoded.
func Response(res *http.Response, method string) events.LambdaFunctionURLResponse {
	out := events.LambdaFunctionURLResponse{StatusCode: res.StatusCode, Headers: map[string]string{}}
	for k, vs := range res.Header {
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			out.Cookies = append(out.Cookies, vs...)
			continue
		}
		out.Headers[k] = strings.Join(vs, ", ")
	}
	if method == http.MethodHead {
		return out
	}
	var buf bytes.Buffer
	if res.Body != nil {
		_, _ = buf.ReadFrom(res.Body)
	}
	if isText(res.Header.Get("Content-Type")) {
		out.Body = buf.String()
	} else if buf.Len() > 0 {
		out.Body = base64.StdEncoding.EncodeToString(buf.Bytes())
		out.IsBase64Encoded = true
	}
	return out
}

func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json"
}
