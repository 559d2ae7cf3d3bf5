package smoke

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const doc = `{"version":"2.4.1","build":{"n":7,"tags":["a","b"]},"items":[{"id":1},{"id":2,"display-name":"two"}],
	"odd key":{"x.y":true},"quote\"d":null,"":"empty"}`

func TestPathSelect(t *testing.T) {
	v, err := decodeJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want any
	}{
		{"$.version", "2.4.1"},
		{"$.build.n", json.Number("7")},
		{"$.build.tags[1]", "b"},
		{"$.items[1].display-name", "two"},
		{"$.items[0].id", json.Number("1")},
		{`$["odd key"]["x.y"]`, true},
		{`$['odd key']['x.y']`, true},
		{`$["quote\"d"]`, nil},
		{`$['quote"d']`, nil},
		{`$[""]`, "empty"},
		{`$["items"][1]['id']`, json.Number("2")},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.path)
		if err != nil {
			t.Errorf("ParsePath(%q) = %v", tt.path, err)
			continue
		}
		if p.String() != tt.path {
			t.Errorf("ParsePath(%q).String() = %q", tt.path, p.String())
		}
		got, err := p.Select(v)
		if err != nil {
			t.Errorf("Select(%q) = %v", tt.path, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Select(%q) (-want +got):\n%s", tt.path, diff)
		}
	}
	whole, _ := ParsePath("$")
	if got, err := whole.Select(v); err != nil || got == nil {
		t.Errorf(`Select("$") = %v, %v, want the document`, got, err)
	}
}

func TestPathSelectErrors(t *testing.T) {
	v, _ := decodeJSON([]byte(doc))
	tests := []struct{ path, want string }{
		{"$.missing", `$ has no member "missing"`},
		{"$.build.tags[2]", "$.build.tags has no element 2"},
		{"$.version.major", "$.version is a string, not an object"},
		{"$.build[0]", "$.build is an object, not an array"},
		{`$["odd key"].x`, `$["odd key"] has no member "x"`},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.path)
		if err != nil {
			t.Fatalf("ParsePath(%q) = %v", tt.path, err)
		}
		_, err = p.Select(v)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Select(%q) = %v, want %q", tt.path, err, tt.want)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	for _, bad := range []string{
		"", "version", ".version", "$version", "$.", "$..a", "$.a.", "$[", "$[]", "$[01]", "$[-1]", "$[1", "$[*]", "$.*",
		"$[1:2]", "$[?(@.a)]", `$["a]`, `$["a"`, `$["a"x]`, `$['a\n']`, "$[1000001]", "$ .a", "$.a b",
		"$" + strings.Repeat(".a", 33), "$." + strings.Repeat("a", 300),
	} {
		if p, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) = %+v, want an error", bad, p)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"$", "$.a.b", "$.a[0].b", `$["key"]`, `$['k\'ey'][3]`, "$[", `$["\`} {
		f.Add(s)
	}
	v, _ := decodeJSON([]byte(doc))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		// A parsed path selects without panicking, and the same steps
		// parse again from its canonical form.
		_, _ = p.Select(v)
		again, err := ParsePath(canonical(p))
		if err != nil {
			t.Fatalf("ParsePath(canonical %q) = %v", canonical(p), err)
		}
		if diff := cmp.Diff(p.steps, again.steps, cmp.AllowUnexported(step{})); diff != "" {
			t.Fatalf("steps differ (-first +second):\n%s", diff)
		}
	})
}

// canonical writes p with every member name quoted.
func canonical(p Path) string {
	var b strings.Builder
	b.WriteString("$")
	for _, st := range p.steps {
		if st.isIdx {
			b.WriteString("[" + itoa(st.index) + "]")
			continue
		}
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		b.WriteString(`["` + r.Replace(st.key) + `"]`)
	}
	return b.String()
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
