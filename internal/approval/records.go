package approval

// The request record in the state bucket: conditional writes, re-reads
// and the ids.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// update applies change to the request and writes it conditionally; on a lost
// write it re-reads and applies change again to the fresh copy.
func (g *Gate) update(ctx context.Context, key, etag string, r *Request, change func(*Request)) (*Request, string, error) {
	return Update(ctx, g.Store, key, etag, r, func(n *Request) error { change(n); return nil })
}

// Update applies change to a copy of r and writes it with If-Match etag. When
// the write loses, it re-reads the request and applies change again, at most a
// few times. change may refuse by returning an error, which Update returns
// as is, with the latest request read; a refusal wrapping ErrSelfApproval
// is written first (change recorded it), then returned.
func Update(ctx context.Context, st Store, key, etag string, r *Request, change func(*Request) error) (*Request, string, error) {
	for range maxAttempts {
		next := clone(r)
		refusal := change(next)
		if refusal != nil && !errors.Is(refusal, ErrSelfApproval) {
			return r, etag, refusal
		}
		// A self-approval is refused, and the refusal recorded: written,
		// then returned.
		body, err := next.Encode()
		if err != nil {
			return r, etag, err
		}
		newTag, err := st.Update(ctx, key, body, etag)
		if err == nil {
			return next, newTag, refusal
		}
		if !errors.Is(err, store.ErrPrecondition) {
			return r, etag, fmt.Errorf("save approval %s: %w", key, err)
		}
		if err := backoff(ctx); err != nil {
			return r, etag, err
		}
		obj, err := st.Get(ctx, key)
		if err != nil {
			return r, etag, fmt.Errorf("load approval %s: %w", key, err)
		}
		fresh, err := Decode(obj.Body)
		if err != nil {
			return r, etag, err
		}
		r, etag = fresh, obj.ETag
	}
	return r, etag, hook.Transient(fmt.Errorf("approval %s: still changing after %d attempts", key, maxAttempts))
}

func (g *Gate) write(ctx context.Context, key, etag string, r *Request) (string, error) {
	body, err := r.Encode()
	if err != nil {
		return "", err
	}
	t, err := g.Store.Update(ctx, key, body, etag)
	if err != nil {
		return "", fmt.Errorf("save approval %s: %w", key, err)
	}
	return t, nil
}

func (g *Gate) reload(ctx context.Context, key string) (*Request, string, error) {
	if err := backoff(ctx); err != nil {
		return nil, "", err
	}
	obj, err := g.Store.Get(ctx, key)
	if err != nil {
		return nil, "", fmt.Errorf("load approval %s: %w", key, err)
	}
	r, err := g.decode(key, obj.Body)
	if err != nil {
		return nil, "", err
	}
	return r, obj.ETag, nil
}

// clone returns a deep copy of r through its stored form, so that a lost
// write never leaves half-applied changes behind.
func clone(r *Request) *Request {
	body, err := r.Encode()
	if err != nil {
		panic(fmt.Sprintf("approval: clone: %v", err))
	}
	var c Request
	if err := json.Unmarshal(body, &c); err != nil {
		panic(fmt.Sprintf("approval: clone: %v", err))
	}
	return &c
}

// backoff waits a little, at random, before a writer that lost a
// conditional write tries again, so that racing writers spread out.
func backoff(ctx context.Context) error {
	var b [1]byte
	_, _ = rand.Read(b[:])
	t := time.NewTimer(time.Duration(5+int(b[0])%45) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return hook.Transient(ctx.Err())
	}
}

func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Refuse records that the suite's policy refused the service's
// configuration for p (whose Settings are the suite's): a closed request,
// in the audit trail, that nobody is asked about. An open request at the
// same key is closed as refused; one already closed is left as it is.
func (g *Gate) Refuse(ctx context.Context, p Poll, reason string) error {
	key := GateKey(p.Deployment, p.Stage, p.Settings.Gate)
	now := g.Now()
	r, err := g.newRequest(p, Change{}, now)
	if err != nil {
		return err
	}
	r.SendingSince, r.Refusal, r.History = nil, reason, nil
	r.record(now, "created", "gatehouse", "the service's configuration was refused before anyone was asked")
	r.close(Refused, now)
	r.AnnouncedAt = &now
	body, err := r.Encode()
	if err != nil {
		return err
	}
	_, err = g.Store.Create(ctx, key, body)
	if !errors.Is(err, store.ErrPrecondition) {
		return err
	}
	for range maxAttempts {
		open, etag, err := g.reload(ctx, key)
		if err != nil || open.Outcome != Pending {
			return err
		}
		next := clone(open)
		next.Refusal = reason
		next.close(Refused, now)
		next.AnnouncedAt = &now
		newTag, err := g.write(ctx, key, etag, next)
		if err == nil {
			// Those already asked learn that it closed.
			g.announce(ctx, key, newTag, next)
			return nil
		}
		if !errors.Is(err, store.ErrPrecondition) {
			return err
		}
	}
	return fmt.Errorf("approval %s: still changing after %d attempts", key, maxAttempts)
}
