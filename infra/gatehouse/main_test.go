package gatehouse_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
)

// assetRoot holds a dummy bootstrap per function: the tests never depend on
// `make build`.
var assetRoot string

func TestMain(m *testing.M) {
	if code, reexeced := reexecWithCaches(); reexeced {
		os.Exit(code)
	}
	os.Exit(run(m))
}

// cacheEnv keeps jsii's package cache (200 MB) and the CDK's asset
// fingerprint cache inside the repository (.cache/, git-ignored), as
// scripts/cdk.sh does, rather than under $HOME.
func cacheEnv() map[string]string {
	_, file, _, _ := runtime.Caller(0)
	cache := filepath.Join(filepath.Dir(file), "..", "..", ".cache")
	return map[string]string{
		"JSII_RUNTIME_PACKAGE_CACHE_ROOT": filepath.Join(cache, "jsii"),
		"CDK_HOME":                        filepath.Join(cache, "cdk"),
		"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20",
	}
}

// reexecWithCaches runs the test binary again with cacheEnv set, unless it
// is set already. The jsii runtime starts while packages initialise, before
// TestMain, with the environment of that moment: setting the variables here
// would come too late. Returns the child's exit code and whether it ran.
func reexecWithCaches() (int, bool) {
	var missing []string
	for k, v := range cacheEnv() {
		if os.Getenv(k) == "" {
			missing = append(missing, k+"="+v)
		}
	}
	if len(missing) == 0 {
		return 0, false
	}
	defer jsii.Close()
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), missing...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), true
		}
		fmt.Fprintln(os.Stderr, err)
		return 1, true
	}
	return 0, true
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gatehouse-assets-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := writeAssets(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	assetRoot = dir
	// One jsii runtime for the whole binary: closing it per test costs
	// seconds each.
	defer jsii.Close()
	return m.Run()
}

// writeAssets writes <dir>/<name>/bootstrap for every function.
func writeAssets(dir string) error {
	for _, name := range gatehouse.FunctionNames {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name, gatehouse.Bootstrap), []byte("not a real binary\n"), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// Approvers the fixture app subscribes.
var approvers = []string{"alice@example.com", "bob@example.com"}

// fixture is the whole app, both stacks and cdk-nag, built and synthesized
// once for every test that only reads it.
type fixture struct {
	stacks        *gatehouse.Stacks
	hooks, demo   assertions.Template
	hooksJSON     map[string]any
	demoJSON      map[string]any
	hooksNotes    assertions.Annotations
	demoNotes     assertions.Annotations
	buildErr      error
	synthPanicked any
}

var (
	fixtureOnce sync.Once
	theFixture  fixture
)

func newApp() awscdk.App {
	return awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		"@aws-cdk/core:defaultCrossStackReferences": "strong",
	}})
}

func appFixture(t *testing.T) *fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		f := &theFixture
		defer func() { f.synthPanicked = recover() }()
		app := newApp()
		f.stacks, f.buildErr = build(app, gatehouse.Options{
			AssetDir:             assetRoot,
			Approvers:            approvers,
			RecordExpirationDays: 90,
			Demo:                 true,
			BakeTimeMinutes:      10,
			Nag:                  true,
		})
		if f.buildErr != nil {
			return
		}
		f.hooks = assertions.Template_FromStack(f.stacks.Hooks, nil)
		f.demo = assertions.Template_FromStack(f.stacks.Demo.Stack, nil)
		f.hooksJSON = *f.hooks.ToJSON()
		f.demoJSON = *f.demo.ToJSON()
		f.hooksNotes = assertions.Annotations_FromStack(f.stacks.Hooks)
		f.demoNotes = assertions.Annotations_FromStack(f.stacks.Demo.Stack)
	})
	f := &theFixture
	if f.buildErr != nil {
		t.Fatalf("Build: %v", f.buildErr)
	}
	if f.synthPanicked != nil {
		t.Fatalf("building the app panicked: %v", f.synthPanicked)
	}
	return f
}

// check runs an assertion, which panics on failure, and reports the panic
// as a test error so one failed assertion does not hide the others.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	if msg, failed := panics(assertion); failed {
		t.Errorf("%s: %s", what, msg)
	}
}

// panics runs f and returns what it panicked with, if it did.
func panics(f func()) (msg string, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			msg, panicked = fmt.Sprint(r), true
		}
	}()
	f()
	return "", false
}

// mustFail asserts that an assertion fails: a negative check.
func mustFail(t *testing.T, what string, assertion func()) {
	t.Helper()
	if _, failed := panics(assertion); !failed {
		t.Errorf("%s: the assertion passed, want it to fail", what)
	}
}

func obj(m map[string]any) assertions.Matcher   { return assertions.Match_ObjectLike(&m) }
func objEq(m map[string]any) assertions.Matcher { return assertions.Match_ObjectEquals(&m) }
func arrayWith(v ...any) assertions.Matcher     { return assertions.Match_ArrayWith(&v) }
func arrayEq(v ...any) assertions.Matcher       { return assertions.Match_ArrayEquals(&v) }

// resources returns the template's resources of one type, by logical ID.
func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// logicalID returns the single resource of type typ whose logical ID starts with prefix.
func logicalID(t *testing.T, tmpl map[string]any, typ, prefix string) string {
	t.Helper()
	var found []string
	for id := range resources(tmpl, typ) {
		if strings.HasPrefix(id, prefix) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s resources with logical ID %s*: %v, want exactly one", typ, prefix, found)
	}
	return found[0]
}
