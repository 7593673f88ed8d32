package plan

import (
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// A when is an expression over the plan's vars and the results of what
// ran before: the phase or task runs only when it is true. Package
// plan/when compiles and evaluates them (with CEL); plan only checks what
// they name, through Conditions, so that the task contract, which
// imports plan, stays a leaf.

// Conditions compiles and type-checks when expressions. Package
// plan/when provides one.
type Conditions interface {
	// Check returns what expr names (vars, phases, tasks) or, when it
	// does not compile or is not a condition, why.
	Check(expr string) (refs []ConditionRef, problems []string)
}

// ConditionRef is a name a when uses: Kind is vars, phases or tasks, or
// dynamic for an index that is not a constant (Name is then the root).
type ConditionRef struct{ Kind, Name string }

// WhenScope is what a when may refer to, with the results it is
// evaluated on: the finished phases it may name, and the finished tasks
// (of those phases and, for a task, of its own phase) it may name.
type WhenScope struct {
	Vars   map[string]string
	Phases []PhaseResult
	Tasks  []TaskResult
}

// whenRef is a when read from the plan, checked once every phase is read.
type whenRef struct {
	node  *yaml.Node
	path  string
	expr  string
	phase int
	task  int // -1 for the phase's own when
}

// readWhen reads a when field.
func (d *decoder) readWhen(f map[string]field, path string, phase, task int) string {
	v, ok := optional(f, "when")
	if !ok {
		return ""
	}
	s, ok := d.str(v, join(path, "when"))
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if s == "" {
		d.errorf(v, join(path, "when"), "must be an expression, such as phases.build.status == \"pass\"")
		return ""
	}
	d.whens = append(d.whens, whenRef{node: deref(v), path: join(path, "when"), expr: s, phase: phase, task: task})
	return s
}

// checkWhens compiles and type-checks every when of the plan, and checks
// the phases, tasks and vars it names against what it may see.
func (d *decoder) checkWhens(phases []Phase) {
	if len(d.whens) == 0 {
		return
	}
	for _, w := range d.whens {
		if d.conditions == nil {
			d.errorf(w.node, w.path, "this program cannot check conditions: load the plan with plan/when's Conditions (starter does)")
			continue
		}
		refs, problems := d.conditions.Check(w.expr)
		for _, p := range problems {
			d.errorf(w.node, w.path, "%s", p)
		}
		if len(problems) > 0 || w.phase < 0 || w.phase >= len(phases) {
			continue
		}
		inScope := scopeOf(phases, w.phase, w.task)
		for _, r := range refs {
			kind, name := r.Kind, r.Name
			switch kind {
			case "vars":
				if _, ok := d.vars[name]; !ok && !d.brokenVars[name] {
					d.errorf(w.node, w.path, "unknown var %q (declared: %s)", name, formatList(d.declared))
				}
			case "phases":
				if !contains(inScope.phases, name) {
					d.errorf(w.node, w.path, "unknown phase %q: a when may name the phases its phase needs, directly or not (%s)", name, formatList(inScope.phases))
				}
			case "tasks":
				switch n := inScope.tasks[name]; {
				case n == 0:
					d.errorf(w.node, w.path, "unknown task %q: a when may name the tasks of the phases its phase needs, and a task's when the tasks it needs (%s)", name, formatList(sortedKeys(inScope.tasks)))
				case n > 1:
					d.errorf(w.node, w.path, "task %q is in several phases it may see: write phases.PHASE.tasks[%q]", name, name)
				}
			case "dynamic":
				d.errorf(w.node, w.path, "name %s with a constant, as in tasks[\"build\"] or tasks.build", name)
			}
		}
	}
}

// whenNames is the names a when may use.
type whenNames struct {
	phases []string
	tasks  map[string]int // name → how many phases in scope have it
}

// scopeOf is what the when of phase i (task j, or -1) may see: the
// phases it needs, directly or not, their tasks and, for a task, the
// tasks of its phase it needs, directly or not.
func scopeOf(phases []Phase, i, j int) whenNames {
	s := whenNames{tasks: map[string]int{}}
	for _, name := range closure(phaseNeeds(phases), phases[i].Name) {
		s.phases = append(s.phases, name)
		for _, p := range phases {
			if p.Name == name {
				for _, t := range p.Tasks {
					s.tasks[t.Name]++
				}
			}
		}
	}
	if j >= 0 && j < len(phases[i].Tasks) {
		needs := map[string][]string{}
		for _, t := range phases[i].Tasks {
			needs[t.Name] = t.Needs
		}
		for _, name := range closure(needs, phases[i].Tasks[j].Name) {
			s.tasks[name]++
		}
	}
	return s
}

func phaseNeeds(phases []Phase) map[string][]string {
	needs := map[string][]string{}
	for _, p := range phases {
		needs[p.Name] = p.Needs
	}
	return needs
}

// closure is every name that name needs, directly or not, sorted.
func closure(needs map[string][]string, name string) []string {
	seen := map[string]bool{}
	var out []string
	var visit func(string)
	visit = func(n string) {
		for _, m := range needs[n] {
			if !seen[m] && m != name {
				seen[m] = true
				out = append(out, m)
				visit(m)
			}
		}
	}
	visit(name)
	sort.Strings(out)
	return out
}

// WhenScopeOf picks from a run's results what the whens of a phase's
// tasks and the phase's own when may see: the plan's vars and the phases
// it needs, directly or not, with their tasks.
func (p *Plan) WhenScopeOf(res []PhaseResult, phase string) WhenScope {
	s := WhenScope{Vars: p.Spec.Vars}
	names := closure(phaseNeeds(p.Spec.Phases), phase)
	for _, r := range res {
		if !contains(names, r.Name) {
			continue
		}
		// Only what a when may read: a phase workflow's input carries it.
		lean := PhaseResult{Name: r.Name, Status: r.Status, Tasks: make([]TaskResult, len(r.Tasks))}
		for i, t := range r.Tasks {
			lean.Tasks[i] = TaskResult{Name: t.Name, Uses: t.Uses, Status: t.Status, Error: t.Error, Metrics: t.Metrics}
		}
		s.Phases = append(s.Phases, lean)
		s.Tasks = append(s.Tasks, lean.Tasks...)
	}
	return s
}

// ForTask adds to a phase's scope the tasks of the phase (own, their
// results so far) that task needs, directly or not.
func (s WhenScope) ForTask(ph Phase, task string, own []TaskResult) WhenScope {
	needs := map[string][]string{}
	for _, t := range ph.Tasks {
		needs[t.Name] = t.Needs
	}
	mine := closure(needs, task)
	out := s
	out.Tasks = append([]TaskResult(nil), s.Tasks...)
	for _, t := range own {
		if contains(mine, t.Name) {
			out.Tasks = append(out.Tasks, t)
		}
	}
	return out
}
