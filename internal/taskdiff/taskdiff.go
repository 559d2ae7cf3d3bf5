// Package taskdiff compares two ECS task definitions (blue's and green's)
// for the people who approve a deployment: per container, only what
// differs, with the value of any variable whose name looks secret never
// shown, and secrets by reference only (never resolved).
package taskdiff

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
)

// Change is one difference.
type Change struct {
	// Container is the container's name; "" for the task itself.
	Container string `json:"container,omitempty"`
	// What changed: image, env NAME, secret NAME, cpu, memory, ports,
	// command, entryPoint, healthCheck, taskRole, executionRole, launch
	// types, network mode, container (added or removed).
	What string `json:"what"`
	// From and To are the values, "" when absent.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Hidden: the value of a variable whose name looks secret changed;
	// neither value is kept.
	Hidden bool `json:"hidden,omitempty"`
}

// Source is where a container's image was built from (its OCI labels).
type Source struct {
	Container string `json:"container"`
	Repo      string `json:"repo"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	// Link shows the change: a compare link from blue's revision to
	// green's on GitHub or GitLab, else the revision, else the repository.
	Link string `json:"link,omitempty"`
}

// Diff is what changes from blue to green.
type Diff struct {
	Changes []Change `json:"changes,omitempty"`
	// Cut counts the changes left out: a diff keeps at most MaxChanges.
	Cut     int      `json:"cut,omitempty"`
	Sources []Source `json:"sources,omitempty"`
}

// MaxChanges bounds a diff, and MaxValue each value (in characters): the
// diff is stored with the request.
const (
	MaxChanges = 60
	MaxValue   = 200
)

// The OCI image labels that say where an image was built from.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
)

// secretWords mark a variable whose value is never shown (any case, any
// part of the name): KEY, TOKEN, SECRET, PASSWORD and CREDENTIAL, and the
// words secrets also go by.
var secretWords = []string{"KEY", "TOKEN", "SECRET", "PASS", "PWD", "CREDENTIAL", "AUTH", "DSN", "PRIVATE", "CERT", "WEBHOOK", "SIGNING", "SESSION", "COOKIE"}

// LooksSecret reports whether a variable (or header) named name may hold a
// secret.
func LooksSecret(name string) bool {
	up := strings.ToUpper(name)
	return slices.ContainsFunc(secretWords, func(w string) bool { return strings.Contains(up, w) })
}

// mayHoldSecret reports whether a free-form value (a command, an entry
// point, a health check, a variable's value) may carry a secret: a word
// secrets go by, or a URL with credentials. Such a value is never shown.
func mayHoldSecret(v string) bool {
	if LooksSecret(v) {
		return true
	}
	scheme, rest, ok := strings.Cut(v, "://")
	return ok && scheme != "" && strings.Contains(strings.SplitN(rest, "/", 2)[0], "@")
}

// Add adds a change the task definitions do not hold (the revisions'
// placement), within MaxChanges.
func (d *Diff) Add(c Change) {
	if len(d.Changes) == MaxChanges {
		d.Cut++
		return
	}
	c.From, c.To = clip(c.From), clip(c.To)
	d.Changes = append(d.Changes, c)
}

// Compare returns what changes from blue to green.
func Compare(blue, green ecsdeploy.TaskDefinition) Diff {
	var d Diff
	add := d.Add
	task(blue, green, add)
	old := map[string]ecsdeploy.Container{}
	for _, c := range blue.Containers {
		old[c.Name] = c
	}
	for _, g := range green.Containers {
		b, ok := old[g.Name]
		if !ok {
			// A new (or renamed) container: what it runs, in full.
			add(Change{Container: g.Name, What: "container", To: "added"})
			containers(ecsdeploy.Container{Name: g.Name}, g, add)
			continue
		}
		delete(old, g.Name)
		containers(b, g, add)
		if s, ok := source(b, g); ok {
			d.Sources = append(d.Sources, s)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(old)) {
		add(Change{Container: name, What: "container", From: "removed (" + old[name].Image + ")"})
	}

	return d
}

func task(b, g ecsdeploy.TaskDefinition, add func(Change)) {
	for _, f := range []struct{ what, from, to string }{
		{"cpu", b.CPU, g.CPU},
		{"memory", b.Memory, g.Memory},
		{"taskRole", b.TaskRole, g.TaskRole},
		{"executionRole", b.ExecutionRole, g.ExecutionRole},
		{"launch types", sortedJoin(b.Compatibilities), sortedJoin(g.Compatibilities)},
		{"network mode", b.NetworkMode, g.NetworkMode},
	} {
		if f.from != f.to {
			add(Change{What: f.what, From: f.from, To: f.to})
		}
	}
	if b.Other != g.Other {
		add(Change{What: "other settings", Hidden: true})
	}
}

func containers(b, g ecsdeploy.Container, add func(Change)) {
	n := g.Name
	num := func(v int32) string {
		if v == 0 {
			return ""
		}
		return strconv.Itoa(int(v))
	}
	for _, f := range []struct {
		what, from, to string
		free           bool
	}{
		{"image", cmp.Or(b.Resolved, b.Image), cmp.Or(g.Resolved, g.Image), false},
		{"cpu", num(b.CPU), num(g.CPU), false},
		{"memory", num(b.Memory), num(g.Memory), false},
		{"memoryReservation", num(b.MemoryReservation), num(g.MemoryReservation), false},
		{"ports", strings.Join(b.Ports, ", "), strings.Join(g.Ports, ", "), false},
		{"command", words(b.Command), words(g.Command), true},
		{"entryPoint", words(b.EntryPoint), words(g.EntryPoint), true},
		{"healthCheck", b.HealthCheck, g.HealthCheck, true},
		{"other settings", b.Other, g.Other, true},
	} {
		switch {
		case f.from == f.to:
		case f.what == "other settings":
			// Fields not compared one by one (volumes, user, privileged,
			// logging, ...): that they changed, not how.
			add(Change{Container: n, What: f.what, Hidden: true})
		case f.free && (mayHoldSecret(f.from) || mayHoldSecret(f.to)):
			add(Change{Container: n, What: f.what, Hidden: true})
		default:
			add(Change{Container: n, What: f.what, From: f.from, To: f.to})
		}
	}
	vars(n, "env ", b.Environment, g.Environment, true, add)
	// A secret is a reference (the parameter or secret it names): shown,
	// never resolved.
	vars(n, "secret ", b.Secrets, g.Secrets, false, add)
}

// vars adds the variables added, removed and changed; with hide, the value
// of one whose name looks secret is never kept.
func vars(container, prefix string, b, g map[string]string, hide bool, add func(Change)) {
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(b, g))) {
		from, inB := b[k]
		to, inG := g[k]
		if inB && inG && from == to {
			continue
		}
		c := Change{Container: container, What: prefix + k, From: from, To: to}
		if hide && (LooksSecret(k) || mayHoldSecret(from) || mayHoldSecret(to)) {
			c = Change{Container: container, What: prefix + k, Hidden: true}
			switch {
			case !inB:
				c.To = "(set)"
			case !inG:
				c.From = "(set)"
			}
		}
		add(c)
	}
}

// words joins a command's words, quoting those with spaces, so that
// ["a b"] and ["a", "b"] differ.
func words(ws []string) string {
	out := make([]string, len(ws))
	for i, w := range ws {
		if w == "" || strings.ContainsAny(w, " \t\"") {
			w = strconv.Quote(w)
		}
		out[i] = w
	}
	return strings.Join(out, " ")
}

func sortedJoin(list []string) string {
	return strings.Join(slices.Sorted(slices.Values(list)), ", ")
}

func mergeKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// source reads the OCI labels of both sides.
func source(b, g ecsdeploy.Container) (Source, bool) {
	repo := g.Labels[LabelSource]
	u, err := url.Parse(repo)
	if repo == "" || err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Source{}, false
	}
	s := Source{Container: g.Name, Repo: strings.TrimSuffix(strings.TrimSuffix(repo, "/"), ".git"), To: g.Labels[LabelRevision]}
	if b.Labels[LabelSource] == repo {
		s.From = b.Labels[LabelRevision]
	}
	if !revisionRE(s.From) {
		s.From = ""
	}
	if !revisionRE(s.To) {
		s.To = ""
	}
	sep := map[string]string{"github.com": "/", "gitlab.com": "/-/"}[u.Host]
	switch {
	case sep != "" && s.From != "" && s.To != "" && s.From != s.To:
		s.Link = s.Repo + sep + "compare/" + s.From + "..." + s.To
	case sep != "" && s.To != "":
		s.Link = s.Repo + sep + "commit/" + s.To
	default:
		s.Link = s.Repo
	}
	return s, true
}

// revisionRE reports whether v can be a revision in a link: a commit hash
// or a tag, nothing that would change the URL's meaning.
func revisionRE(v string) bool {
	if v == "" || len(v) > 100 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
			return false
		}
	}
	return true
}

// Summary says the diff in one line, for a message: "3 changes: web image
// 1.4.0 → 1.5.0, LOG_LEVEL info → debug, memory 512 → 1024"; at most max
// changes named.
func (d Diff) Summary(max int) string {
	n := len(d.Changes) + d.Cut
	if n == 0 {
		return "no change"
	}
	var parts []string
	for _, c := range d.Changes {
		if len(parts) == max {
			break
		}
		parts = append(parts, c.short())
	}
	s := fmt.Sprintf("%d changes: ", n)
	if n == 1 {
		s = "1 change: "
	}
	s += strings.Join(parts, ", ")
	if n > len(parts) {
		s += fmt.Sprintf(", and %d more", n-len(parts))
	}
	return s
}

// OnlyImage reports whether the images are all that changes.
func (d Diff) OnlyImage() bool {
	return d.Cut == 0 && len(d.Changes) > 0 && !slices.ContainsFunc(d.Changes, func(c Change) bool { return c.What != "image" })
}

// short is c in a few words.
func (c Change) short() string {
	what := strings.TrimPrefix(strings.TrimPrefix(c.What, "env "), "secret ")
	if c.Container != "" && (c.What == "image" || c.What == "container") {
		what = c.Container + " " + c.What
	}
	from, to := c.From, c.To
	if c.What == "image" {
		from, to = tagOf(from), tagOf(to)
		if from == to {
			// The same tag, another digest.
			from, to = digestOf(c.From), digestOf(c.To)
		}
	}
	switch {
	case c.Hidden && from == "" && to == "":
		return what + " changed"
	case from == "":
		return what + " " + cmp.Or(to, "set")
	case to == "":
		return what + " removed"
	}
	return what + " " + from + " → " + to
}

// tagOf is an image reference's tag (or digest), for a short line.
func tagOf(image string) string {
	if i := strings.LastIndex(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return image
}

// digestOf is an image reference's digest, cut short, or "no digest".
func digestOf(image string) string {
	_, d, ok := strings.Cut(image, "@")
	if !ok {
		return "no digest"
	}
	_, hex, _ := strings.Cut(d, ":")
	return d[:len(d)-len(hex)] + hex[:min(12, len(hex))]
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= MaxValue {
		return s
	}
	return string([]rune(s)[:MaxValue-1]) + "…"
}
