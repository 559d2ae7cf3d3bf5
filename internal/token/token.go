// Package token signs and verifies review tokens: the credential inside each
// review link. A token is bound to one approval request (deployment, stage and
// the request's random id), one approver and one expiry, and is signed with
// HMAC-SHA256 under a key identified by a key id, so that keys can rotate:
// tokens are signed with the current key and verified against the current and
// previous keys.
//
// A token is two base64url segments joined by a dot: the JSON claims, and the
// MAC over "gh1." followed by the first segment.
package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrInvalid is returned for a token that is malformed, not signed by a
	// known key, or altered. It says nothing more, on purpose.
	ErrInvalid = errors.New("invalid token")
	// ErrExpired is returned for a genuine token past its expiry.
	ErrExpired = errors.New("token expired")
)

// MaxLen bounds the length of a token accepted for parsing.
const MaxLen = 2048

// MinKeyLen is the shortest signing key accepted, in bytes.
const MinKeyLen = 32

// macContext separates these MACs from any other use of the same key.
const macContext = "gh1."

// Claims are what a token asserts.
type Claims struct {
	// KeyID names the key the token is signed with.
	KeyID string `json:"k"`
	// Deployment is the service-deployment ARN.
	Deployment string `json:"d"`
	// Stage is the lifecycle stage of the approval request.
	Stage string `json:"s"`
	// Gate names the gate when several hold the same stage; usually empty.
	Gate string `json:"g,omitempty"`
	// Request is the approval request's random id. A request created anew for
	// the same deployment and stage gets a new id, so old links stop working.
	Request string `json:"r"`
	// Approver is the approver's email address, or empty for a shared link.
	Approver string `json:"a,omitempty"`
	// Expires is the end of the token's validity, in Unix seconds.
	Expires int64 `json:"e"`
}

// Key is a signing key with its id.
type Key struct {
	ID     string
	Secret []byte
}

// NewKey returns a key for secret, with an id derived from the secret itself
// so that every holder of the same secret agrees on the id without
// configuration. It refuses secrets shorter than MinKeyLen.
func NewKey(secret []byte) (Key, error) {
	if len(secret) < MinKeyLen {
		return Key{}, fmt.Errorf("signing key is %d bytes, want at least %d", len(secret), MinKeyLen)
	}
	sum := sha256.Sum256(append([]byte("gatehouse key id:"), secret...))
	return Key{ID: hex.EncodeToString(sum[:4]), Secret: secret}, nil
}

// Keyring holds the key tokens are signed with and the older keys that still
// verify.
type Keyring struct {
	Current  Key
	Previous []Key
}

// Sign returns a token for c, signed with the current key. The key id in c is
// overwritten.
func (k Keyring) Sign(c Claims) (string, error) {
	if len(k.Current.Secret) < MinKeyLen {
		return "", errors.New("sign token: no signing key")
	}
	c.KeyID = k.Current.ID
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(mac(k.Current.Secret, p)), nil
}

// Verify checks tok and returns its claims. It returns ErrInvalid for anything
// not signed by a key in k, and ErrExpired for a genuine token whose expiry is
// not after now.
func (k Keyring) Verify(tok string, now time.Time) (Claims, error) {
	if len(tok) == 0 || len(tok) > MaxLen {
		return Claims{}, ErrInvalid
	}
	p, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return Claims{}, ErrInvalid
	}
	got, err := b64.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return Claims{}, ErrInvalid
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return Claims{}, ErrInvalid
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, ErrInvalid
	}
	key, ok := k.find(c.KeyID)
	if !ok || !hmac.Equal(got, mac(key.Secret, p)) {
		return Claims{}, ErrInvalid
	}
	if c.Deployment == "" || c.Stage == "" || c.Request == "" {
		return Claims{}, ErrInvalid
	}
	if !now.Before(time.Unix(c.Expires, 0)) {
		return c, ErrExpired
	}
	return c, nil
}

func (k Keyring) find(id string) (Key, bool) {
	if id == "" {
		return Key{}, false
	}
	for _, key := range append([]Key{k.Current}, k.Previous...) {
		if len(key.Secret) >= MinKeyLen && hmac.Equal([]byte(key.ID), []byte(id)) {
			return key, true
		}
	}
	return Key{}, false
}

func mac(secret []byte, payload string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(macContext))
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// ParseSecret turns the text of a signing secret into a key. The text is
// either the key itself, or a JSON object whose "key" field holds it, the
// shape a generated Secrets Manager secret takes.
func ParseSecret(text string) (Key, error) {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "{") {
		var v struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			return Key{}, fmt.Errorf("signing secret: %w", err)
		}
		if v.Key == "" {
			return Key{}, errors.New(`signing secret: JSON without a "key" field`)
		}
		text = v.Key
	}
	return NewKey([]byte(text))
}

// Keys returns k itself: a Keyring is its own fixed source of keys, for local
// runs and tests.
func (k Keyring) Keys(context.Context) (Keyring, error) { return k, nil }

// b64 decodes strictly: a token has exactly one encoding, so no altered
// string verifies.
var b64 = base64.RawURLEncoding.Strict()
