// Package docs_test keeps README.md and docs/*.md in step with the code.
//
// It checks that every GATEHOUSE_* environment variable the code reads and
// every hookDetails key each hook accepts is documented, that relative
// links and #anchors resolve, and that the README stays short.
package docs_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
)

// maxReadmeLines is how long README.md may be: the reference lives in docs/.
const maxReadmeLines = 300

// configDoc is the configuration reference, relative to the module root.
const configDoc = "docs/configuration.md"

// moduleRoot finds the directory of go.mod, from the test's working
// directory (docs/) upwards, and the module path it declares.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(m), `"`)
				}
			}
			t.Fatalf("%s/go.mod declares no module", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// skipDir reports whether a directory holds no Go code of the module: build
// output, npm packages, CDK output, git's own files, and what the go command
// itself ignores (testdata, and names starting with . or _).
func skipDir(name string) bool {
	switch name {
	case "build", "node_modules", "cdk.out", ".git", "testdata":
		return true
	}
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// envVar is a GATEHOUSE_* string literal and where it was found.
type envVar struct {
	name string
	pos  string // file:line, relative to the module root
	pkg  string // the package's directory, relative to the module root
}

// goPackage is what the test needs of one package's non-test files.
type goPackage struct {
	main    bool
	imports []string // import paths
}

var envName = regexp.MustCompile(`^GATEHOUSE_[A-Z0-9_]+$`)

// scanGo parses every non-test Go file of the module and returns the
// GATEHOUSE_* string literals in them, and the packages by directory.
func scanGo(t *testing.T, root string) ([]envVar, map[string]*goPackage) {
	t.Helper()
	var vars []envVar
	pkgs := map[string]*goPackage{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		p := pkgs[rel]
		if p == nil {
			p = &goPackage{}
			pkgs[rel] = p
		}
		p.main = p.main || f.Name.Name == "main"
		for _, imp := range f.Imports {
			if ip, err := strconv.Unquote(imp.Path.Value); err == nil {
				p.imports = append(p.imports, ip)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !envName.MatchString(s) {
				return true
			}
			pos := fset.Position(lit.Pos())
			file, _ := filepath.Rel(root, pos.Filename)
			vars = append(vars, envVar{name: s, pos: fmt.Sprintf("%s:%d", filepath.ToSlash(file), pos.Line), pkg: rel})
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return vars, pkgs
}

// productPackages returns the directories of the packages that the
// product's commands are built from: the main packages under functions/,
// cmd/ and infra/ (the Lambda functions, the gatehouse CLI and the CDK app),
// and every package of the module they import, following non-test imports.
// Commands under scripts/ are build tools, not the product.
func productPackages(module string, pkgs map[string]*goPackage) map[string]bool {
	seen := map[string]bool{}
	var visit func(dir string)
	visit = func(dir string) {
		p := pkgs[dir]
		if p == nil || seen[dir] {
			return
		}
		seen[dir] = true
		for _, imp := range p.imports {
			if imp == module {
				visit(".")
			} else if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				visit(rel)
			}
		}
	}
	for dir, p := range pkgs {
		top, _, _ := strings.Cut(dir, "/")
		if p.main && (top == "functions" || top == "cmd" || top == "infra") {
			visit(dir)
		}
	}
	return seen
}

// markdown is one documentation file, read and indexed.
type markdown struct {
	path     string // relative to the module root
	text     string // without fenced code blocks
	anchors  map[string]bool
	sections map[string]map[string][]string // "## " heading: table column header: code spans
	spans    []string                       // every inline code span
}

var (
	fence     = regexp.MustCompile("(?m)^\\s*```")
	heading   = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	codeSpan  = regexp.MustCompile("`([^`]+)`")
	tableSep  = regexp.MustCompile(`^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$`)
	inlineURL = regexp.MustCompile(`!?\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
)

// stripFences returns text without its fenced code blocks (each line of
// them blanked, so line numbers stay).
func stripFences(text string) string {
	lines := strings.Split(text, "\n")
	in := false
	for i, l := range lines {
		if fence.MatchString(l) {
			in = !in
			lines[i] = ""
			continue
		}
		if in {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// slug is GitHub's anchor for a heading: the text (code spans kept, their
// backticks dropped) lowercased, spaces turned into -, and punctuation
// other than - and _ dropped.
func slug(text string) string {
	text = inlineURL.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitRow splits a table row into its cells; a | inside a code span or
// escaped as \| does not split.
func splitRow(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	if strings.HasSuffix(row, "|") && !strings.HasSuffix(row, `\|`) {
		row = row[:len(row)-1]
	}
	var cells []string
	var cur strings.Builder
	inCode := false
	for i := 0; i < len(row); i++ {
		c := row[i]
		switch {
		case c == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '`':
			inCode = !inCode
			cur.WriteByte(c)
		case c == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func spansOf(s string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func readMarkdown(t *testing.T, root, rel string) *markdown {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	md := &markdown{path: rel, text: stripFences(string(data)), anchors: map[string]bool{}, sections: map[string]map[string][]string{}}
	md.spans = spansOf(md.text)
	lines := strings.Split(md.text, "\n")
	section := ""
	counts := map[string]int{}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := heading.FindStringSubmatch(line); m != nil {
			a := slug(m[2])
			if n := counts[a]; n > 0 {
				counts[a]++
				a = fmt.Sprintf("%s-%d", a, n)
			} else {
				counts[a] = 1
			}
			md.anchors[a] = true
			if len(m[1]) <= 2 {
				section = strings.ReplaceAll(m[2], "`", "")
			}
			continue
		}
		if !strings.HasPrefix(strings.TrimSpace(line), "|") || i+1 >= len(lines) || !tableSep.MatchString(strings.TrimSpace(lines[i+1])) {
			continue
		}
		header := splitRow(line)
		cols := md.sections[section]
		if cols == nil {
			cols = map[string][]string{}
			md.sections[section] = cols
		}
		for i += 2; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
			for c, cell := range splitRow(lines[i]) {
				if c < len(header) {
					cols[header[c]] = append(cols[header[c]], spansOf(cell)...)
				}
			}
		}
		i--
	}
	return md
}

// docFiles returns README.md and every docs/*.md, relative to the root.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"README.md"}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}

// TestEnvironmentVariablesDocumented: every GATEHOUSE_* string literal in
// the module's non-test Go files is documented. The rule: a variable read
// by a product package (one the Lambda functions, the gatehouse CLI or the
// CDK app is built from; see productPackages) is a setting, and must be in
// an "env" column of a table in docs/configuration.md. Any other (read only
// by test support such as internal/awstest, like GATEHOUSE_TOOLS_BIN) must
// appear as `NAME` somewhere in README.md or docs/*.md, typically in
// docs/development.md. Conversely, every variable in an env column of the
// configuration reference must be one the code reads.
func TestEnvironmentVariablesDocumented(t *testing.T) {
	root, module := moduleRoot(t)
	vars, pkgs := scanGo(t, root)
	if len(vars) == 0 {
		t.Fatal("found no GATEHOUSE_* variable in the code: is the module root right?")
	}
	product := productPackages(module, pkgs)
	conf := readMarkdown(t, root, configDoc)
	inEnvColumn := map[string]bool{}
	for _, cols := range conf.sections {
		for _, s := range cols["env"] {
			inEnvColumn[s] = true
		}
	}
	anywhere := map[string]bool{}
	for _, f := range docFiles(t, root) {
		for _, s := range readMarkdown(t, root, f).spans {
			anywhere[s] = true
		}
	}
	reported := map[string]bool{}
	read := map[string]bool{}
	for _, v := range vars {
		read[v.name] = true
		if product[v.pkg] {
			if !inEnvColumn[v.name] && !reported[v.name] {
				reported[v.name] = true
				t.Errorf("%s (read at %s) is not documented: add it to an env column of a table in %s", v.name, v.pos, configDoc)
			}
			continue
		}
		if !anywhere[v.name] && !reported[v.name] {
			reported[v.name] = true
			t.Errorf("%s (read at %s, by test tooling) is not documented: name it as `%s` in README.md or docs/*.md (docs/development.md)", v.name, v.pos, v.name)
		}
	}
	for name := range inEnvColumn {
		if envName.MatchString(name) && !read[name] {
			t.Errorf("%s documents %s, which no Go file of the module reads", configDoc, name)
		}
	}
}

// TestHookDetailsKeysDocumented: every hookDetails key each hook accepts is
// in a table of that hook's section of docs/configuration.md, in a
// "hookDetails key" column (a smoke check's keys in a "check key" column;
// the bake hook's nested keys as alarms.KEY, metrics[].KEY and
// metrics[].metrics.<id>.KEY), and every key in those columns is one the
// hook accepts.
func TestHookDetailsKeysDocumented(t *testing.T) {
	root, _ := moduleRoot(t)
	conf := readMarkdown(t, root, configDoc)
	prefixed := func(prefix string, keys []string) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = prefix + k
		}
		return out
	}
	for _, tt := range []struct {
		section, column string
		from            string
		keys            []string
	}{
		{"approval-hook", "hookDetails key", "approval.DetailKeys()", approval.DetailKeys()},
		{"policy", "loosen key", "approval.PolicyKeys(), smoke.PolicyKeys() and bake.PolicyKeys()", slices.Concat(
			prefixed("approval.", approval.PolicyKeys()),
			prefixed("smoke.", smoke.PolicyKeys()),
			prefixed("bake.", bake.PolicyKeys()),
		)},
		{"smoke-hook", "hookDetails key", "smoke.DetailKeys()", smoke.DetailKeys()},
		{"smoke-hook", "check key", "smoke.CheckKeys()", smoke.CheckKeys()},
		{"bake-hook", "hookDetails key", "bake.DetailKeys(), AlarmKeys(), MetricKeys() and ExpressionMetricKeys()", slices.Concat(
			bake.DetailKeys(),
			prefixed("alarms.", bake.AlarmKeys()),
			prefixed("metrics[].", bake.MetricKeys()),
			prefixed("metrics[].metrics.<id>.", bake.ExpressionMetricKeys()),
		)},
	} {
		cols, ok := conf.sections[tt.section]
		if !ok {
			t.Errorf("%s has no section \"## %s\"", configDoc, tt.section)
			continue
		}
		documented := cols[tt.column]
		for _, k := range tt.keys {
			if !slices.Contains(documented, k) {
				t.Errorf("%s: %s accepts the key %q, which is not in a %q column under \"## %s\"", configDoc, tt.from, k, tt.column, tt.section)
			}
		}
		for _, k := range documented {
			if !slices.Contains(tt.keys, k) {
				t.Errorf("%s documents %q in a %q column under \"## %s\", but %s has no such key", configDoc, k, tt.column, tt.section, tt.from)
			}
		}
	}
}

// TestLinks: every relative link and image in README.md and docs/*.md
// names a file or directory that exists, and every #anchor a heading of the
// page it points to.
func TestLinks(t *testing.T) {
	root, _ := moduleRoot(t)
	pages := map[string]*markdown{}
	page := func(rel string) *markdown {
		if pages[rel] == nil {
			pages[rel] = readMarkdown(t, root, rel)
		}
		return pages[rel]
	}
	links := 0
	for _, f := range docFiles(t, root) {
		md := page(f)
		// Code spans can hold text that looks like a link; links hold code
		// spans only in their text, which is not checked.
		text := codeSpan.ReplaceAllString(md.text, "code")
		for _, m := range inlineURL.FindAllStringSubmatchIndex(text, -1) {
			target := text[m[4]:m[5]]
			line := 1 + strings.Count(text[:m[0]], "\n")
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			file, anchor, _ := strings.Cut(target, "#")
			dest := f
			if file != "" {
				dest = filepath.ToSlash(filepath.Join(filepath.Dir(f), file))
				if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
					t.Errorf("%s:%d: link to %s: %s does not exist", f, line, target, dest)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(dest, ".md") {
				t.Errorf("%s:%d: link to %s: an anchor into a file that is not Markdown", f, line, target)
				continue
			}
			if !page(dest).anchors[anchor] {
				t.Errorf("%s:%d: link to %s: %s has no heading with the anchor #%s", f, line, target, dest, anchor)
			}
		}
	}
	if links == 0 {
		t.Error("found no relative link at all: is the link pattern right?")
	}
}

func TestReadmeLength(t *testing.T) {
	root, _ := moduleRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := strings.Count(string(data), "\n")
	if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
		n++
	}
	if n > maxReadmeLines {
		t.Errorf("README.md has %d lines, at most %d: move reference material to docs/", n, maxReadmeLines)
	}
}

// TestSlug pins the anchor rule against headings of these pages.
func TestSlug(t *testing.T) {
	for text, want := range map[string]string{
		"Smoke tests: `smoke-hook`":                       "smoke-tests-smoke-hook",
		"Listener rules and aws/aws-cdk#36649":            "listener-rules-and-awsaws-cdk36649",
		"Bootstrap (once per account and region)":         "bootstrap-once-per-account-and-region",
		"`gatehouse list`, `status`, `approve`, `reject`": "gatehouse-list-status-approve-reject",
		"Reserved `hookDetails` keys":                     "reserved-hookdetails-keys",
	} {
		if got := slug(text); got != want {
			t.Errorf("slug(%q) = %q, want %q", text, got, want)
		}
	}
}
