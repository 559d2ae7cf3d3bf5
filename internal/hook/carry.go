package hook

import (
	"encoding/json"
	"fmt"
	"maps"
)

// ConfigKey is the hookDetails key under which every IN_PROGRESS answer
// carries the configuration the run started with, as a JSON string.
//
// ECS documents that it merges returned hookDetails and passes them back
// on the next call; how deep the merge goes (shallowly, or deeply as a
// JSON merge patch, where a null deletes a key) is not documented, and
// AWS's sample re-sends its whole configuration as if they were replaced. A string passes unchanged through each of these,
// so the next call recovers exactly the configuration of the first (nulls
// included), whatever ECS did, and the hook's own keys (its run state) sit
// beside it. A new deployment starts from the service's configured
// hookDetails again, so a change to them takes effect at the next
// deployment.
const ConfigKey = "gatehouseConfig"

// restore splits a call's hookDetails into the configuration (carried
// under ConfigKey since the first call, or the hookDetails themselves on
// the first) and the hookDetails the handler sees: that configuration with
// the carried keys (the run state) in place. It fails only on a ConfigKey
// that is not a string holding a JSON object.
func restore(incoming json.RawMessage) (config map[string]json.RawMessage, details json.RawMessage, err error) {
	in, err := object(incoming)
	if err != nil {
		return nil, nil, err
	}
	carried, ok := in[ConfigKey]
	if !ok {
		return in, incoming, nil
	}
	var text string
	if err := json.Unmarshal(carried, &text); err != nil {
		return nil, nil, fmt.Errorf("hookDetails.%s: want a JSON string holding the configuration", ConfigKey)
	}
	if config, err = object(json.RawMessage(text)); err != nil {
		return nil, nil, fmt.Errorf("hookDetails.%s: %w", ConfigKey, err)
	}
	merged := maps.Clone(config)
	if merged == nil {
		merged = map[string]json.RawMessage{}
	}
	for k, v := range in {
		if _, configured := config[k]; !configured && k != ConfigKey {
			merged[k] = v
		}
	}
	details, err = json.Marshal(merged)
	return config, details, err
}

// state returns the keys of details that are not configuration: what the
// hook itself returned.
func state(config map[string]json.RawMessage, details json.RawMessage) json.RawMessage {
	d, err := object(details)
	if err != nil {
		return nil
	}
	out := map[string]json.RawMessage{}
	for k, v := range d {
		if _, configured := config[k]; !configured && k != ConfigKey {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	b, _ := json.Marshal(out)
	return b
}

// Carry returns the hookDetails an IN_PROGRESS answer returns: the
// configuration under ConfigKey (less the keys the hook now returns), and
// the hook's own keys.
func Carry(config map[string]json.RawMessage, returned json.RawMessage) (json.RawMessage, error) {
	out, err := object(returned)
	if err != nil {
		return nil, fmt.Errorf("the answer's hookDetails: %w", err)
	}
	if len(config) == 0 && len(out) == 0 {
		return nil, nil
	}
	cfg := maps.Clone(config)
	for k := range out {
		delete(cfg, k)
	}
	if cfg == nil {
		cfg = map[string]json.RawMessage{}
	}
	text, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	answer := make(map[string]json.RawMessage, len(out)+1)
	maps.Copy(answer, out)
	answer[ConfigKey], _ = json.Marshal(string(text))
	return json.Marshal(answer)
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
