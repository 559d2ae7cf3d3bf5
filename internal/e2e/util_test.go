package e2e

import (
	"html"
	"os"
	"regexp"
	"testing"
)

var hiddenToken = regexp.MustCompile(`<input type="hidden" name="token" value="([^"]+)">`)

func htmlUnescape(s string) string { return html.UnescapeString(s) }

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
