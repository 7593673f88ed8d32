package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// FragmentKind identifies a plan fragment: a document that only exists to
// be included (its spec has no required field, and it has no metadata).
const FragmentKind = "PlanFragment"

// Bounds on includes: a plan is read by people, and a chain deeper than
// this, or more files than this, is a mistake rather than a design.
const (
	maxIncludeDepth = 8
	maxIncludeFiles = 64
)

// reuse is the decoder's state for includes, templates and matrices.
type reuse struct {
	// origins locates the nodes that are not the plan file's own: those
	// of included files, and the copies templates and matrices make.
	origins map[*yaml.Node]origin
	// files are the files read, the plan first, in the order read: errors
	// are sorted by it.
	files []string
	// roots are the directories includes may read from (absolute, links
	// resolved): the plan's directory and Options.IncludeRoots.
	roots []string
	// itemIndex is the "[i]" of a list item in its own file, for items
	// that an include moved to another index.
	itemIndex map[*yaml.Node]string
	// substituted marks the nodes whose vars are resolved: an included
	// file's are resolved with its own vars, before they are merged.
	substituted map[*yaml.Node]bool
	includes    int
	templates   map[string]*template
	// matrixBase maps the name node of a matrix copy to the name it was
	// copied from ("api" for "api[eu]").
	matrixBase map[*yaml.Node]string
	// whens are the when expressions read, checked once all phases are;
	// curPhase is the index of the phase being read.
	whens      []whenRef
	curPhase   int
	conditions Conditions
}

// origin is where a node comes from: its file and the chain of includes
// and template uses that brought it in.
type origin struct{ file, via string }

func (d *decoder) initReuse(file string, opts Options) {
	d.origins = map[*yaml.Node]origin{}
	d.files = []string{file}
	d.itemIndex = map[*yaml.Node]string{}
	d.substituted = map[*yaml.Node]bool{}
	d.templates = map[string]*template{}
	d.matrixBase = map[*yaml.Node]string{}
	d.conditions = opts.Conditions
	d.roots = []string{realPath(filepath.Dir(file))}
	for _, r := range opts.IncludeRoots {
		d.roots = append(d.roots, realPath(r))
	}
}

// realPath is path made absolute, with its links resolved when it exists.
func realPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

func (d *decoder) fileRank(file string) int {
	for i, f := range d.files {
		if f == file {
			return i
		}
	}
	return len(d.files)
}

// at is the path of item i of the list at path: its index in its own file.
func (d *decoder) at(path string, item *yaml.Node, i int) string {
	if s, ok := d.itemIndex[item]; ok {
		return path + s
	}
	if s, ok := d.itemIndex[deref(item)]; ok {
		return path + s
	}
	return index(path, i)
}

// adopt records that every node below n (aliases not followed) comes from
// the current file.
func (d *decoder) adopt(n *yaml.Node) {
	if n == nil {
		return
	}
	if _, ok := d.origins[n]; ok {
		return
	}
	d.origins[n] = origin{file: d.file, via: d.via}
	for _, c := range n.Content {
		d.adopt(c)
	}
}

// position writes where a node is, for a Via chain.
func (d *decoder) position(n *yaml.Node) string {
	file := d.main
	if o, ok := d.origins[n]; ok {
		file = o.file
	}
	return fmt.Sprintf("%s:%d:%d", file, n.Line, n.Column)
}

// chainVia is the Via of nodes brought in at n: "what n" followed by n's own chain.
func (d *decoder) chainVia(what string, n *yaml.Node) string {
	via := what + " " + d.position(n)
	if o, ok := d.origins[n]; ok && o.via != "" {
		via += ", " + o.via
	}
	return via
}

// include reads the files that spec.include (n) names and merges their
// specs into f, the fields of the including spec. chain holds the files
// that include the current one, the current one last.
func (d *decoder) include(n *yaml.Node, f map[string]field, chain []string) {
	items, ok := d.list(n, "include", "a list of files (or of {file, vars})")
	if !ok {
		return
	}
	for i, item := range items {
		path := index("include", i)
		var fileNode, varsNode *yaml.Node
		switch deref(item).Kind {
		case yaml.ScalarNode:
			fileNode = deref(item)
		default:
			ff, ok := d.object(item, path, "spec.include[]")
			if !ok {
				continue
			}
			v, ok := d.need(ff, "file", item, path)
			if !ok {
				continue
			}
			fileNode = v
			varsNode, _ = optional(ff, "vars")
		}
		rel, ok := d.str(fileNode, join(path, "file"))
		if !ok {
			continue
		}
		d.includeFile(fileNode, join(path, "file"), strings.TrimSpace(rel), varsNode, join(path, "vars"), f, chain)
	}
}

// includeFile reads one included file and merges its spec into f.
func (d *decoder) includeFile(at *yaml.Node, path, rel string, varsNode *yaml.Node, varsPath string, f map[string]field, chain []string) {
	if rel == "" {
		d.errorf(at, path, "must name a file")
		return
	}
	if filepath.IsAbs(rel) {
		d.errorf(at, path, "must be a path relative to the including file, got %s", short(rel))
		return
	}
	display := filepath.Join(filepath.Dir(d.file), rel)
	real := realPath(display)
	if !d.withinRoots(real) {
		d.errorf(at, path, "%s is outside the plan's directory tree and the include roots (SHIPSHAPE_INCLUDE_ROOTS): an include may only read below them", short(rel))
		return
	}
	for i, c := range chain {
		if c == real {
			names := make([]string, 0, len(chain)-i+1)
			for _, c := range chain[i:] {
				names = append(names, d.relName(c))
			}
			d.errorf(at, path, "include cycle: %s -> %s", strings.Join(names, " -> "), d.relName(real))
			return
		}
	}
	if len(chain) > maxIncludeDepth {
		d.errorf(at, path, "includes nest more than %d deep", maxIncludeDepth)
		return
	}
	if d.includes >= maxIncludeFiles {
		d.errorf(at, path, "a plan may include at most %d files", maxIncludeFiles)
		return
	}
	d.includes++
	data, err := os.ReadFile(real)
	if err != nil {
		d.errorf(at, path, "cannot read %s: %s", short(display), readProblem(err))
		return
	}
	passed, passedAt := d.passedVars(varsNode, varsPath)

	// Read the file as the current document.
	savedFile, savedVia := d.file, d.via
	savedScope := d.saveScope()
	d.via = d.chainVia("included from", at)
	d.file = display
	if d.fileRank(display) == len(d.files) {
		d.files = append(d.files, display)
	}
	d.size += len(data)
	d.maxSize = max(d.maxSize, maxExpandedSize(d.size))
	defer func() {
		d.file, d.via = savedFile, savedVia
		d.restoreScope(savedScope)
	}()

	root := d.document(data)
	if root == nil {
		return
	}
	d.adopt(root)
	if !d.checkAliases(root) {
		return
	}
	d.checkNodes(root, "")
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "", "an included file must be a mapping with apiVersion, kind and spec, got %s", describe(root))
		return
	}
	top, _ := d.object(root, "", "")
	if v, ok := d.need(top, "apiVersion", root, ""); ok {
		if s, ok := d.str(v, "apiVersion"); ok && s != APIVersion {
			d.errorf(v, "apiVersion", "must be %s, got %s", APIVersion, short(s))
		}
	}
	if v, ok := d.need(top, "kind", root, ""); ok {
		if s, ok := d.str(v, "kind"); ok && s != Kind && s != FragmentKind {
			d.errorf(v, "kind", "must be %s or %s, got %s", Kind, FragmentKind, short(s))
		}
	}
	specNode, ok := d.need(top, "spec", root, "")
	if !ok {
		return
	}
	ff, ok := d.object(specNode, "spec", "spec")
	if !ok {
		return
	}
	fragVars, _ := optional(ff, "vars")
	d.declareVars(fragVars, nil)
	d.passVars(fragVars, passed, passedAt, at, varsPath)
	for _, key := range []string{"templates", "phases", "onFailure"} {
		if v, ok := optional(ff, key); ok {
			d.substitute(v, key)
		}
	}
	if v, ok := optional(ff, "include"); ok {
		d.include(v, ff, append(chain, real))
	}
	d.merge(f, ff)
}

// readProblem says why a file could not be read, without the path the
// message already names.
func readProblem(err error) string {
	switch {
	case os.IsNotExist(err):
		return "no such file"
	case os.IsPermission(err):
		return "permission denied"
	}
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// relName is a file of the include chain as messages name it: relative to
// the plan's directory when it is below it.
func (d *decoder) relName(real string) string {
	if rel, err := filepath.Rel(d.roots[0], real); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return real
}

func (d *decoder) withinRoots(real string) bool {
	for _, root := range d.roots {
		rel, err := filepath.Rel(root, real)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

// passedVars reads the vars an include passes, resolved in the including
// file's scope.
func (d *decoder) passedVars(n *yaml.Node, path string) (map[string]string, map[string]*yaml.Node) {
	if n == nil {
		return nil, nil
	}
	d.substitute(n, path)
	entries, ok := d.entries(n, path, "a mapping of var names to values")
	if !ok {
		return nil, nil
	}
	values := map[string]string{}
	at := map[string]*yaml.Node{}
	for _, e := range entries {
		text := ""
		if present(e.value) {
			s, ok := d.scalar(e.value, join(path, e.key.Value), "a string, number or boolean")
			if !ok {
				continue
			}
			text = s
		}
		values[e.key.Value] = text
		at[e.key.Value] = e.key
	}
	return values, at
}

// passVars sets the vars an include passes in the included file's scope,
// and reports those it does not declare and those it declares without a
// value that the include leaves out.
func (d *decoder) passVars(fragVars *yaml.Node, passed map[string]string, passedAt map[string]*yaml.Node, include *yaml.Node, path string) {
	for _, name := range sortedKeys(passed) {
		if !contains(d.declared, name) {
			d.errorf(passedAt[name], join(path, name), "the included file declares no var %q (declared: %s)", name, formatList(d.declared))
			continue
		}
		d.vars[name] = passed[name]
		delete(d.brokenVars, name)
	}
	entries, _ := d.entries(fragVars, "vars", "a mapping of var names to values")
	for _, e := range entries {
		if _, ok := passed[e.key.Value]; !ok && !present(e.value) {
			// Reported at the include: that is where it is missing.
			d.errorf(include, path, "the included file needs var %q (it declares it without a value): pass it in vars", e.key.Value)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// scope is the var scope of one file.
type scope struct {
	vars       map[string]string
	brokenVars map[string]bool
	declared   []string
	varsKnown  bool
}

func (d *decoder) saveScope() scope {
	return scope{vars: d.vars, brokenVars: d.brokenVars, declared: d.declared, varsKnown: d.varsKnown}
}

func (d *decoder) restoreScope(s scope) {
	d.vars, d.brokenVars, d.declared, d.varsKnown = s.vars, s.brokenVars, s.declared, s.varsKnown
}

// merge adds an included spec (from) to the including one (into): the
// lists (phases, templates, allowedHosts) are joined, the included items
// first; the other fields (scoring, concurrency, limits, schedule) are
// taken from the included file only when the including one leaves them
// out. vars and include stay with their file.
func (d *decoder) merge(into, from map[string]field) {
	for _, key := range []string{"phases", "templates", "allowedHosts"} {
		src, ok := from[key]
		if !ok || !present(src.value) {
			continue
		}
		dst, ok := into[key]
		if !ok || !present(dst.value) {
			into[key] = src
			d.indexItems(src.value)
			continue
		}
		a, b := deref(src.value), deref(dst.value)
		if a.Kind != yaml.SequenceNode || b.Kind != yaml.SequenceNode {
			continue // the decoder reports what is not a list
		}
		d.indexItems(a)
		d.indexItems(b)
		joined := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: b.Line, Column: b.Column}
		joined.Content = append(append([]*yaml.Node{}, a.Content...), b.Content...)
		if o, ok := d.origins[b]; ok {
			d.origins[joined] = o
		}
		into[key] = field{key: dst.key, value: joined}
	}
	for _, key := range []string{"scoring", "concurrency", "limits", "schedule", "onFailure"} {
		if src, ok := from[key]; ok && present(src.value) {
			if dst, ok := into[key]; !ok || !present(dst.value) {
				into[key] = src
			}
		}
	}
}

// indexItems records the index of each item of a list in its own file.
func (d *decoder) indexItems(n *yaml.Node) {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return
	}
	for i, c := range n.Content {
		if _, ok := d.itemIndex[deref(c)]; !ok {
			d.itemIndex[deref(c)] = fmt.Sprintf("[%d]", i)
		}
	}
}
