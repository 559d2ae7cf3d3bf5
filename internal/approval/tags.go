package approval

// A service's settings for a PAUSE hook, which ECS sends no hookDetails:
// its ECS tags, which its owner controls (issue: per-service settings).

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TagPrefix starts the ECS service tags that hold a service's approval
// settings: gatehouse:approvers, gatehouse:requiredApprovals, ... The key
// after it is a hookDetails key.
const TagPrefix = "gatehouse:"

// ServiceTags reads an ECS service's tags: ECS in AWS.
type ServiceTags interface {
	// Tags returns the service's tags, key to value.
	Tags(ctx context.Context, serviceARN string) (map[string]string, error)
}

// ApplyTags returns defaults overridden by the service's gatehouse: tags,
// with the keys, validation and floors of hookDetails (Apply). An ECS tag
// value holds only letters, digits, spaces and + - = . _ : / @, so:
//
//   - lists are words separated by spaces: gatehouse:approvers =
//     "alice@example.com bob@example.com"; gatehouse:abortOnAlarms names
//     alarms, and a word ending in "*" is a prefix;
//   - numbers and true or false are themselves; anything else is text;
//   - freezes and changeWindows cannot be written in a tag, and are
//     refused: they come from the suite.
//
// Tags without the prefix belong to others and are ignored. Every error
// names the tag at fault.
func ApplyTags(defaults Settings, tags map[string]string) (Settings, error) {
	fields := map[string]json.RawMessage{}
	var keys []string
	var d hook.Decoder
	for tag, value := range tags {
		k, ok := strings.CutPrefix(tag, TagPrefix)
		if !ok {
			continue
		}
		raw, err := tagValue(k, value)
		if err != nil {
			d.Add("tag "+tag, err)
			continue
		}
		keys = append(keys, k)
		fields[k] = raw
	}
	if err := d.Err(); err != nil {
		return cloneDefaults(defaults), err
	}
	slices.Sort(keys)
	return apply(defaults, "tags", func(k string) string { return "tag " + TagPrefix + k }, keys, fields, nil)
}

// errNotInTag: a key whose value a tag cannot hold.
type errNotInTag struct{}

func (errNotInTag) Error() string {
	return "cannot be set by a tag (an ECS tag value holds no JSON): the suite's settings give it"
}

// tagValue is the JSON that tag value v stands for under hookDetails key k.
func tagValue(k, v string) (json.RawMessage, error) {
	v = strings.TrimSpace(v)
	switch k {
	case "approvers":
		return json.Marshal(append([]string{}, strings.Fields(v)...))
	case "abortOnAlarms":
		a := Alarms{Names: []string{}}
		for _, w := range strings.Fields(v) {
			if p, ok := strings.CutSuffix(w, "*"); ok {
				a.Prefixes = append(a.Prefixes, p)
			} else {
				a.Names = append(a.Names, w)
			}
		}
		return json.Marshal(a)
	case "freezes", "changeWindows":
		return nil, errNotInTag{}
	}
	var scalar any
	if err := json.Unmarshal([]byte(v), &scalar); err == nil {
		switch scalar.(type) {
		case float64, bool:
			return json.RawMessage(v), nil
		}
	}
	return json.Marshal(v)
}
