package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/gatehouse-dev/gatehouse/internal/token"
)

type fakeSM struct {
	versions map[string]string
	err      error
	calls    int
}

func (f *fakeSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.versions[aws.ToString(in.VersionStage)]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no such version")}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func TestKeyring(t *testing.T) {
	cur, prev := strings.Repeat("c", 40), strings.Repeat("p", 40)
	sm := &fakeSM{versions: map[string]string{"AWSCURRENT": `{"key":"` + cur + `"}`, "AWSPREVIOUS": prev}}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	k := New(sm, "arn:aws:secretsmanager:us-west-2:1:secret:s", func() time.Time { return now })
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
	sm.err = errors.New("throttled")
	if ring2, err := k.Keys(context.Background()); err != nil || string(ring2.Current.Secret) != cur {
		t.Errorf("Keys() with a failing refresh = %v, %v; want the cached keys", ring2.Current.ID, err)
	}
}

func TestKeyringWithoutPrevious(t *testing.T) {
	sm := &fakeSM{versions: map[string]string{"AWSCURRENT": strings.Repeat("c", 40)}}
	ring, err := New(sm, "s", time.Now).Keys(context.Background())
	if err != nil || len(ring.Previous) != 0 {
		t.Errorf("Keys() = %+v, %v; want only the current key", ring, err)
	}
}

func TestKeyringErrors(t *testing.T) {
	if _, err := New(&fakeSM{err: errors.New("denied")}, "s", time.Now).Keys(context.Background()); err == nil {
		t.Error("Keys() with the API failing = nil error, want one")
	}
	if _, err := New(&fakeSM{versions: map[string]string{"AWSCURRENT": "short"}}, "s", time.Now).Keys(context.Background()); err == nil {
		t.Error("Keys() with a short key = nil error, want one")
	}
}

func TestSource(t *testing.T) {
	local, err := token.ParseSecret(strings.Repeat("l", 40))
	if err != nil {
		t.Fatal(err)
	}
	ring := token.Keyring{Current: local}
	env := func(string) string { return "" }
	got, err := Source(aws.Config{Region: "us-east-1"}, env, "", &ring).Keys(context.Background())
	if err != nil || got.Current.ID != local.ID {
		t.Errorf("Source without a secret ARN = %v, %v; want the local key", got.Current.ID, err)
	}
	if _, ok := Source(aws.Config{Region: "us-east-1"}, env, "arn:aws:secretsmanager:us-east-1:1:secret:s", nil).(*Keyring); !ok {
		t.Error("Source with a secret ARN is not a Secrets Manager keyring")
	}
}
