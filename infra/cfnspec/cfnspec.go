// Package cfnspec checks CloudFormation templates against the CloudFormation
// resource specification that aws-cdk-lib is generated from, offline: the
// database in the npm package @aws-cdk/aws-service-spec (db.json.gz), with
// every resource type, its properties, their types, which are required and
// which values are allowed. A property CloudFormation would reject at deploy
// time (unknown, of the wrong type, missing though required, or a value not
// allowed) is found at synthesis instead.
//
// Values built with intrinsic functions (Ref, Fn::GetAtt, Fn::Join, ...) are
// known only at deploy time and pass unchecked.
package cfnspec

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// DBPath is where `npm install` (scripts/cdk.sh install) puts the database,
// relative to the repository root; package.json pins its version.
var DBPath = filepath.Join("node_modules", "@aws-cdk", "aws-service-spec", "db.json.gz")

// Spec is the resource specification.
type Spec struct {
	resources map[string]*shape // by CloudFormation type
	types     map[string]*shape // property types, by $id
}

// shape is a resource or a property type: its properties by name.
type shape struct {
	name  string
	props map[string]property
}

type property struct {
	Type          typ   `json:"type"`
	Required      bool  `json:"required"`
	PreviousTypes []typ `json:"previousTypes"`
}

// typ is one of the database's types: string, integer, number, boolean,
// date-time, json, tag, ref (a property type), array and map (of element),
// union (of types).
type typ struct {
	Type          string `json:"type"`
	AllowedValues []any  `json:"allowedValues"`
	Element       *typ   `json:"element"`
	Types         []typ  `json:"types"`
	Reference     *struct {
		Ref string `json:"$ref"`
	} `json:"reference"`
}

// Find loads the database from DBPath below the first of dir and its
// parents that holds package.json (the repository root), and says how to
// install it when it is missing.
func Find(dir string) (*Spec, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "package.json")); err == nil {
			s, err := Load(filepath.Join(d, DBPath))
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s is missing: run scripts/cdk.sh install (make tools), which installs the @aws-cdk/aws-service-spec version package.json pins", filepath.Join(d, DBPath))
			}
			return s, err
		}
		if filepath.Dir(d) == d {
			return nil, fmt.Errorf("cloudformation spec: no package.json above %s", dir)
		}
	}
}

// Load reads the database at path (db.json.gz).
func Load(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cloudformation spec: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("cloudformation spec %s: %w", path, err)
	}
	var db struct {
		Schema struct {
			Resource struct {
				Entities []struct {
					ID         string              `json:"$id"`
					Type       string              `json:"cloudFormationType"`
					Properties map[string]property `json:"properties"`
				} `json:"entities"`
			} `json:"resource"`
			TypeDefinition struct {
				Entities []struct {
					ID         string              `json:"$id"`
					Name       string              `json:"name"`
					Properties map[string]property `json:"properties"`
				} `json:"entities"`
			} `json:"typeDefinition"`
		} `json:"schema"`
	}
	if err := json.NewDecoder(zr).Decode(&db); err != nil {
		return nil, fmt.Errorf("cloudformation spec %s: %w", path, err)
	}
	s := &Spec{resources: map[string]*shape{}, types: map[string]*shape{}}
	for _, r := range db.Schema.Resource.Entities {
		s.resources[r.Type] = &shape{name: r.Type, props: r.Properties}
	}
	for _, t := range db.Schema.TypeDefinition.Entities {
		s.types[t.ID] = &shape{name: t.Name, props: t.Properties}
	}
	if len(s.resources) == 0 {
		return nil, fmt.Errorf("cloudformation spec %s: no resource types", path)
	}
	return s, nil
}

// Has reports whether the spec knows the resource type.
func (s *Spec) Has(resourceType string) bool { return s.resources[resourceType] != nil }

// resourceKeys are the keys a resource may have besides Type and Properties.
var resourceKeys = []string{"Condition", "CreationPolicy", "DeletionPolicy", "DependsOn", "Metadata", "Properties", "Type", "UpdatePolicy", "UpdateReplacePolicy"}

// Check returns what CloudFormation would reject in a template (JSON), one
// problem a line, each naming the path to the value at fault; none for a
// template the spec accepts.
func (s *Spec) Check(template []byte) []string {
	var t struct {
		Resources map[string]map[string]any `json:"Resources"`
	}
	if err := json.Unmarshal(template, &t); err != nil {
		return []string{"template: " + err.Error()}
	}
	c := &checker{spec: s}
	for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
		c.resource("Resources."+id, t.Resources[id])
	}
	return c.problems
}

type checker struct {
	spec     *Spec
	problems []string
}

func (c *checker) fail(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

func (c *checker) resource(path string, r map[string]any) {
	for k := range r {
		if !slices.Contains(resourceKeys, k) {
			c.fail(path+"."+k, "not a resource attribute CloudFormation knows")
		}
	}
	typeName, _ := r["Type"].(string)
	switch {
	case typeName == "":
		c.fail(path+".Type", "missing")
		return
	case strings.HasPrefix(typeName, "Custom::"), typeName == "AWS::CDK::Metadata":
		// A custom resource takes any properties; the CDK's metadata
		// resource is the CDK's own.
		return
	}
	sh := c.spec.resources[typeName]
	if sh == nil {
		c.fail(path+".Type", "%s is not a CloudFormation resource type", typeName)
		return
	}
	props, ok := r["Properties"]
	if !ok {
		props = map[string]any{}
	}
	c.object(path+".Properties", sh, props)
}

// object checks v against a resource's or property type's properties.
func (c *checker) object(path string, sh *shape, v any) {
	if intrinsic(v) {
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		c.fail(path, "want an object (%s), got %s", sh.name, kind(v))
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p, ok := sh.props[k]
		if !ok {
			c.fail(path+"."+k, "%s has no property %s (it has %s)", sh.name, k, strings.Join(slices.Sorted(maps.Keys(sh.props)), ", "))
			continue
		}
		c.property(path+"."+k, p, m[k])
	}
	for _, k := range slices.Sorted(maps.Keys(sh.props)) {
		if _, ok := m[k]; !ok && sh.props[k].Required {
			c.fail(path+"."+k, "required by %s, missing", sh.name)
		}
	}
}

func (c *checker) property(path string, p property, v any) {
	if len(p.PreviousTypes) == 0 {
		c.value(path, p.Type, v)
		return
	}
	// CloudFormation still takes a property's earlier types.
	c.value(path, typ{Type: "union", Types: append([]typ{p.Type}, p.PreviousTypes...)}, v)
}

// value checks v against t, recording what is wrong.
func (c *checker) value(path string, t typ, v any) {
	if intrinsic(v) {
		return
	}
	switch t.Type {
	case "string", "date-time", "integer", "number", "boolean":
		c.scalar(path, t, v)
	case "json":
		// Any JSON, or a string holding it.
	case "tag":
		c.object(path, tagShape, v)
	case "ref":
		sh := c.spec.types[t.Reference.Ref]
		if sh == nil {
			c.fail(path, "the spec names an unknown type %s", t.Reference.Ref)
			return
		}
		c.object(path, sh, v)
	case "array":
		a, ok := v.([]any)
		if !ok {
			c.fail(path, "want a list, got %s", kind(v))
			return
		}
		for i, e := range a {
			c.value(fmt.Sprintf("%s[%d]", path, i), *t.Element, e)
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			c.fail(path, "want a map, got %s", kind(v))
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			c.value(path+"."+k, *t.Element, m[k])
		}
	case "union":
		var first []string
		for _, alt := range t.Types {
			sub := &checker{spec: c.spec}
			sub.value(path, alt, v)
			if len(sub.problems) == 0 {
				return
			}
			if first == nil {
				first = sub.problems
			}
		}
		c.problems = append(c.problems, first...)
	default:
		c.fail(path, "the spec has a type %q this checker does not know", t.Type)
	}
}

// scalar checks v against a string, number or boolean type t.
func (c *checker) scalar(path string, t typ, v any) {
	switch t.Type {
	case "string", "date-time":
		switch x := v.(type) {
		case string:
			c.allowed(path, t, x)
		case float64, bool:
			// CloudFormation turns a scalar into its string.
			c.allowed(path, t, fmt.Sprint(x))
		default:
			c.fail(path, "want a string, got %s", kind(v))
		}
	case "integer", "number":
		n, ok := number(v)
		switch {
		case !ok:
			c.fail(path, "want a%s, got %s", map[string]string{"integer": "n integer", "number": " number"}[t.Type], kind(v))
		case t.Type == "integer" && n != math.Trunc(n):
			c.fail(path, "want an integer, got %v", n)
		default:
			c.allowed(path, t, strconv.FormatFloat(n, 'f', -1, 64))
		}
	case "boolean":
		switch x := v.(type) {
		case bool:
		case string:
			if x != "true" && x != "false" {
				c.fail(path, "want true or false, got %q", x)
			}
		default:
			c.fail(path, "want a boolean, got %s", kind(v))
		}
	}
}

func (c *checker) allowed(path string, t typ, s string) {
	if len(t.AllowedValues) == 0 {
		return
	}
	names := make([]string, len(t.AllowedValues))
	for i, a := range t.AllowedValues {
		names[i] = fmt.Sprint(a)
		if names[i] == s {
			return
		}
	}
	c.fail(path, "%q is not one of %s", s, strings.Join(names, ", "))
}

var tagShape = &shape{name: "Tag", props: map[string]property{
	"Key":   {Type: typ{Type: "string"}, Required: true},
	"Value": {Type: typ{Type: "string"}, Required: true},
}}

// intrinsic reports whether v is an intrinsic function call ({"Ref": ...},
// {"Fn::GetAtt": ...}): resolved at deploy time, so not checked here.
func intrinsic(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		n, err := strconv.ParseFloat(x, 64)
		return n, err == nil
	}
	return 0, false
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
