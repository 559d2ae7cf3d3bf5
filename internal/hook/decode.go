package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Decoder reads a hook's configuration (hookDetails, or an environment
// variable holding JSON) strictly: unknown keys, wrong types and values
// out of range are refused, each with a reason naming the key by its path,
// such as hookDetails.checks[0].path. It collects every problem instead of
// stopping at the first, so one FAILED answer names them all.
//
// Each method decodes one value at path and reports whether it could; on
// failure it records why. Err returns everything recorded.
type Decoder struct {
	errs []error
}

// Fail records a problem at path.
func (d *Decoder) Fail(path, format string, args ...any) {
	d.errs = append(d.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

// Add records err, when not nil, as a problem at path.
func (d *Decoder) Add(path string, err error) {
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("%s: %w", path, err))
	}
}

// Include records err, when not nil, as it is: an error that names its
// path itself, from a parser of its own.
func (d *Decoder) Include(err error) {
	if err != nil {
		d.errs = append(d.errs, err)
	}
}

// Want records that path holds raw where want was expected.
func (d *Decoder) Want(path, want string, raw json.RawMessage) {
	d.Fail(path, "want %s, got %s", want, Quote(raw))
}

// Unknown records an unknown key.
func (d *Decoder) Unknown(path string) { d.Fail(path, "unknown key") }

// Problems counts the problems recorded so far: a caller compares counts
// to tell whether the values it decoded in between were all good.
func (d *Decoder) Problems() int { return len(d.errs) }

// Err returns every problem recorded, joined, or nil.
func (d *Decoder) Err() error { return errors.Join(d.errs...) }

// Document decodes data, the whole configuration, as a JSON object and
// returns its keys in order with their values; an empty document has none.
// source names it in the error, such as "hookDetails".
func Document(source string, data []byte) (keys []string, fields map[string]json.RawMessage, err error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, nil, nil
	}
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return nil, nil, fmt.Errorf("%s: want a JSON object", source)
	}
	return slices.Sorted(maps.Keys(fields)), fields, nil
}

// Path returns the path of key in the object at prefix.
func Path(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// Object decodes a JSON object.
func (d *Decoder) Object(path string, raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		d.Want(path, "a JSON object", raw)
		return nil, false
	}
	return m, true
}

// String decodes a JSON string.
func (d *Decoder) String(path string, raw json.RawMessage) (string, bool) {
	return d.Text(path, raw, "a string")
}

// Text decodes a JSON string, naming what it should hold (want) when it is
// not one.
func (d *Decoder) Text(path string, raw json.RawMessage, want string) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || IsNull(raw) {
		d.Want(path, want, raw)
		return "", false
	}
	return s, true
}

// Bool decodes true or false.
func (d *Decoder) Bool(path string, raw json.RawMessage) (bool, bool) {
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil || IsNull(raw) {
		d.Want(path, "true or false", raw)
		return false, false
	}
	return b, true
}

// StringList decodes a list of at most maxItems non-empty printable
// strings of at most maxLen bytes each, dropping repeats.
func (d *Decoder) StringList(path string, raw json.RawMessage, maxItems, maxLen int) ([]string, bool) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || IsNull(raw) {
		d.Want(path, "a JSON list of strings", raw)
		return nil, false
	}
	if len(list) > maxItems {
		d.Fail(path, "%d entries, at most %d", len(list), maxItems)
		return nil, false
	}
	var out []string
	ok := true
	for i, s := range list {
		if s == "" || len(s) > maxLen || !Printable(s) {
			d.Fail(fmt.Sprintf("%s[%d]", path, i), "want a non-empty printable string of at most %d bytes, got %s", maxLen, Quote(quoteString(s)))
			ok = false
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, ok
}

// Number decodes a JSON number.
func (d *Decoder) Number(path string, raw json.RawMessage) (float64, bool) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || IsNull(raw) {
		d.Want(path, "a number", raw)
		return 0, false
	}
	return f, true
}

// Integer decodes a whole number from lo to hi.
func (d *Decoder) Integer(path string, raw json.RawMessage, lo, hi int) (int, bool) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || IsNull(raw) || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		d.Fail(path, "want a whole number from %d to %d, got %s", lo, hi, Quote(raw))
		return 0, false
	}
	return int(f), true
}

// Millis decodes a whole number of milliseconds from lo to hi.
func (d *Decoder) Millis(path string, raw json.RawMessage, lo, hi time.Duration) (time.Duration, bool) {
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || IsNull(raw) || n < lo.Milliseconds() || n > hi.Milliseconds() {
		d.Fail(path, "want a whole number of milliseconds from %d to %d, got %s", lo.Milliseconds(), hi.Milliseconds(), Quote(raw))
		return 0, false
	}
	return time.Duration(n) * time.Millisecond, true
}

// Duration decodes a Go duration string, such as "10m", of whole seconds
// from lo to hi.
func (d *Decoder) Duration(path string, raw json.RawMessage, lo, hi time.Duration) (time.Duration, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || IsNull(raw) {
		d.Want(path, `a duration string like "10m"`, raw)
		return 0, false
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		d.Want(path, `a duration like "10m" or "1h30m"`, raw)
		return 0, false
	}
	if v%time.Second != 0 {
		d.Want(path, "a whole number of seconds", raw)
		return 0, false
	}
	if v < lo || v > hi {
		d.Fail(path, "%s, want from %s to %s", FormatDuration(v), FormatDuration(lo), FormatDuration(hi))
		return 0, false
	}
	return v, true
}

// Enum decodes a string that is one of values.
func (d *Decoder) Enum(path string, raw json.RawMessage, values ...string) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || !slices.Contains(values, s) {
		d.Want(path, QuoteAll(values), raw)
		return "", false
	}
	return s, true
}

// IsNull reports whether raw is JSON null.
func IsNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// Printable reports whether s holds only printable characters.
func Printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// QuoteAll lists values as JSON strings for a message: "a" or "b", or
// "a", "b", "c".
func QuoteAll(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = string(quoteString(v))
	}
	if len(q) == 2 {
		return q[0] + " or " + q[1]
	}
	return strings.Join(q, ", ")
}

func quoteString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
