package hook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// RunState is the convention by which a hook keeps its progress between
// calls: one JSON document, under one hookDetails key of its own, with its
// format version in "v", written whole on every IN_PROGRESS answer (Wrap
// carries the configuration beside it, under ConfigKey). A document is
// continued only by the run it belongs to, which each hook tells by a
// Fingerprint of its configuration and what else it binds the run to.
//
// Smoke (smokeState) and bake (bakeState) keep theirs this way; the
// approval hook keeps its state in S3.
type RunState struct {
	// Key is the hookDetails key.
	Key string
	// Version is the current format's "v".
	Version int
}

// Raw returns the document under Key in hookDetails, or nil when there is
// none: absent, null, or hookDetails not an object (the configuration
// decoder reports that).
func (r RunState) Raw(hookDetails json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(hookDetails)) == 0 {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(hookDetails, &fields) != nil {
		return nil
	}
	raw, ok := fields[r.Key]
	if !ok || IsNull(raw) {
		return nil
	}
	return raw
}

// Decode decodes doc, a document Raw returned, into v. Strict refuses
// fields v does not have. Errors name the key: hookDetails.KEY.
func (r RunState) Decode(doc json.RawMessage, v any, strict bool) error {
	d := json.NewDecoder(bytes.NewReader(doc))
	if strict {
		d.DisallowUnknownFields()
	}
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("hookDetails.%s: %w", r.Key, err)
	}
	return nil
}

// CheckVersion says why a document of version v cannot be continued, or
// nil when it is of the current format.
func (r RunState) CheckVersion(v int) error {
	if v != r.Version {
		return fmt.Errorf("version %d, want %d", v, r.Version)
	}
	return nil
}

// Details returns the hookDetails of an IN_PROGRESS answer: v, whole,
// under Key.
func (r RunState) Details(v any) (json.RawMessage, error) {
	b, err := json.Marshal(map[string]any{r.Key: v})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", r.Key, err)
	}
	return b, nil
}

// Fingerprint identifies a configuration: a hash of v's JSON encoding,
// short enough to keep in every run state. Leave out of v what must not
// reach hookDetails (secrets) and what does not change the run's verdict.
func Fingerprint(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("unencodable: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
