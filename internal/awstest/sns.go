package awstest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	goaws "github.com/Admiral-Piett/goaws/app"
	goawsrouter "github.com/Admiral-Piett/goaws/app/router"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/sirupsen/logrus"
)

// AccountID is the account in the ARNs of topics made by NewSNS.
const AccountID = "100010001000"

// SNS is a topic on an in-process SNS emulator (goaws) with an HTTP
// subscriber that records every notification delivered to it.
//
// goaws keeps all its state in package-level variables, so a test binary
// runs a single goaws server, started by the first NewSNS, bound to
// 127.0.0.1 and serving every later call; each call gets a topic and a
// subscriber of its own, so tests stay independent and may run in parallel.
// The goaws handlers share maps without locking, so the server runs one
// request at a time. goaws ignores request signatures: any credentials work.
//
// Quirks of goaws v0.4.5 worth knowing: Subscribe to an HTTP endpoint takes
// one second (goaws sleeps before sending the confirmation); delivery to
// HTTP subscribers happens inside Publish, so a message published in-process
// is recorded by the time Publish returns; the MessageId that Publish returns
// differs from the MessageId in the delivered notification; Publish to an
// unknown topic fails with error code
// "AWS.SimpleNotificationService.NonExistentTopic" (AWS says "NotFound").
type SNS struct {
	// Endpoint is the emulator's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// TopicARN is the test's own topic.
	TopicARN string
	// Region is the region in TopicARN, always "us-east-1".
	Region string

	mu      sync.Mutex
	msgs    []Notification
	changed chan struct{} // closed and replaced whenever msgs grows
}

// Notification is a message as an HTTP subscriber receives it.
type Notification struct {
	// Type is "Notification".
	Type string `json:"Type"`
	// MessageID identifies the delivery.
	MessageID string `json:"MessageId"`
	// TopicARN is the topic the message was published to.
	TopicARN string `json:"TopicArn"`
	// Subject is the Publish subject, empty if none was given.
	Subject string `json:"Subject"`
	// Message is the Publish message body.
	Message string `json:"Message"`
	// Timestamp is when the message was published, RFC 3339.
	Timestamp string `json:"Timestamp"`
	// MessageAttributes are the Publish message attributes by name.
	MessageAttributes map[string]MessageAttribute `json:"MessageAttributes"`
}

// MessageAttribute is one message attribute as delivered to an HTTP
// subscriber.
type MessageAttribute struct {
	// Type is the attribute's DataType: "String", "Number" or "Binary".
	Type string `json:"Type"`
	// Value is the value; base64 for Binary.
	Value string `json:"Value"`
}

// goawsServer is the test binary's single goaws server.
var goawsServer = sync.OnceValue(func() string {
	// goaws logs every request through the global logrus logger at info
	// level; keep warnings and errors (failed deliveries).
	logrus.SetLevel(logrus.WarnLevel)

	var mu sync.Mutex
	router := goawsrouter.New()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		router.ServeHTTP(w, r)
	}))
	// goaws builds SubscribeURL, UnsubscribeURL and SigningCertURL from
	// these; its servertest.New would record port "0" for "127.0.0.1:0".
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	goaws.CurrentEnvironment.Host = host
	goaws.CurrentEnvironment.Port = port
	goaws.CurrentEnvironment.Region = Region
	goaws.CurrentEnvironment.AccountID = AccountID
	srv.Start() // never closed: it lives as long as the test binary
	return srv.URL
})

// NewSNS creates a topic on the test binary's goaws server (starting it on
// first use), subscribes an HTTP endpoint on 127.0.0.1 to it, confirms the
// subscription and records every notification. The topic and subscriber
// are removed when the test ends.
func NewSNS(t testing.TB) *SNS {
	t.Helper()
	s := &SNS{Endpoint: goawsServer(), Region: Region, changed: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client()

	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("awstest-" + randomHex(6))})
	if err != nil {
		t.Fatalf("awstest: create topic: %v", err)
	}
	s.TopicARN = aws.ToString(topic.TopicArn)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: &s.TopicARN}); err != nil {
			t.Errorf("awstest: delete topic %s: %v", s.TopicARN, err)
		}
	})

	tokens := make(chan string, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.receive(t, w, r, tokens)
	}))
	t.Cleanup(recv.Close)

	// goaws posts the SubscriptionConfirmation from inside Subscribe.
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn:              &s.TopicARN,
		Protocol:              aws.String("http"),
		Endpoint:              aws.String(recv.URL),
		ReturnSubscriptionArn: true,
	})
	if err != nil {
		t.Fatalf("awstest: subscribe to %s: %v", s.TopicARN, err)
	}
	var token string
	select {
	case token = <-tokens:
	case <-ctx.Done():
		t.Fatalf("awstest: no SubscriptionConfirmation for %s: %v", s.TopicARN, ctx.Err())
	}
	if _, err := c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: &s.TopicARN, Token: &token}); err != nil {
		t.Fatalf("awstest: confirm subscription to %s: %v", s.TopicARN, err)
	}
	// Runs before DeleteTopic and recv.Close (cleanups are last-in
	// first-out).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: sub.SubscriptionArn}); err != nil {
			t.Errorf("awstest: unsubscribe %s: %v", aws.ToString(sub.SubscriptionArn), err)
		}
	})
	return s
}

// receive handles one delivery from goaws to the subscriber endpoint.
func (s *SNS) receive(t testing.TB, w http.ResponseWriter, r *http.Request, tokens chan<- string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("awstest: read SNS delivery: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg struct {
		Notification
		Token string `json:"Token"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Errorf("awstest: decode SNS delivery %q: %v", body, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch msg.Type {
	case "SubscriptionConfirmation":
		select {
		case tokens <- msg.Token:
		default: // a duplicate; the first one is being confirmed
		}
	case "Notification":
		s.mu.Lock()
		s.msgs = append(s.msgs, msg.Notification)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	default:
		t.Errorf("awstest: unexpected SNS delivery of type %q: %s", msg.Type, body)
	}
	w.WriteHeader(http.StatusOK)
}

// Client returns a new SNS client for the emulator.
func (s *SNS) Client() *sns.Client {
	return sns.New(sns.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("awstest", "awstest", ""),
	})
}

// Env returns the environment a child process (a Lambda under NewRIE) needs
// to reach the emulator with the SDK's default configuration loader. goaws
// ignores credentials, so when combining with S3.Env put the S3 entries
// last, so that its credentials win: append(sns.Env(), s3.Env()...).
func (s *SNS) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_SNS=" + s.Endpoint,
		"AWS_ACCESS_KEY_ID=awstest",
		"AWS_SECRET_ACCESS_KEY=awstest",
		"AWS_REGION=" + s.Region,
	}
}

// Messages returns the notifications received so far, oldest first.
func (s *SNS) Messages() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// WaitMessages waits until at least n notifications have arrived and
// returns all of them, oldest first. It fails the test if they do not
// arrive within timeout.
func (s *SNS) WaitMessages(t testing.TB, n int, timeout time.Duration) []Notification {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		msgs, changed := slices.Clone(s.msgs), s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("awstest: %d of %d SNS notifications on %s after %v: %s", len(msgs), n, s.TopicARN, timeout, describe(msgs))
			return nil
		}
	}
}

// Settled returns the notifications published before it was called,
// oldest first, once every one of them has arrived: it publishes a marker
// of its own and waits for it (goaws handles one request at a time and
// delivers inside Publish, so whatever was published before the marker
// was delivered before it). A test that wants "nothing more was sent"
// uses it instead of sleeping. It fails the test if the marker does not
// arrive within timeout.
func (s *SNS) Settled(t testing.TB, timeout time.Duration) []Notification {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	marker := "awstest-settled-" + randomHex(6)
	if _, err := s.Client().Publish(ctx, &sns.PublishInput{TopicArn: aws.String(s.TopicARN), Message: aws.String(marker), Subject: aws.String(marker)}); err != nil {
		t.Fatalf("awstest: publish the marker: %v", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		msgs, changed := slices.Clone(s.msgs), s.changed
		s.mu.Unlock()
		if i := slices.IndexFunc(msgs, func(n Notification) bool { return n.Message == marker }); i >= 0 {
			return msgs[:i]
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("awstest: the marker did not arrive on %s within %v", s.TopicARN, timeout)
			return nil
		}
	}
}

// describe summarizes notifications for a failure message.
func describe(msgs []Notification) string {
	b, err := json.Marshal(msgs)
	if err != nil {
		return fmt.Sprint(msgs)
	}
	return string(b)
}
