package plan

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// decoder walks the YAML nodes of one plan file. It keeps going after a
// problem, so that one run reports every problem with its position.
type decoder struct {
	// file is the document being read (the plan, or an included file
	// while it is read); main is the plan's file.
	file, main string
	// via is the include chain of file, for FieldError.Via.
	via string
	// reuse holds the state of includes, templates and matrices.
	reuse
	catalog Catalog
	errs    Errors
	// bad marks nodes already reported (a custom tag, an undefined var), so
	// that reading them later does not add a second error for one mistake.
	bad map[*yaml.Node]bool
	// fromVars marks the scalars that ${vars.…} references were
	// substituted into.
	fromVars map[*yaml.Node]bool
	// incomplete marks mappings with a merge key (reported): fields they
	// lack may be in the merged mapping, so none is reported missing.
	incomplete map[*yaml.Node]bool
	// vars are the resolved vars; brokenVars are declared but invalid, so a
	// reference to one is not also reported as undefined.
	vars       map[string]string
	brokenVars map[string]bool
	declared   []string // var names in the order the plan declares them
	// varsKnown is false when spec.vars itself is unreadable: references
	// then cannot be checked.
	varsKnown bool
	// allowedHosts and limits are spec's, read before the phases; guards
	// collects the values of the task being read that have a Safety rule.
	allowedHosts []string
	limits       Limits
	guards       []guarded
	// size is the plan's size so far with its vars substituted, in bytes,
	// and maxSize its bound (see maxExpandedSize); tooLarge is set once
	// it was passed (and reported).
	size, maxSize int
	tooLarge      bool
	// phasesNode is spec.phases's key, where problems of the whole plan's
	// size are reported.
	phasesNode *yaml.Node
}

// errorf records a problem at n's position; n may be nil for problems
// that have no place in the file.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := FieldError{File: d.file, Via: d.via, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
		e.File, e.Via = d.main, ""
		if o, ok := d.origins[n]; ok {
			e.File, e.Via = o.file, o.via
		}
	}
	d.errs = append(d.errs, e)
}

// sorted returns the problems in file order, those without a position
// first, each reported once.
func (d *decoder) sorted() Errors {
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		if ra, rb := d.fileRank(a.File), d.fileRank(b.File); ra != rb {
			return ra < rb
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	out := make(Errors, 0, len(d.errs))
	seen := make(map[FieldError]bool, len(d.errs))
	for _, e := range d.errs {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// join appends a field name to a path. Paths below spec leave out the
// "spec." prefix, so the spec object's own path is "spec" and its fields'
// paths start afresh.
func join(path, key string) string {
	if path == "" || path == "spec" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// present reports whether a field has a value: a field written as null
// ("timeout:" or "timeout: ~") is the same as a field left out.
func present(n *yaml.Node) bool { return !isNull(n) }

// describe names what a node holds, for "got …" in messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.DocumentNode:
		return "a document"
	case isNull(n):
		return "null"
	}
	return short(n.Value)
}

// short quotes a value for a message, cut to a length a message can hold.
func short(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:max-1]) + "…")
}

// field is one entry of a mapping.
type field struct {
	key   *yaml.Node
	value *yaml.Node // aliases resolved
}

// entries reads a mapping node. It reports a node that is not a mapping
// (false), keys that are not scalars and duplicate keys, and returns the
// other entries in file order. Null stands for an empty mapping.
func (d *decoder) entries(n *yaml.Node, path, want string) ([]field, bool) {
	n = deref(n)
	if n == nil || isNull(n) {
		return nil, true
	}
	if d.bad[n] {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be %s, got %s", want, describe(n))
		return nil, false
	}
	out := make([]field, 0, len(n.Content)/2)
	first := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := deref(n.Content[i]), deref(n.Content[i+1])
		if key == nil || value == nil {
			continue
		}
		if key.Kind != yaml.ScalarNode {
			d.errorf(key, path, "a key must be a string, got %s", describe(key))
			continue
		}
		if key.ShortTag() == "!!merge" || d.bad[key] {
			continue // reported by checkNodes or substitute
		}
		if prev, ok := first[key.Value]; ok {
			d.errorf(key, path, "duplicate key %q (first at line %d)", key.Value, prev.Line)
			continue
		}
		first[key.Value] = key
		out = append(out, field{key: key, value: value})
	}
	return out, true
}

// object reads a mapping whose keys are the fields documented for the
// object at schemaPath (see reference.go). Unknown fields are reported with
// the fields allowed; the result maps field names to their values.
func (d *decoder) object(n *yaml.Node, path, schemaPath string) (map[string]field, bool) {
	allowed := documentedFields(schemaPath)
	entries, ok := d.entries(n, path, "a mapping of "+strings.Join(allowed, ", "))
	if !ok {
		return nil, false
	}
	out := make(map[string]field, len(entries))
	for _, e := range entries {
		if !contains(allowed, e.key.Value) {
			d.errorf(e.key, path, "unknown field %q (want %s)", e.key.Value, strings.Join(allowed, ", "))
			continue
		}
		out[e.key.Value] = e
	}
	return out, true
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// scalar returns the text of a scalar node. Callers check present first.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	n = deref(n)
	if n == nil || d.bad[n] {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, path, "must be %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

// str reads a string. Any scalar is taken as its text, so "version: 1.10"
// stays "1.10".
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	return d.scalar(n, path, "a string")
}

// integer reads a whole number. Like every typed scalar it is read from
// its text, which lets a quoted value or a substituted var ("${vars.code}")
// be a number.
func (d *decoder) integer(n *yaml.Node, path string) (int64, bool) {
	text, ok := d.scalar(n, path, "an int")
	if !ok {
		return 0, false
	}
	v, err := parseInt(text)
	if err != nil {
		d.errorf(deref(n), path, "must be an int, got %s", short(text))
		return 0, false
	}
	return v, true
}

// maxExactInt is the largest integer a float64 (and so JSON) holds exactly.
const maxExactInt = 1 << 53

func parseInt(text string) (int64, error) {
	s := strings.ReplaceAll(strings.TrimSpace(text), "_", "")
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > maxExactInt {
			return 0, fmt.Errorf("not an int: %q", text)
		}
		v = int64(f)
	}
	if v > maxExactInt || v < -maxExactInt {
		return 0, fmt.Errorf("int out of range: %q", text)
	}
	return v, nil
}

// number reads a finite number.
func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	text, ok := d.scalar(n, path, "a number")
	if !ok {
		return 0, false
	}
	v, err := parseNumber(text)
	if err != nil {
		d.errorf(deref(n), path, "must be a number, got %s", short(text))
		return 0, false
	}
	return v, true
}

func parseNumber(text string) (float64, error) {
	s := strings.ReplaceAll(strings.TrimSpace(text), "_", "")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a number: %q", text)
	}
	return v, nil
}

// boolean reads true or false (YAML 1.2 spellings only: "yes" is a string).
func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	text, ok := d.scalar(n, path, "true or false")
	if !ok {
		return false, false
	}
	switch strings.TrimSpace(text) {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	d.errorf(deref(n), path, "must be true or false, got %s", short(text))
	return false, false
}

// duration reads a Go duration ("90s", "1h30m") that is not negative and
// returns it with its text.
func (d *decoder) duration(n *yaml.Node, path string) (time.Duration, string, bool) {
	text, ok := d.scalar(n, path, "a duration")
	if !ok {
		return 0, "", false
	}
	text = strings.TrimSpace(text)
	v, err := time.ParseDuration(text)
	if err != nil {
		d.errorf(deref(n), path, "must be a duration with a unit (%s) such as 30s or 5m, got %s", durationUnitList, short(text))
		return 0, "", false
	}
	if v < 0 {
		d.errorf(deref(n), path, "must not be negative, got %s", short(text))
		return 0, "", false
	}
	return v, text, true
}

// positiveDuration reads a duration that must be more than zero.
func (d *decoder) positiveDuration(n *yaml.Node, path string) (time.Duration, bool) {
	v, text, ok := d.duration(n, path)
	if ok && v == 0 {
		d.errorf(deref(n), path, "must be more than zero, got %s", short(text))
		return 0, false
	}
	return v, ok
}

// maxTimeout bounds every timeout a plan may give (a task's, an
// approval's): work that takes longer than a quarter belongs in a
// schedule, and an absurd timeout (1,000,000h) is a typo, not a plan.
const maxTimeout = 92 * 24 * time.Hour

// timeout reads a timeout: more than zero and at most maxTimeout.
func (d *decoder) timeout(n *yaml.Node, path string) (time.Duration, bool) {
	v, ok := d.positiveDuration(n, path)
	if ok && v > maxTimeout {
		d.errorf(deref(n), path, "must be at most %s (92 days), got %s: longer work belongs in a schedule", maxTimeout, v)
		return 0, false
	}
	return v, ok
}

// checkNodes reports what the plan language does not support anywhere in
// the document: custom tags and merge keys. It does not follow aliases, so
// it visits every node once.
func (d *decoder) checkNodes(n *yaml.Node, path string) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") && n.Tag != "!" {
			d.bad[n] = true
			if strings.HasPrefix(n.Tag, "!=") {
				d.errorf(n, path, "YAML reads %q as a tag: quote a threshold that starts with \"!\", as in \"!= 0\"", n.Tag)
			} else {
				d.errorf(n, path, "YAML tag %q is not supported", n.Tag)
			}
		}
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				d.incomplete[n] = true
				d.errorf(k, path, "merge keys (<<) are not supported: write the fields out")
			}
			d.checkNodes(n.Content[i], path)
			d.checkNodes(n.Content[i+1], join(path, n.Content[i].Value))
		}
		return
	}
	for i, c := range n.Content {
		if n.Kind == yaml.SequenceNode {
			d.checkNodes(c, index(path, i))
		} else {
			d.checkNodes(c, path)
		}
	}
}

// maxExpandedNodes bounds the size of a document with its aliases
// expanded, so that a few lines of nested aliases (a "billion laughs")
// cannot make validation run for hours.
const maxExpandedNodes = 1_000_000

// checkAliases reports aliases that refer to a node containing them, and
// documents whose aliases expand beyond maxExpandedNodes. It returns false
// when the document should not be decoded further.
func (d *decoder) checkAliases(root *yaml.Node) bool {
	const walking = -1
	sizes := map[*yaml.Node]int{}
	ok := true
	var size func(n *yaml.Node) int
	size = func(n *yaml.Node) int {
		if n == nil {
			return 0
		}
		if s, seen := sizes[n]; seen {
			return s
		}
		sizes[n] = walking
		children := n.Content
		if n.Kind == yaml.AliasNode {
			children = []*yaml.Node{n.Alias}
		}
		total := 1
		for _, c := range children {
			s := size(c)
			if s == walking {
				d.errorf(n, "", "alias *%s refers to a node that contains it", n.Value)
				ok = false
				continue
			}
			total = min(total+s, maxExpandedNodes+1)
		}
		sizes[n] = total
		return total
	}
	if size(root) > maxExpandedNodes && ok {
		// At the alias that repeats the most: the one to write out.
		d.errorf(largestAlias(sizes), "", "aliases expand the plan to more than %d nodes", maxExpandedNodes)
		ok = false
	}
	return ok
}
