package hook

import (
	"encoding/json"
	"maps"
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
	top, fields, err := Document(path, raw)
	if err != nil {
		return out, err
	}
	var d Decoder
	for _, k := range top {
		at := Path(path, k)
		if k != "loosen" {
			d.Unknown(at)
			continue
		}
		m, ok := d.Object(at, fields[k])
		if !ok {
			continue
		}
		for _, key := range slices.Sorted(maps.Keys(m)) {
			if !slices.Contains(keys, key) {
				d.Fail(Path(at, key), "unknown key: want %s", QuoteAll(keys))
				continue
			}
			if b, ok := d.Bool(Path(at, key), m[key]); ok && b {
				out[key] = true
			}
		}
	}
	return out, d.Err()
}
