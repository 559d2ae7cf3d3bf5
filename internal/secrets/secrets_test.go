package secrets

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// secret is a Secrets Manager secret as the stub serves it: its versions
// by stage, or an error for every call.
type secret struct {
	mu       sync.Mutex
	versions map[string]string
	err      error
	calls    int
}

func (s *secret) set(versions map[string]string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions, s.err = versions, err
}

// client returns a real *secretsmanager.Client whose calls s answers at the
// SDK's Initialize step.
func (s *secret) client() *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:      "us-west-2",
		Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
			in := p.(*secretsmanager.GetSecretValueInput)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.calls++
			if s.err != nil {
				return nil, s.err
			}
			v, ok := s.versions[aws.ToString(in.VersionStage)]
			if !ok {
				return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no such version")}
			}
			return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
		})},
	})
}

func TestKeyring(t *testing.T) {
	cur, prev := strings.Repeat("c", 40), strings.Repeat("p", 40)
	sm := &secret{versions: map[string]string{"AWSCURRENT": `{"key":"` + cur + `"}`, "AWSPREVIOUS": prev}}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	k := New(sm.client(), "arn:aws:secretsmanager:us-west-2:1:secret:s", func() time.Time { return now })
	ring, err := k.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(ring.Current.Secret) != cur || len(ring.Previous) != 1 || string(ring.Previous[0].Secret) != prev {
		t.Errorf("keyring = current %q previous %v", ring.Current.Secret, ring.Previous)
	}
	calls := sm.calls
	if _, err := k.Keys(context.Background()); err != nil || sm.calls != calls {
		t.Errorf("second Keys() within the TTL made %d calls, err %v; want cached", sm.calls-calls, err)
	}
	// After the TTL a failed refresh keeps the old keys.
	now = now.Add(CacheTTL)
	sm.set(sm.versions, errors.New("throttled"))
	if ring2, err := k.Keys(context.Background()); err != nil || string(ring2.Current.Secret) != cur {
		t.Errorf("Keys() with a failing refresh = %v, %v; want the cached keys", ring2.Current.ID, err)
	}
}

// TestKeyringStaleIsBounded: keys are kept while refreshes fail, for at
// most MaxStale from the first failure; then Keys fails closed, naming the
// error, until a refresh succeeds again.
func TestKeyringStaleIsBounded(t *testing.T) {
	cur := strings.Repeat("c", 40)
	sm := &secret{versions: map[string]string{"AWSCURRENT": cur}}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	k := New(sm.client(), "s", func() time.Time { return now })
	if _, err := k.Keys(context.Background()); err != nil {
		t.Fatal(err)
	}
	now = now.Add(CacheTTL)
	sm.set(sm.versions, errors.New("AccessDeniedException: not authorized"))
	failing := now
	for _, at := range []time.Duration{0, 30 * time.Minute, MaxStale - time.Second} {
		now = failing.Add(at)
		if ring, err := k.Keys(context.Background()); err != nil || string(ring.Current.Secret) != cur {
			t.Errorf("%s into failing refreshes: Keys() = %v, %v; want the cached keys", at, ring.Current.ID, err)
		}
	}
	now = failing.Add(MaxStale)
	ring, err := k.Keys(context.Background())
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.Contains(err.Error(), "no longer used") || len(ring.Current.Secret) != 0 {
		t.Errorf("%s into failing refreshes: Keys() = %q, %v; want no keys and the refresh error", MaxStale, ring.Current.Secret, err)
	}
	// A successful refresh mends it, and a later failure starts a new bound.
	sm.set(sm.versions, nil)
	if _, err := k.Keys(context.Background()); err != nil {
		t.Fatalf("Keys() after the secret is readable again: %v", err)
	}
	now = now.Add(CacheTTL)
	sm.set(sm.versions, errors.New("throttled"))
	if _, err := k.Keys(context.Background()); err != nil {
		t.Errorf("Keys() on a new failure after a good refresh: %v, want the cached keys", err)
	}
}

func TestKeyringWithoutPrevious(t *testing.T) {
	sm := &secret{versions: map[string]string{"AWSCURRENT": strings.Repeat("c", 40)}}
	ring, err := New(sm.client(), "s", time.Now).Keys(context.Background())
	if err != nil || len(ring.Previous) != 0 {
		t.Errorf("Keys() = %+v, %v; want only the current key", ring, err)
	}
}

func TestKeyringErrors(t *testing.T) {
	if _, err := New((&secret{err: errors.New("denied")}).client(), "s", time.Now).Keys(context.Background()); err == nil {
		t.Error("Keys() with the API failing = nil error, want one")
	}
	if _, err := New((&secret{versions: map[string]string{"AWSCURRENT": "short"}}).client(), "s", time.Now).Keys(context.Background()); err == nil {
		t.Error("Keys() with a short key = nil error, want one")
	}
}

func TestSource(t *testing.T) {
	local, err := token.ParseSecret(strings.Repeat("l", 40))
	if err != nil {
		t.Fatal(err)
	}
	ring := token.Keyring{Current: local}
	api := NewClient(aws.Config{Region: "us-east-1"}, func(string) string { return "" })
	got, err := Source(api, "", &ring).Keys(context.Background())
	if err != nil || got.Current.ID != local.ID {
		t.Errorf("Source without a secret ARN = %v, %v; want the local key", got.Current.ID, err)
	}
	if _, ok := Source(api, "arn:aws:secretsmanager:us-east-1:1:secret:s", nil).(*Keyring); !ok {
		t.Error("Source with a secret ARN is not a Secrets Manager keyring")
	}
}

// TestContract holds the keyring over Secrets Manager and its in-memory twin
// to the same behaviour across rotations: the new key signs, the one before
// still verifies, the one before that no longer does.
func TestContract(t *testing.T) {
	a, b, c := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)
	type impl struct {
		KeySource
		rotate func(t *testing.T, secret string)
	}
	impls := map[string]func(t *testing.T) impl{
		"Secrets Manager API (stub)": func(t *testing.T) impl {
			sm := &secret{versions: map[string]string{"AWSCURRENT": a}}
			now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
			k := New(sm.client(), "s", func() time.Time { return now })
			return impl{k, func(t *testing.T, s string) {
				sm.set(map[string]string{"AWSCURRENT": s, "AWSPREVIOUS": sm.versions["AWSCURRENT"]}, nil)
				now = now.Add(CacheTTL) // the rotation is seen once the cache ages out
			}}
		},
		"memory": func(t *testing.T) impl {
			m, err := NewMemory(a)
			if err != nil {
				t.Fatal(err)
			}
			return impl{m, func(t *testing.T, s string) {
				if err := m.Rotate(s); err != nil {
					t.Fatal(err)
				}
			}}
		},
	}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	sign := func(t *testing.T, src KeySource) string {
		ring, err := src.Keys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ring.Sign(token.Claims{Deployment: "d", Stage: "s", Request: "r", Expires: now.Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	verifies := func(t *testing.T, src KeySource, tok string) bool {
		ring, err := src.Keys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_, err = ring.Verify(tok, now)
		return err == nil
	}
	for name, newImpl := range impls {
		t.Run(name, func(t *testing.T) {
			src := newImpl(t)
			byA := sign(t, src)
			src.rotate(t, b)
			byB := sign(t, src)
			if byA == byB {
				t.Fatal("the rotated keyring signs with the old key")
			}
			if !verifies(t, src, byA) || !verifies(t, src, byB) {
				t.Error("after one rotation, a link signed before it or after it does not verify")
			}
			src.rotate(t, c)
			if verifies(t, src, byA) {
				t.Error("after two rotations, a link signed two keys ago still verifies")
			}
			if !verifies(t, src, byB) {
				t.Error("after two rotations, a link signed with the previous key does not verify")
			}
		})
	}
}
