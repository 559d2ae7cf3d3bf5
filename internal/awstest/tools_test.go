package awstest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fatalRecorder is a testing.TB whose Fatal ends the calling goroutine and
// records the message instead of failing the real test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fatalRecorder) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// fatalMessage runs fn with a fatalRecorder and returns its Fatal message,
// or "" if fn returned normally.
func fatalMessage(t *testing.T, fn func(testing.TB)) string {
	t.Helper()
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(rec)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("helper neither returned nor failed within 30s")
	}
	return rec.msg
}

func TestMissingToolFailsWithInstructions(t *testing.T) {
	empty := t.TempDir()
	t.Setenv(ToolsBinEnv, empty)
	for name, fn := range map[string]func(testing.TB){
		"versitygw":      func(tb testing.TB) { NewS3(tb) },
		"aws-lambda-rie": func(tb testing.TB) { NewRIE(tb, os.Args[0], nil) },
	} {
		msg := fatalMessage(t, fn)
		want := fmt.Sprintf("%s not found in %s: run `make tools` (scripts/tools.sh)", name, empty)
		if !strings.Contains(msg, want) {
			t.Errorf("missing %s: Fatal message %q, want it to contain %q", name, msg, want)
		}
	}
}

func TestModuleRoot(t *testing.T) {
	root := ModuleRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "module github.com/gatehouse-dev/gatehouse\n") {
		t.Errorf("ModuleRoot() = %s, whose go.mod is not the gatehouse module", root)
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"A=1", "B=2"}, nil, []string{"C=3", "A=4", "D=x=y"})
	want := []string{"A=4", "B=2", "C=3", "D=x=y"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mergeEnv mismatch (-want +got):\n%s", diff)
	}
}
