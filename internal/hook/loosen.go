package hook

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
)

// Loosen is a hook's section of the suite's policy when all it says is
// which hookDetails keys services may loosen: {"loosen": {"KEY": true, ...}}.
// The suite's settings are floors; a key not named here may only be
// tightened by hookDetails.
type Loosen map[string]bool

// ParseLoosen reads such a section at path, where keys are the keys that
// may be named. Unknown keys are refused.
func ParseLoosen(path string, raw json.RawMessage, keys []string) (Loosen, error) {
	out := Loosen{}
	var d Decoder
	at, fields, err := LoosenFields(&d, path, raw)
	if err != nil {
		return out, err
	}
	for _, key := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(keys, key) {
			d.Fail(Path(at, key), "unknown key: want %s", QuoteAll(keys))
			continue
		}
		if b, ok := d.Bool(Path(at, key), fields[key]); ok && b {
			out[key] = true
		}
	}
	return out, d.Err()
}

// LoosenFields reads a hook's section of the suite's policy at path, an
// object whose one key is "loosen", and returns that object's fields and
// their path, recording problems in d. err is set when the section is not
// an object at all.
func LoosenFields(d *Decoder, path string, raw json.RawMessage) (at string, fields map[string]json.RawMessage, err error) {
	keys, top, err := Document(path, raw)
	if err != nil {
		return "", nil, err
	}
	at = Path(path, "loosen")
	for _, k := range keys {
		if k != "loosen" {
			d.Unknown(Path(path, k))
			continue
		}
		fields, _ = d.Object(at, top[k])
	}
	return at, fields, nil
}

// KeepFloor merges a service's list of named checks over the suite's, which
// always run: the suite's first, then the service's others. A service item
// named like a suite item must be that item; the indexes of those that are
// not are returned, for the caller to refuse.
func KeepFloor[T any](suite, service []T, name func(T) string) (merged []T, changed []int) {
	merged = slices.Clone(suite)
	for i, item := range service {
		j := slices.IndexFunc(suite, func(s T) bool { return name(s) == name(item) })
		switch {
		case j < 0:
			merged = append(merged, item)
		case !reflect.DeepEqual(suite[j], item):
			changed = append(changed, i)
		}
	}
	return merged, changed
}
