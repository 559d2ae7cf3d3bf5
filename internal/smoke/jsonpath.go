package smoke

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Path is a parsed JSON path in the small subset checks need: it selects one
// value, never several.
type Path struct {
	src   string
	steps []step
}

// step is one member name or one array index.
type step struct {
	key   string
	index int
	isIdx bool
}

// Limits on paths; a check's path is configuration, not data.
const (
	maxJSONPathLen   = 256
	maxJSONPathSteps = 32
	maxJSONIndex     = 1_000_000
)

// ParsePath parses a JSON path in this subset:
//
//	$                  the whole document
//	$.name             member "name" of an object (letters, digits, _ and -)
//	$["any key"]       member by quoted name; ' quotes work too; \" \' \\ escape
//	$[0]               element 0 of an array
//
// Steps chain: $.data.items[0]["display-name"]. Wildcards, slices, filters
// and recursive descent are not supported.
func ParsePath(s string) (Path, error) {
	if len(s) > maxJSONPathLen {
		return Path{}, fmt.Errorf("longer than %d bytes", maxJSONPathLen)
	}
	if !strings.HasPrefix(s, "$") {
		return Path{}, fmt.Errorf("%q: want a path starting with $, such as $.version", hook.Clip(s, 40))
	}
	p := Path{src: s}
	bad := func(i int, why string) (Path, error) {
		return Path{}, fmt.Errorf("%q: %s at offset %d", hook.Clip(s, 40), why, i)
	}
	for i := 1; i < len(s); {
		if len(p.steps) == maxJSONPathSteps {
			return Path{}, fmt.Errorf("%q: more than %d steps", hook.Clip(s, 40), maxJSONPathSteps)
		}
		switch s[i] {
		case '.':
			j := i + 1
			for j < len(s) && nameByte(s[j]) {
				j++
			}
			if j == i+1 {
				return bad(i, "want a member name after .")
			}
			p.steps = append(p.steps, step{key: s[i+1 : j]})
			i = j
		case '[':
			if i+1 >= len(s) {
				return bad(i, "unclosed [")
			}
			switch q := s[i+1]; {
			case q == '"' || q == '\'':
				key, n, err := unquote(s[i+1:], q)
				if err != nil {
					return bad(i+1, err.Error())
				}
				j := i + 1 + n
				if j >= len(s) || s[j] != ']' {
					return bad(j, "want ] after the quoted name")
				}
				p.steps = append(p.steps, step{key: key})
				i = j + 1
			case q >= '0' && q <= '9':
				j := i + 1
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				if j >= len(s) || s[j] != ']' {
					return bad(j, "want ] after the index")
				}
				digits := s[i+1 : j]
				n, err := strconv.Atoi(digits)
				if err != nil || n > maxJSONIndex || (len(digits) > 1 && digits[0] == '0') {
					return bad(i+1, "want an index from 0 to 1000000 without leading zeros")
				}
				p.steps = append(p.steps, step{index: n, isIdx: true})
				i = j + 1
			default:
				return bad(i+1, "want an index or a quoted name after [ (wildcards, slices and filters are not supported)")
			}
		default:
			return bad(i, fmt.Sprintf("unexpected %q", s[i]))
		}
	}
	return p, nil
}

// nameByte reports whether c may appear in a dotted member name.
func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// unquote reads a quoted name at the start of s, quoted with q, and returns
// it and the number of bytes read, quotes included.
func unquote(s string, q byte) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case q:
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, errors.New("unfinished escape")
			}
			i++
			switch e := s[i]; e {
			case '"', '\'', '\\':
				b.WriteByte(e)
			default:
				return "", 0, fmt.Errorf(`unknown escape \%c (only \", \' and \\)`, e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("unclosed quote")
}

// String returns the path as written.
func (p Path) String() string { return p.src }

// Select returns the value p selects in v, a document decoded by
// encoding/json into any (with or without UseNumber). The error says where the
// path left the document, naming only what the path itself contains, never
// values from the document.
func (p Path) Select(v any) (any, error) {
	at := "$"
	for _, st := range p.steps {
		if st.isIdx {
			arr, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s is %s, not an array", at, kind(v))
			}
			if st.index >= len(arr) {
				return nil, fmt.Errorf("%s has no element %d", at, st.index)
			}
			v = arr[st.index]
			at += "[" + strconv.Itoa(st.index) + "]"
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is %s, not an object", at, kind(v))
		}
		next, ok := obj[st.key]
		if !ok {
			return nil, fmt.Errorf("%s has no member %q", at, st.key)
		}
		v = next
		if isName(st.key) {
			at += "." + st.key
		} else {
			at += "[" + strconv.Quote(st.key) + "]"
		}
	}
	return v, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i]) {
			return false
		}
	}
	return true
}

// kind names the JSON type of v, with an article, for messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "a number"
	}
}
