package plan

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// TemplatePrefix starts a uses: that names a template instead of a task
// type: uses: template:NAME.
const TemplatePrefix = "template:"

// Bounds on matrices: each copy is a task or a phase of the run.
const maxMatrixValues = 256

// template is one entry of spec.templates: a task or a phase with
// parameters, instantiated where uses: template:NAME names it.
type template struct {
	name string
	kind string // "task" or "phase"
	// params in declaration order; defaults holds each one's default,
	// nil when the parameter is required.
	params   []string
	defaults map[string]*yaml.Node
	body     *yaml.Node
}

// readTemplates reads spec.templates.
func (d *decoder) readTemplates(n *yaml.Node) {
	items, ok := d.list(n, "templates", "a list of templates")
	if !ok {
		return
	}
	first := map[string]*yaml.Node{}
	for i, item := range items {
		path := d.at("templates", item, i)
		f, ok := d.object(item, path, "spec.templates[]")
		if !ok {
			continue
		}
		name, nameNode := d.name(f, item, path)
		if nameNode == nil {
			continue
		}
		if prev, dup := first[name]; dup {
			d.errorf(nameNode, join(path, "name"), "duplicate template name %q (first at %s)", name, d.position(prev))
			continue
		}
		first[name] = nameNode
		t := &template{name: name, defaults: map[string]*yaml.Node{}}
		taskBody, isTask := optional(f, "task")
		phaseBody, isPhase := optional(f, "phase")
		switch {
		case isTask && isPhase:
			d.errorf(f["phase"].key, path, "a template is a task or a phase, not both")
			continue
		case isTask:
			t.kind, t.body = "task", taskBody
		case isPhase:
			t.kind, t.body = "phase", phaseBody
		default:
			d.errorf(item, path, "a template needs task (a task without its name) or phase (a phase without its name)")
			continue
		}
		if deref(t.body).Kind != yaml.MappingNode {
			d.errorf(t.body, join(path, t.kind), "must be a mapping, got %s", describe(t.body))
			continue
		}
		if v, ok := optional(f, "params"); ok {
			entries, _ := d.entries(v, join(path, "params"), "a mapping of parameter names to defaults (null: required)")
			for _, e := range entries {
				if !varNameRE.MatchString(e.key.Value) {
					d.errorf(e.key, join(join(path, "params"), e.key.Value), "invalid parameter name %q: %s", e.key.Value, varNameRule)
					continue
				}
				t.params = append(t.params, e.key.Value)
				if present(e.value) {
					t.defaults[e.key.Value] = e.value
				} else {
					t.defaults[e.key.Value] = nil
				}
			}
		}
		d.templates[name] = t
	}
}

func (d *decoder) templateNames() []string { return sortedKeys(d.templates) }

// instantiate returns the task or phase that item (a use of a template)
// stands for, or item when it uses none.
func (d *decoder) instantiate(item *yaml.Node, path, kind string) *yaml.Node {
	m := deref(item)
	if m == nil || m.Kind != yaml.MappingNode {
		return item
	}
	var usesNode, withNode *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch m.Content[i].Value {
		case "uses":
			usesNode = deref(m.Content[i+1])
		case "with":
			withNode = deref(m.Content[i+1])
		}
	}
	if usesNode == nil || usesNode.Kind != yaml.ScalarNode {
		return item
	}
	name, isTemplate := strings.CutPrefix(strings.TrimSpace(usesNode.Value), TemplatePrefix)
	if !isTemplate {
		if kind == "phase" {
			d.errorf(usesNode, join(path, "uses"), "a phase's uses names a phase template, as in uses: %sNAME", TemplatePrefix)
			d.bad[usesNode] = true
			d.incomplete[m] = true
		}
		return item
	}
	name = strings.TrimSpace(name)
	t, ok := d.templates[name]
	if !ok || t.kind != kind {
		switch {
		case !ok:
			d.errorf(usesNode, join(path, "uses"), "unknown template %q (want %s)", name, formatList(d.templatesOf(kind)))
		default:
			d.errorf(usesNode, join(path, "uses"), "template %q is a %s template; a %s cannot use it", name, t.kind, kind)
		}
		d.bad[usesNode] = true
		d.incomplete[m] = true
		return item
	}
	values := map[string]*yaml.Node{}
	withPath := join(path, "with")
	entries, _ := d.entries(withNode, withPath, "a mapping of the template's parameters")
	for _, e := range entries {
		if _, declared := t.defaults[e.key.Value]; !declared {
			d.errorf(e.key, join(withPath, e.key.Value), "template %q has no parameter %q (parameters: %s)", name, e.key.Value, formatList(t.params))
			continue
		}
		values[e.key.Value] = e.value
	}
	for _, p := range t.params {
		if _, given := values[p]; given {
			continue
		}
		if def := t.defaults[p]; def != nil {
			values[p] = def
			continue
		}
		d.errorf(usesNode, withPath, "template %q needs parameter %q", name, p)
		values[p] = nil // reported: references to it are not
	}
	inst := d.clone(t.body, d.chainVia("in template "+name+" used at", usesNode), map[*yaml.Node]*yaml.Node{})
	inst = deref(inst)
	if kind == "task" {
		for i := 0; i+1 < len(inst.Content); i += 2 {
			if inst.Content[i].Value == "uses" {
				if v := deref(inst.Content[i+1]); v.Kind == yaml.ScalarNode && strings.HasPrefix(strings.TrimSpace(v.Value), TemplatePrefix) {
					d.errorf(v, join(path, "uses"), "a task template cannot use another template")
					d.bad[v] = true
				}
			}
		}
	}
	d.bind(inst, "params", values, path, fmt.Sprintf("template %q", name), t.params)
	// The use's own fields (its name, gates, matrix…) replace the
	// template's.
	for i := 0; i+1 < len(m.Content); i += 2 {
		key := m.Content[i].Value
		if key == "uses" || key == "with" {
			continue
		}
		setField(inst, m.Content[i], m.Content[i+1])
	}
	return inst
}

// templatesOf names the templates of a kind.
func (d *decoder) templatesOf(kind string) []string {
	var names []string
	for _, name := range d.templateNames() {
		if d.templates[name].kind == kind {
			names = append(names, name)
		}
	}
	return names
}

// setField sets key to value in the mapping m, replacing a field of the
// same name.
func setField(m, key, value *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key.Value {
			m.Content[i], m.Content[i+1] = key, value
			return
		}
	}
	m.Content = append(m.Content, key, value)
}

// clone copies n deeply, sharing what n shares (an alias and its anchor
// stay one node, so a copy is no larger than n). The copies keep their
// positions, and via is added to their include chain.
func (d *decoder) clone(n *yaml.Node, via string, memo map[*yaml.Node]*yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if c, ok := memo[n]; ok {
		return c
	}
	c := *n
	cp := &c
	memo[n] = cp
	if len(n.Content) > 0 {
		cp.Content = make([]*yaml.Node, len(n.Content))
		for i, x := range n.Content {
			cp.Content[i] = d.clone(x, via, memo)
		}
	}
	if n.Alias != nil {
		cp.Alias = d.clone(n.Alias, via, memo)
	}
	o, ok := d.origins[n]
	if !ok {
		o = origin{file: d.main}
	}
	if via != "" {
		if o.via != "" {
			o.via = via + "; " + o.via
		} else {
			o.via = via
		}
	}
	d.origins[cp] = o
	d.bad[cp] = d.bad[n]
	d.fromVars[cp] = d.fromVars[n]
	d.incomplete[cp] = d.incomplete[n]
	d.substituted[cp] = d.substituted[n]
	if s, ok := d.itemIndex[n]; ok {
		d.itemIndex[cp] = s
	}
	if s, ok := d.matrixBase[n]; ok {
		d.matrixBase[cp] = s
	}
	return cp
}

// laterRefRE finds the references that templates and matrices resolve.
var laterRefRE = regexp.MustCompile(`\$\{(params|matrix)\.([A-Za-z_][A-Za-z0-9_-]*)\}`)

// laterRef says whether ref (as in "${params.url}") is resolved by a
// template or a matrix rather than by vars.
func laterRef(ref string) bool {
	return laterRefRE.MatchString(ref) && laterRefRE.FindString(ref) == ref
}

// bind resolves ${NS.NAME} (NS is params or matrix) below n, in place,
// with values; a nil value was reported missing. A scalar that is only a
// reference to a list or mapping becomes a copy of it. With declared
// (a template's parameters), names that values lacks are reported;
// without, they are left for an enclosing matrix and reported at the end
// if none has them.
func (d *decoder) bind(n *yaml.Node, ns string, values map[string]*yaml.Node, path, what string, declared []string) {
	done := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n == nil || done[n] {
			return
		}
		done[n] = true
		switch n.Kind {
		case yaml.AliasNode:
			walk(n.Alias, path)
			return
		case yaml.MappingNode, yaml.SequenceNode:
			for i, c := range n.Content {
				childPath := path
				switch {
				case n.Kind == yaml.SequenceNode:
					childPath = index(path, i)
				case i%2 == 1:
					childPath = join(path, n.Content[i-1].Value)
				}
				if c.Kind == yaml.ScalarNode && !d.bad[c] {
					if v := d.wholeRef(c, ns, values); v != nil {
						n.Content[i] = d.clone(v, "", map[*yaml.Node]*yaml.Node{})
						continue
					}
				}
				walk(c, childPath)
			}
			return
		}
		if n.Kind != yaml.ScalarNode || d.bad[n] || !strings.Contains(n.Value, "${"+ns+".") {
			return
		}
		var problems []string
		fromVars, missing := false, false
		n.Value = laterRefRE.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := laterRefRE.FindStringSubmatch(ref)
			if m[1] != ns {
				return ref
			}
			v, ok := values[m[2]]
			switch {
			case !ok && declared != nil:
				problems = append(problems, fmt.Sprintf("%s has no parameter %q (parameters: %s)", what, m[2], formatList(declared)))
				return ref
			case !ok:
				return ref
			case v == nil:
				missing = true
				return ref
			}
			v = deref(v)
			if v.Kind != yaml.ScalarNode {
				problems = append(problems, fmt.Sprintf("%s is %s: use it as a whole value, not inside a string", ref, describe(v)))
				return ref
			}
			if d.fromVars[v] {
				fromVars = true
			}
			if isNull(v) {
				return ""
			}
			return v.Value
		})
		if fromVars {
			d.fromVars[n] = true
		}
		for _, p := range problems {
			d.errorf(n, path, "%s", p)
		}
		if len(problems) > 0 || missing {
			d.bad[n] = true
		}
	}
	walk(n, path)
}

// wholeRef returns the value of a scalar that is exactly one reference
// to a list or mapping of values.
func (d *decoder) wholeRef(n *yaml.Node, ns string, values map[string]*yaml.Node) *yaml.Node {
	m := laterRefRE.FindStringSubmatch(strings.TrimSpace(n.Value))
	if m == nil || m[0] != strings.TrimSpace(n.Value) || m[1] != ns {
		return nil
	}
	v, ok := values[m[2]]
	if !ok || v == nil || deref(v).Kind == yaml.ScalarNode {
		return nil
	}
	return v
}

// matrixSuffixRE is what a matrix value may be to name a copy: no
// spaces, slashes or wildcards, which IDs, paths and subjects refuse.
var matrixSuffixRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:,=+@-]{0,62}$`)

// matrixCopies returns the copies of item that its matrix asks for, or
// item itself when it has no matrix.
func (d *decoder) matrixCopies(item *yaml.Node, path string) []*yaml.Node {
	m := deref(item)
	if m == nil || m.Kind != yaml.MappingNode {
		return []*yaml.Node{item}
	}
	var matrixKey, matrixNode *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "matrix" {
			matrixKey, matrixNode = m.Content[i], m.Content[i+1]
		}
	}
	if matrixKey == nil {
		return []*yaml.Node{item}
	}
	mpath := join(path, "matrix")
	drop := func() []*yaml.Node {
		// Report the rest of item as it is, without its matrix.
		c := d.withoutField(m, "matrix")
		return []*yaml.Node{c}
	}
	values, ok := d.list(matrixNode, mpath, "a list of values (scalars, or mappings of names to values)")
	if !ok {
		return drop()
	}
	switch {
	case len(values) == 0:
		d.errorf(deref(matrixNode), mpath, "a matrix over an empty list runs nothing: give at least one value")
		return drop()
	case len(values) > maxMatrixValues:
		d.errorf(deref(matrixNode), mpath, "a matrix may have at most %d values, got %d", maxMatrixValues, len(values))
		return drop()
	}
	var copies []*yaml.Node
	seen := map[string]*yaml.Node{}
	for i, v := range values {
		vpath := index(mpath, i)
		bindings := map[string]*yaml.Node{}
		var parts []string
		switch v.Kind {
		case yaml.ScalarNode:
			if isNull(v) {
				d.errorf(v, vpath, "must be a value, got null")
				continue
			}
			bindings["value"] = v
			parts = append(parts, strings.TrimSpace(v.Value))
		case yaml.MappingNode:
			entries, _ := d.entries(v, vpath, "a mapping of names to values")
			for _, e := range entries {
				if !varNameRE.MatchString(e.key.Value) {
					d.errorf(e.key, join(vpath, e.key.Value), "invalid matrix key %q: %s", e.key.Value, varNameRule)
					continue
				}
				bindings[e.key.Value] = e.value
				if e.value.Kind == yaml.ScalarNode && !isNull(e.value) {
					parts = append(parts, strings.TrimSpace(e.value.Value))
				}
			}
			if n, ok := bindings["name"]; ok && n.Kind == yaml.ScalarNode && !isNull(n) {
				parts = []string{strings.TrimSpace(n.Value)} // names the copy alone
			}
			if len(parts) == 0 {
				d.errorf(v, vpath, "needs at least one scalar value, to name its copy")
				continue
			}
		default:
			d.errorf(v, vpath, "must be a scalar or a mapping, got %s", describe(v))
			continue
		}
		suffix := strings.Join(parts, ",")
		if !matrixSuffixRE.MatchString(suffix) {
			d.errorf(v, vpath, "%s cannot name a copy: a matrix value (its scalars joined by commas) is up to 63 letters, digits and . _ : , = + @ -, starting with a letter or digit", short(suffix))
			continue
		}
		if prev, dup := seen[suffix]; dup {
			d.errorf(v, vpath, "duplicate matrix value %s (first at %d:%d)", short(suffix), prev.Line, prev.Column)
			continue
		}
		seen[suffix] = v
		c := deref(d.clone(m, "", map[*yaml.Node]*yaml.Node{}))
		c = d.withoutField(c, "matrix")
		d.nameCopy(c, suffix)
		d.bind(c, "matrix", bindings, path, "", nil)
		copies = append(copies, c)
	}
	if len(copies) == 0 {
		return drop()
	}
	return copies
}

// withoutField returns m without the named field: a new mapping node
// that shares the others.
func (d *decoder) withoutField(m *yaml.Node, name string) *yaml.Node {
	c := *m
	cp := &c
	cp.Content = nil
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != name {
			cp.Content = append(cp.Content, m.Content[i], m.Content[i+1])
		}
	}
	if o, ok := d.origins[m]; ok {
		d.origins[cp] = o
	}
	d.incomplete[cp] = d.incomplete[m]
	if s, ok := d.itemIndex[m]; ok {
		d.itemIndex[cp] = s
	}
	return cp
}

// nameCopy names a matrix copy NAME[suffix].
func (d *decoder) nameCopy(m *yaml.Node, suffix string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "name" {
			continue
		}
		v := deref(m.Content[i+1])
		if v.Kind != yaml.ScalarNode || isNull(v) {
			return
		}
		named := *v
		np := &named
		np.Value = strings.TrimSpace(v.Value) + "[" + suffix + "]"
		if o, ok := d.origins[v]; ok {
			d.origins[np] = o
		}
		d.matrixBase[np] = strings.TrimSpace(v.Value)
		m.Content[i+1] = np
		return
	}
}

// expandPhases instantiates the templates and matrices of the phases
// list n and of their tasks, in place, and reports references to params
// and matrix values left unresolved.
func (d *decoder) expandPhases(n *yaml.Node) *yaml.Node {
	seq := deref(n)
	if seq == nil || seq.Kind != yaml.SequenceNode || d.bad[seq] {
		return n
	}
	var out []*yaml.Node
	for i, item := range seq.Content {
		seg := d.at("", deref(item), i)
		path := "phases" + seg
		inst := d.instantiate(item, path, "phase")
		for _, c := range d.matrixCopies(inst, path) {
			d.itemIndex[deref(c)] = seg
			d.expandTasks(c, path)
			out = append(out, c)
		}
	}
	seq.Content = out
	d.leftovers(seq, "phases", map[*yaml.Node]bool{})
	return n
}

// expandTasks does what expandPhases does for the tasks of one phase.
func (d *decoder) expandTasks(phase *yaml.Node, path string) {
	m := deref(phase)
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "tasks" {
			continue
		}
		seq := deref(m.Content[i+1])
		if seq == nil || seq.Kind != yaml.SequenceNode || d.bad[seq] {
			return
		}
		// A list shared by aliases is expanded once: its copy is the
		// phase's own.
		seq = d.clone(seq, "", map[*yaml.Node]*yaml.Node{})
		m.Content[i+1] = seq
		tasksPath := join(path, "tasks")
		var out []*yaml.Node
		for j, item := range seq.Content {
			seg := d.at("", deref(item), j)
			itemPath := tasksPath + seg
			inst := d.instantiate(item, itemPath, "task")
			for _, c := range d.matrixCopies(inst, itemPath) {
				d.itemIndex[deref(c)] = seg
				out = append(out, c)
			}
		}
		seq.Content = out
	}
}

// leftovers reports ${params.…} outside a template and ${matrix.…}
// outside a matrix that has the name.
func (d *decoder) leftovers(n *yaml.Node, path string, done map[*yaml.Node]bool) {
	if n == nil || done[n] {
		return
	}
	done[n] = true
	switch n.Kind {
	case yaml.AliasNode:
		d.leftovers(n.Alias, path, done)
	case yaml.ScalarNode:
		if d.bad[n] || !strings.Contains(n.Value, "${") {
			return
		}
		for _, m := range laterRefRE.FindAllStringSubmatch(n.Value, -1) {
			if m[1] == "params" {
				d.errorf(n, path, "%s is only resolved in a template (spec.templates)", m[0])
			} else {
				d.errorf(n, path, "%s: no matrix of this task or its phase has %q", m[0], m[2])
			}
			d.bad[n] = true
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.leftovers(n.Content[i+1], join(path, n.Content[i].Value), done)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.leftovers(c, d.at(path, deref(c), i), done)
		}
	}
}
