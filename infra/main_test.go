package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
)

// repoRoot is where cdk.json and scripts/cdk.sh live.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

// cdk runs `scripts/cdk.sh synth` (the pinned CLI, running `go run ./infra`
// as cdk.json says) with args, offline: no proxy reachable, no Go module
// downloads. It returns the combined output and whether it succeeded.
func cdk(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	root := repoRoot(t)
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: the CDK CLI needs Node.js (and npm, to install the CLI pinned in package.json)")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", ".bin", "cdk")); err != nil {
		t.Fatal("the CDK CLI is not installed: run `scripts/cdk.sh install` (make tools does)")
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "cdk.sh"), append([]string{"synth"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		// Anything that tried the network through a proxy would fail fast;
		// the CLI's own switches are set by cdk.sh and cdk.json.
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=",
		"GOPROXY=off",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("cdk synth %s: %v in %v", strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond))
	return out.String(), err == nil
}

// TestCDKSynth synthesizes the whole app with the CLI, both stacks, cdk-nag
// on: an unsuppressed AwsSolutions finding is an error and fails it.
func TestCDKSynth(t *testing.T) {
	assets := t.TempDir()
	for _, name := range gatehouse.FunctionNames {
		if err := os.MkdirAll(filepath.Join(assets, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(assets, name, gatehouse.Bootstrap), []byte("dummy"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	outdir := t.TempDir()
	out, ok := cdk(t, "--quiet", "-o", outdir,
		"-c", "assetDir="+assets, "-c", "demo=true", "-c", "approvers=alice@example.com,bob@example.com")
	if !ok {
		t.Fatalf("cdk synth failed:\n%s", out)
	}
	if strings.Contains(out, "AwsSolutions-") {
		t.Errorf("cdk-nag findings in the output:\n%s", out)
	}
	var manifest struct {
		Artifacts map[string]struct {
			Type string `json:"type"`
		} `json:"artifacts"`
	}
	b, err := os.ReadFile(filepath.Join(outdir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	for _, stack := range []string{gatehouse.HooksStackName, gatehouse.DemoStackName} {
		if manifest.Artifacts[stack].Type != "aws:cloudformation:stack" {
			t.Errorf("cloud assembly has no stack %s: %v", stack, manifest.Artifacts)
		}
		var tmpl map[string]any
		b, err := os.ReadFile(filepath.Join(outdir, stack+".template.json"))
		if err == nil {
			err = json.Unmarshal(b, &tmpl)
		}
		if err != nil || len(tmpl["Resources"].(map[string]any)) == 0 {
			t.Errorf("template of %s: %v", stack, err)
		}
	}
}

// TestCDKSynthWithoutBinaries: without `make build`, the synthesis fails
// and says what to run.
func TestCDKSynthWithoutBinaries(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "build")
	out, ok := cdk(t, "--quiet", "-o", t.TempDir(), "-c", "assetDir="+missing)
	if ok {
		t.Fatalf("cdk synth succeeded without function binaries:\n%s", out)
	}
	for _, want := range []string{"run `make build` first", filepath.Join(missing, "approval-hook", "bootstrap")} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
}
