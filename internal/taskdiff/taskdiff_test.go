package taskdiff

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
)

func blueDef() ecsdeploy.TaskDefinition {
	return ecsdeploy.TaskDefinition{ARN: "arn:aws:ecs:us-west-2:123456789012:task-definition/orders:41", CPU: "256", Memory: "512",
		TaskRole: "arn:aws:iam::123456789012:role/orders", ExecutionRole: "arn:aws:iam::123456789012:role/exec", Compatibilities: []string{"FARGATE"}, NetworkMode: "awsvpc",
		Containers: []ecsdeploy.Container{{
			Name: "web", Image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/orders:1.4.0@sha256:aaaaaaaaaaaaaaaaaaaa", Essential: true,
			Environment: map[string]string{"LOG_LEVEL": "info", "API_KEY": "hunter2-old", "REGION": "us-west-2"},
			Secrets:     map[string]string{"DB_PASSWORD": "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-old"},
			Labels:      map[string]string{LabelSource: "https://github.com/acme/orders", LabelRevision: "1111111"},
			Ports:       []string{"8080/tcp"}, Command: []string{"serve"}, HealthCheck: "CMD-SHELL curl -f localhost:8080/health (every 30s, 3 retries)",
		}, {Name: "sidecar", Image: "envoy:1.30"}},
	}
}

// TestCompare: two task definitions that differ in every way a reviewer
// is shown; only what differs, and no secret-looking value anywhere.
func TestCompare(t *testing.T) {
	blue, green := blueDef(), blueDef()
	green.Memory, green.TaskRole, green.Compatibilities = "1024", "arn:aws:iam::123456789012:role/orders-v2", []string{"FARGATE", "EC2"}
	web := &green.Containers[0]
	web.Image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/orders:1.5.0@sha256:bbbbbbbbbbbbbbbbbbbb"
	web.Environment = map[string]string{"LOG_LEVEL": "debug", "API_KEY": "hunter2-new", "FEATURE_X": "on"}
	web.Secrets = map[string]string{"DB_PASSWORD": "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-new", "SESSION_TOKEN": "arn:aws:ssm:us-west-2:123456789012:parameter/session"}
	web.Labels = map[string]string{LabelSource: "https://github.com/acme/orders", LabelRevision: "2222222"}
	web.Ports, web.Command, web.HealthCheck = []string{"8080/tcp", "9090/tcp"}, []string{"serve", "--fast"}, "CMD-SHELL curl -f localhost:8080/ready (every 30s, 3 retries)"
	green.Containers[1] = ecsdeploy.Container{Name: "xray", Image: "amazon/aws-xray-daemon:3"}
	d := Compare(blue, green)
	want := []Change{
		{What: "memory", From: "512", To: "1024"},
		{What: "taskRole", From: "arn:aws:iam::123456789012:role/orders", To: "arn:aws:iam::123456789012:role/orders-v2"},
		{What: "launch types", From: "FARGATE", To: "EC2, FARGATE"},
		{Container: "web", What: "image", From: blue.Containers[0].Image, To: web.Image},
		{Container: "web", What: "ports", From: "8080/tcp", To: "8080/tcp, 9090/tcp"},
		{Container: "web", What: "command", From: "serve", To: "serve --fast"},
		{Container: "web", What: "healthCheck", From: blue.Containers[0].HealthCheck, To: web.HealthCheck},
		{Container: "web", What: "env API_KEY", Hidden: true},
		{Container: "web", What: "env FEATURE_X", To: "on"},
		{Container: "web", What: "env LOG_LEVEL", From: "info", To: "debug"},
		{Container: "web", What: "env REGION", From: "us-west-2"},
		{Container: "web", What: "secret DB_PASSWORD", From: "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-old", To: "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-new"},
		{Container: "web", What: "secret SESSION_TOKEN", To: "arn:aws:ssm:us-west-2:123456789012:parameter/session"},
		{Container: "xray", What: "container", To: "added"},
		{Container: "xray", What: "image", To: "amazon/aws-xray-daemon:3"},
		{Container: "sidecar", What: "container", From: "removed (envoy:1.30)"},
	}
	if diff := cmp.Diff(want, d.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if want := []Source{{Container: "web", Repo: "https://github.com/acme/orders", From: "1111111", To: "2222222", Link: "https://github.com/acme/orders/compare/1111111...2222222"}}; !cmp.Equal(want, d.Sources) {
		t.Errorf("sources = %+v, want %+v", d.Sources, want)
	}
	raw, _ := json.Marshal(d)
	for _, secret := range []string{"hunter2"} {
		if strings.Contains(string(raw)+d.Summary(100), secret) {
			t.Errorf("a secret-looking value is in the diff:\n%s", raw)
		}
	}
	if s := d.Summary(3); s != "16 changes: memory 512 → 1024, taskRole arn:aws:iam::123456789012:role/orders → arn:aws:iam::123456789012:role/orders-v2, launch types FARGATE → EC2, FARGATE, and 13 more" {
		t.Errorf("Summary = %q", s)
	}
}

// TestCompareNeverShowsWhatMayBeSecret: a command, entry point, health
// check or value that may carry a secret (a word secrets go by, a URL with
// credentials) is said to change, never shown; settings not read one by one
// are said to change.
func TestCompareNeverShowsWhatMayBeSecret(t *testing.T) {
	blue, green := blueDef(), blueDef()
	web := &green.Containers[0]
	web.Command = []string{"sh", "-c", "API_KEY=hunter2 ./serve"}
	web.EntryPoint = []string{"/bin/run", "--db-password=hunter2"}
	web.HealthCheck = "CMD-SHELL curl -H 'Authorization: Bearer hunter2' localhost"
	web.Environment = map[string]string{"LOG_LEVEL": "info", "API_KEY": "hunter2-old", "REGION": "us-west-2", "DATABASE_URL": "postgres://app:hunter2@db:5432/orders"}
	web.Other = "privileged"
	green.Other = "volumes"
	d := Compare(blue, green)
	raw, _ := json.Marshal(d)
	if strings.Contains(string(raw)+d.Summary(100), "hunter2") {
		t.Errorf("a secret reached the diff:\n%s", raw)
	}
	for _, what := range []string{"command", "entryPoint", "healthCheck", "env DATABASE_URL", "other settings"} {
		if !slices.ContainsFunc(d.Changes, func(c Change) bool { return c.What == what && c.Hidden }) {
			t.Errorf("no hidden %q change in %+v", what, d.Changes)
		}
	}
}

// TestCompareOnlyTheImage, TestCompareNothing: the one-line summaries.
func TestCompareOnlyTheImage(t *testing.T) {
	blue, green := blueDef(), blueDef()
	green.Containers[0].Image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/orders:1.5.0"
	d := Compare(blue, green)
	if !d.OnlyImage() || d.Summary(3) != "1 change: web image 1.4.0 → 1.5.0" {
		t.Errorf("only the image: OnlyImage %v, summary %q", d.OnlyImage(), d.Summary(3))
	}
	green.Containers[0].Image = "123456789012.dkr.ecr.us-west-2.amazonaws.com/orders:1.4.0@sha256:cccccccccccccccccccc"
	if s := Compare(blue, green).Summary(3); s != "1 change: web image sha256:aaaaaaaaaaaa → sha256:cccccccccccc" {
		t.Errorf("the same tag, another digest: %q", s)
	}
	// The definitions name the same tag; ECS resolved another build.
	blue, green = blueDef(), blueDef()
	blue.Containers[0].Image, green.Containers[0].Image = "orders:latest", "orders:latest"
	blue.Containers[0].Resolved, green.Containers[0].Resolved = "orders:latest@sha256:1111111111111111", "orders:latest@sha256:2222222222222222"
	if s := Compare(blue, green).Summary(3); s != "1 change: web image sha256:111111111111 → sha256:222222222222" {
		t.Errorf("a new build under the same tag: %q", s)
	}
	if d := Compare(blueDef(), blueDef()); len(d.Changes) != 0 || d.Summary(3) != "no change" || d.OnlyImage() {
		t.Errorf("no change: %+v, %q", d, d.Summary(3))
	}
}

// TestCompareIsCapped: a diff keeps MaxChanges changes and counts the rest;
// values are clipped.
func TestCompareIsCapped(t *testing.T) {
	blue, green := blueDef(), blueDef()
	green.Containers[0].Environment = map[string]string{}
	for i := range 100 {
		green.Containers[0].Environment["VAR_"+strings.Repeat("X", i%3)+string(rune('A'+i%26))+string(rune('A'+i/26))] = strings.Repeat("v", 500)
	}
	d := Compare(blue, green)
	if len(d.Changes) != MaxChanges || d.Cut == 0 {
		t.Fatalf("%d changes kept, %d cut", len(d.Changes), d.Cut)
	}
	for _, c := range d.Changes {
		if len([]rune(c.To)) > MaxValue {
			t.Errorf("a value of %d characters", len([]rune(c.To)))
		}
	}
	if !strings.Contains(d.Summary(2), "more") {
		t.Errorf("summary %q does not say there is more", d.Summary(2))
	}
}

// TestSourceLinks: GitHub and GitLab get a compare link; a source that is
// not https, or a revision that could change the URL, gets none.
func TestSourceLinks(t *testing.T) {
	for _, tt := range []struct{ repo, from, to, want string }{
		{"https://gitlab.com/acme/orders.git", "abc", "def", "https://gitlab.com/acme/orders/-/compare/abc...def"},
		{"https://github.com/acme/orders", "", "def", "https://github.com/acme/orders/commit/def"},
		{"https://git.example.com/orders", "abc", "def", "https://git.example.com/orders"},
		{"https://github.com/acme/orders", "abc", "x/../../evil", "https://github.com/acme/orders"},
		{"https://github.com/acme/orders?private_token=t", "abc", "def", ""},
		{"javascript:alert(1)", "abc", "def", ""},
		{"http://github.com/acme/orders", "abc", "def", ""},
	} {
		b, g := blueDef().Containers[0], blueDef().Containers[0]
		b.Labels = map[string]string{LabelSource: tt.repo, LabelRevision: tt.from}
		g.Labels = map[string]string{LabelSource: tt.repo, LabelRevision: tt.to}
		s, ok := source(b, g)
		if got := s.Link; got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s %s..%s: link %q (%v), want %q", tt.repo, tt.from, tt.to, got, ok, tt.want)
		}
	}
}
