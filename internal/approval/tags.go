package approval

// A service's settings for a PAUSE hook, which ECS sends no hookDetails:
// its ECS tags, which its owner controls (issue: per-service settings).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

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
		if !ok || tag == TagOptIn {
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

// TagOptIn is the service tag by which a service asks gatehouse to decide
// its PAUSE hooks (value OptInApproval); Attach sets it. A PAUSE hook of a
// service without it is someone else's, and its events are ignored.
const (
	TagOptIn      = TagPrefix + "pause"
	OptInApproval = "approval"
)

// errNotOurs: the PAUSE hook belongs to a service without TagOptIn.
var errNotOurs = errors.New("the service has no " + TagOptIn + "=" + OptInApproval + " tag")

// DetailTags returns the service tags that stand for a PAUSE approval
// hook's settings, given as hookDetails would give them (ApplyTags reads
// them back), with TagOptIn. Lists become words, abortOnAlarms prefixes
// words ending in "*". A value no tag can hold is an error naming its key.
func DetailTags(details map[string]any) (map[string]string, error) {
	tags := map[string]string{TagOptIn: OptInApproval}
	for k, v := range details {
		if TagPrefix+k == TagOptIn {
			return nil, fmt.Errorf("%s: not a setting: the tag %s is gatehouse's own", k, TagOptIn)
		}
		text, err := tagText(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		tags[TagPrefix+k] = text
	}
	return tags, nil
}

func tagText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case []string, []*string, []any:
		words, err := tagWords(v)
		return strings.Join(words, " "), err
	case map[string]any:
		// abortOnAlarms: names, and prefixes marked with a trailing "*".
		var words []string
		for _, field := range []string{"names", "prefixes"} {
			list, err := tagWords(v[field])
			if err != nil {
				return "", err
			}
			for _, w := range list {
				if strings.HasSuffix(w, "*") {
					return "", fmt.Errorf("%q ends in *, which a tag reads as a prefix: give prefixes without it", w)
				}
				if field == "prefixes" {
					w += "*"
				}
				words = append(words, w)
			}
		}
		for field := range v {
			if field != "names" && field != "prefixes" {
				return "", fmt.Errorf("%q cannot be written in a tag: only names and prefixes can", field)
			}
		}
		return strings.Join(words, " "), nil
	}
	return "", fmt.Errorf("%v (%T) cannot be written in a tag", v, v)
}

// tagWords is a list value as words: none may hold a space, which would
// split it in two when the tag is read.
func tagWords(v any) ([]string, error) {
	words, err := listWords(v)
	for _, w := range words {
		if strings.ContainsFunc(w, unicode.IsSpace) || w == "" {
			return nil, fmt.Errorf("%q cannot be a word of a tag's list: it is empty or holds a space", w)
		}
	}
	return words, err
}

func listWords(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return v, nil
	case []*string:
		out := make([]string, 0, len(v))
		for _, w := range v {
			out = append(out, *w)
		}
		return out, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, w := range v {
			s, ok := w.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a word a tag can list", w)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v (%T) is not a list a tag can hold", v, v)
}
