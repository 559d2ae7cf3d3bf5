package local

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/golden"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
)

// browser starts headless Chromium (Debian's package, installed by
// scripts/chromium.sh) and returns a chromedp context.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: run scripts/chromium.sh (make test does)")
	}
	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 1000),
		chromedp.Env("HOME="+dir, "TMPDIR="+dir),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	checkBrowserVersion(t, ctx)
	return ctx
}

// checkBrowserVersion asks the running browser its version, logs it, and
// fails the test when it is older than the floor scripts/chromium.sh states
// (the oldest build the tests were measured with).
func checkBrowserVersion(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("browser: start: %v", err)
	}
	v, err := chromedp.CallBrowser(ctx, cdpbrowser.GetVersion, cdp.Empty{})
	product := v.Product
	if err != nil {
		t.Fatalf("browser: ask its version: %v", err)
	}
	min := chromiumMin(t)
	_, version, _ := strings.Cut(product, "/")
	majorText, _, _ := strings.Cut(version, ".")
	major, err := strconv.Atoi(majorText)
	if err != nil {
		t.Fatalf("browser: version %q has no major number", product)
	}
	if major < min {
		t.Fatalf("browser: %s is older than the minimum %d in scripts/chromium.sh: run scripts/chromium.sh", product, min)
	}
	t.Logf("browser: %s (minimum %d)", product, min)
}

// chromiumMin reads CHROMIUM_MIN from scripts/chromium.sh, the one place the
// floor is written.
func chromiumMin(t *testing.T) int {
	t.Helper()
	script, err := os.ReadFile(filepath.Join(awstest.ModuleRoot(t), "scripts", "chromium.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CHROMIUM_MIN="\$\{CHROMIUM_MIN:-(\d+)\}"$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/chromium.sh: no CHROMIUM_MIN line")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// TestBrowserApproves drives the product as a person would: open the
// dashboard, follow the review link from the outbox, press Approve, and see
// the deployment complete.
func TestBrowserApproves(t *testing.T) {
	l := startLocal(t, DefaultConfig())
	tr, err := l.Deploy(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	run(t, ctx, "open the dashboard", chromedp.Navigate(l.UIURL))
	run(t, ctx, "wait for the review message", chromedp.WaitVisible(".review-link"))
	// The summary says what blocks the deployment, and until when.
	summary := run(t, ctx, "read the summary", chromedp.Poll[string](`(() => { const s = document.getElementById("summary"); return s && s.textContent.includes("approvals;") ? s.textContent : null; })()`))
	if want := regexp.MustCompile(`^Waiting at POST_TEST_TRAFFIC_SHIFT for alice@example.com or bob@example.com, 0 of 1 approvals; expires \d\d:\d\d, in 1h5\dm \(simulated time\)$`); !want.MatchString(summary) {
		t.Errorf("summary = %q, want it to match %s", summary, want)
	}
	// Every reason is within its section at 1280 px, in a column wide
	// enough to read.
	if bad := run(t, ctx, "measure the reason column", chromedp.Evaluate[string](`(() => {
		const cells = [...document.querySelectorAll("table.events td.reason")];
		if (cells.length === 0) return "no reason cells";
		for (const td of cells) {
			const r = td.getBoundingClientRect(), s = td.closest("section").getBoundingClientRect();
			if (r.right > s.right + 0.5 || r.width < 150) return "reason cell " + JSON.stringify([r.left, r.right, r.width]) + " in section " + JSON.stringify([s.left, s.right]);
		}
		return "";
	})()`)); bad != "" {
		t.Errorf("at 1280 px: %s", bad)
	}
	link := run(t, ctx, "read the review link", chromedp.AttributeValue(".review-link", "href"))
	if !strings.Contains(link.Value, "/review?token=") {
		t.Fatalf("review link = %q", link.Value)
	}
	run(t, ctx, "open the review page", chromedp.Navigate(link.Value))
	run(t, ctx, "see the form", chromedp.WaitVisible("#approve"))
	if title := run(t, ctx, "read the title", chromedp.Text("h1")); !strings.Contains(title, "Approve deployment of demo") {
		t.Errorf("review page title = %q", title)
	}
	if *golden.Update {
		shot := run(t, ctx, "screenshot the review page", chromedp.FullScreenshot(100))
		writeShot(t, "review-page.png", shot)
	}
	run(t, ctx, "press Approve", chromedp.Click("#approve"))
	run(t, ctx, "see the outcome", chromedp.WaitVisible("#message"))
	if msg := run(t, ctx, "read the outcome", chromedp.Text("#message")); !strings.Contains(msg, "Your approval is recorded") {
		t.Errorf("after pressing Approve the page says %q", msg)
	}
	select {
	case <-tr.Done():
	case <-ctx.Done():
		t.Fatalf("the deployment did not finish: %v", ctx.Err())
	}
	if s := tr.D.Snapshot().Status; s != simulator.StatusSuccessful {
		t.Fatalf("deployment ended %s, want SUCCESSFUL", s)
	}
	run(t, ctx, "open the dashboard again", chromedp.Navigate(l.UIURL))
	sel := `[data-status="SUCCESSFUL"]`
	run(t, ctx, "see the deployment succeeded", chromedp.WaitVisible(sel))
	if v := run(t, ctx, "read what production serves", chromedp.Text("#prod-version")); v != "serving demo 2.4.1" {
		t.Errorf("after the deployment production says %q, want serving demo 2.4.1 (the new revision)", v)
	}
	if s := run(t, ctx, "read the summary", chromedp.Text("#summary")); !strings.HasSuffix(s, "production serves demo 2.4.1.") {
		t.Errorf("summary after success = %q", s)
	}
	if *golden.Update {
		shot := run(t, ctx, "screenshot the dashboard", chromedp.FullScreenshot(100))
		writeShot(t, "dashboard.png", shot)
	}
}

func writeShot(t *testing.T, name string, png []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("screenshots", name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserKeepsTheChoice: the dashboard refreshes its data every two
// seconds, never its form: a revision behaviour chosen stays chosen across
// refreshes, and Deploy deploys it; the summary then says how it ended.
func TestBrowserKeepsTheChoice(t *testing.T) {
	l := startLocal(t, DefaultConfig())
	ctx := browser(t)
	run(t, ctx, "open the dashboard", chromedp.Navigate(l.UIURL))
	run(t, ctx, "see the form", chromedp.WaitVisible("#deploy"))
	run(t, ctx, "choose broken", chromedp.SetValue("#green", string(Broken)))
	// Count the refreshes by the simulated clock in the header; a page
	// that reloaded itself has lost the count (and the choice).
	run(t, ctx, "watch the clock", chromedp.Evaluate[bool](`(() => {
		window.refreshes = 0;
		new MutationObserver(() => window.refreshes++).observe(document.getElementById("now"), {childList: true, subtree: true, characterData: true});
		return true;
	})()`))
	if got := run(t, ctx, "wait for two refreshes", chromedp.Poll[string](`window.refreshes === undefined ? "reloaded" : (window.refreshes >= 2 ? "refreshed" : null)`)); got != "refreshed" {
		t.Error("the page reloaded itself: refreshing must update the data, not the form")
	}
	if v := run(t, ctx, "read the choice", chromedp.Value("#green")); v != string(Broken) {
		t.Fatalf("after the refreshes the form offers %q, want the choice %q kept", v, Broken)
	}
	run(t, ctx, "press Deploy", chromedp.Click("#deploy"))
	run(t, ctx, "see the deployment", chromedp.WaitVisible(".deployment"))
	ds := l.Deployments()
	if len(ds) != 1 || ds[0].Green != Broken {
		t.Fatalf("deployments %v, want one of a broken revision", ds)
	}
	select {
	case <-ds[0].Done():
	case <-ctx.Done():
		t.Fatalf("the deployment did not finish: %v", ctx.Err())
	}
	summary := run(t, ctx, "read the summary", chromedp.Poll[string](`(() => { const s = document.getElementById("summary"); return s && s.textContent.startsWith("ROLLBACK_SUCCESSFUL") ? s.textContent : null; })()`))
	if !strings.Contains(summary, "smoke checks failed") {
		t.Errorf("summary = %q, want the rollback and its reason", summary)
	}
	if v := run(t, ctx, "read the choice again", chromedp.Value("#green")); v != string(Broken) {
		t.Errorf("after the deployment the form offers %q, want %q", v, Broken)
	}
}

// TestBrowserApprovesInSlack: the outbox draws each approver's Slack
// message as Slack does; pressing its Approve button shows Slack's confirm
// dialog, and confirming posts the click (signed, as Slack would) to the
// review API: the vote is recorded as that approver, via Slack, the
// deployment goes on, and the message shows the outcome with no buttons.
func TestBrowserApprovesInSlack(t *testing.T) {
	cfg := DefaultConfig()
	l := startLocal(t, cfg)
	tr, err := l.Deploy(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	run(t, ctx, "open the dashboard", chromedp.Navigate(l.UIURL))
	button := `.slack a.kit-button[data-action="gatehouse_approve"]`
	run(t, ctx, "wait for the Slack message", chromedp.WaitVisible(button))
	if *golden.Update {
		// The dashboard rewrites its outbox as it refreshes: the message
		// is shot by where it is, not as a node.
		box := run(t, ctx, "find the Slack message", chromedp.Evaluate[[]float64](`(() => { const r = document.querySelector(".slack").getBoundingClientRect(); return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; })()`))
		capture := true
		shot := run(t, ctx, "screenshot the Slack message", chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
			r, err := cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{CaptureBeyondViewport: &capture,
				Clip: &page.Viewport{X: box[0] - 8, Y: box[1] - 8, Width: box[2] + 16, Height: box[3] + 16, Scale: 1}})
			if err != nil {
				return nil, err
			}
			return r.Data, nil
		}))
		writeShot(t, "slack-message.png", shot)
	}
	to := run(t, ctx, "read whom it is for", chromedp.Text(".slack .slack-from"))
	run(t, ctx, "press Approve in Slack", chromedp.Click(button))
	run(t, ctx, "see Slack's confirm dialog", chromedp.WaitVisible("#slack-confirm"))
	if title := run(t, ctx, "read the dialog", chromedp.Text("h1")); title != "Approve this deployment?" {
		t.Errorf("confirm dialog = %q", title)
	}
	run(t, ctx, "confirm", chromedp.Click("#slack-confirm"))
	run(t, ctx, "see the answer", chromedp.WaitVisible("#message"))
	if msg := run(t, ctx, "read the answer", chromedp.Text("#message")); !strings.Contains(msg, "Your approval is recorded") {
		t.Errorf("after confirming, the dashboard says %q", msg)
	}
	select {
	case <-tr.Done():
	case <-ctx.Done():
		t.Fatalf("the deployment did not finish: %v", ctx.Err())
	}
	if s := tr.D.Snapshot(); s.Status != simulator.StatusSuccessful {
		t.Fatalf("deployment ended %s: %s", s.Status, s.Reason)
	}
	approver := ""
	for _, a := range []string{"alice@example.com", "bob@example.com"} {
		if strings.Contains(to, a) {
			approver = a
		}
	}
	d, _ := hook.ParseDeploymentARN(tr.D.Snapshot().ARN)
	obj, err := l.Store.Get(context.Background(), approval.Key(d, hook.StagePostTestTrafficShift))
	if err != nil {
		t.Fatal(err)
	}
	r, err := approval.Decode(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := r.VoteOf(approver); !ok || v.Via != "slack" {
		t.Errorf("votes %+v, want %s's via slack", r.Votes, approver)
	}
	run(t, ctx, "open the dashboard again", chromedp.Navigate(l.UIURL))
	run(t, ctx, "see the deployment succeeded", chromedp.WaitVisible(`[data-status="SUCCESSFUL"]`))
	if n := run(t, ctx, "count the buttons left", chromedp.Evaluate[int](`document.querySelectorAll(".slack a.kit-button[data-action]").length`)); n != 0 {
		t.Errorf("%d Slack buttons left after the decision", n)
	}
}
