package hook

import (
	"bytes"
	"encoding/json"
	"strings"
)

// OneLine flattens s, such as an error's text, to one line: errors.Join
// puts each error on a line of its own, and a reason, a log value or a
// terminal line is one line.
func OneLine(s string) string {
	return strings.ReplaceAll(s, "\n", "; ")
}

// Clip shortens s to at most n bytes, ending in "..." when it had to cut,
// and never leaves half a UTF-8 character.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 3 {
		return strings.ToValidUTF8(s[:n], "")
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}

// maxQuoted bounds a JSON value quoted in an error message.
const maxQuoted = 40

// Quote returns a raw JSON value as an error message quotes it: trimmed,
// and clipped to 40 bytes.
func Quote(raw json.RawMessage) string {
	return Clip(string(bytes.TrimSpace(raw)), maxQuoted)
}
