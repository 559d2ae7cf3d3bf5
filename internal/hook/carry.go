package hook

import (
	"encoding/json"
	"fmt"
	"maps"
)

// Carry returns the hookDetails an IN_PROGRESS answer must return: the
// call's own hookDetails (the service's configuration, and whatever the
// last answer returned), with the keys the hook returns now (its run
// state) in their place.
//
// ECS documents only that it passes returned hookDetails back on the next
// call. Whether it merges them into the configured hookDetails (shallowly
// or deeply) or replaces them with what was returned is not documented, and
// AWS's sample re-sends its configuration with every answer. Returning
// everything the next call needs gives the same next call under each
// reading: under replacement the configuration is still there, and under
// either merge the configured keys come back with the values they had. A
// new deployment starts from the service's configured hookDetails again,
// so a change to them takes effect at the next deployment.
func Carry(incoming, returned json.RawMessage) (json.RawMessage, error) {
	in, err := object(incoming)
	if err != nil {
		return nil, fmt.Errorf("the call's hookDetails: %w", err)
	}
	out, err := object(returned)
	if err != nil {
		return nil, fmt.Errorf("the answer's hookDetails: %w", err)
	}
	if len(in) == 0 && len(out) == 0 {
		return nil, nil
	}
	merged := make(map[string]json.RawMessage, len(in)+len(out))
	maps.Copy(merged, in)
	maps.Copy(merged, out)
	return json.Marshal(merged)
}

// object decodes hookDetails as a JSON object; absent or null is empty.
func object(raw json.RawMessage) (map[string]json.RawMessage, error) {
	raw, err := normaliseDetails(raw)
	if err != nil || raw == nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("want a JSON object: %w", err)
	}
	return m, nil
}
