package plan

import (
	"math"
	"strings"

	"gopkg.in/yaml.v3"
)

// phaseRef is what checkNeeds needs to know of a phase.
type phaseRef struct {
	name  string
	needs []needRef
}

type needRef struct {
	name string
	node *yaml.Node
	path string
}

func (d *decoder) phases(n *yaml.Node) []Phase {
	items, ok := d.list(n, "phases", "a list of phases")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(deref(n), "phases", "at least one phase is required")
		return nil
	}
	out := make([]Phase, 0, len(items))
	refs := make([]phaseRef, 0, len(items))
	first := map[string]*yaml.Node{}
	copies := map[string][]string{} // a matrix phase's name → its copies
	for i, item := range items {
		path := d.at("phases", item, i)
		d.curPhase = len(out)
		ph, ref, nameNode := d.phase(item, path)
		if base, ok := d.matrixBase[nameNode]; ok {
			copies[base] = append(copies[base], ph.Name)
		}
		if nameNode != nil {
			if prev, dup := first[ph.Name]; dup {
				d.errorf(nameNode, join(path, "name"), "duplicate phase name %q (first at line %d)", ph.Name, prev.Line)
			} else {
				first[ph.Name] = nameNode
			}
		}
		out = append(out, ph)
		refs = append(refs, ref)
	}
	if len(copies) > 0 {
		for i := range out {
			out[i].Needs, refs[i].needs = expandNeeds(out[i].Needs, refs[i].needs, first, copies)
		}
	}
	d.checkNeeds(refs, "phase")
	d.checkWhens(out)
	return out
}

// expandNeeds replaces a need that names a task or phase with a matrix
// (and nothing else of that name) by all its copies.
func expandNeeds(needs []string, refs []needRef, names map[string]*yaml.Node, copies map[string][]string) ([]string, []needRef) {
	var outNeeds []string
	var outRefs []needRef
	for i, need := range needs {
		all, isMatrix := copies[need]
		if _, exists := names[need]; exists || !isMatrix {
			outNeeds = append(outNeeds, need)
			outRefs = append(outRefs, refs[i])
			continue
		}
		for _, c := range all {
			outNeeds = append(outNeeds, c)
			r := refs[i]
			r.name = c
			outRefs = append(outRefs, r)
		}
	}
	return outNeeds, outRefs
}

func (d *decoder) phase(n *yaml.Node, path string) (Phase, phaseRef, *yaml.Node) {
	var ph Phase
	var ref phaseRef
	if isNull(n) {
		d.errorf(n, path, "must be a phase (a mapping with name, and tasks or approval), got null")
		return ph, ref, nil
	}
	f, ok := d.object(n, path, "spec.phases[]")
	if !ok {
		return ph, ref, nil
	}
	var nameNode *yaml.Node
	ph.Name, nameNode = d.name(f, n, path)
	ref.name = ph.Name
	ph.Needs, ref.needs = d.needs(f, path, "phase")
	ph.When = d.readWhen(f, path, d.curPhase, -1)
	if e, ok := f["with"]; ok && !d.incomplete[deref(n)] {
		if _, uses := f["uses"]; !uses {
			d.errorf(e.key, join(path, "with"), "with gives a phase template its parameters: add uses: %sNAME", TemplatePrefix)
		}
	}
	tasksNode, hasTasks := optional(f, "tasks")
	approvalNode, hasApproval := optional(f, "approval")
	switch {
	case hasTasks && hasApproval:
		d.errorf(f["approval"].key, path, "a phase has tasks or an approval, not both")
	case !hasTasks && !hasApproval && !d.incomplete[deref(n)]:
		d.errorf(deref(n), path, "a phase needs tasks or an approval (approval: {} waits for a decision, with the defaults)")
	}
	if hasTasks {
		ph.Tasks = d.tasks(tasksNode, join(path, "tasks"), hasApproval)
	}
	if hasApproval {
		ph.Approval = d.approval(approvalNode, join(path, "approval"))
	}
	return ph, ref, nameNode
}

// onFailure reads spec.onFailure: a phase of tasks without gates or
// whens, whose name no phase has.
func (d *decoder) onFailure(n *yaml.Node, phases []Phase) *Phase {
	d.substitute(n, "onFailure")
	f, ok := d.object(n, "onFailure", "spec.onFailure")
	if !ok {
		return nil
	}
	ph := &Phase{}
	var nameNode *yaml.Node
	ph.Name, nameNode = d.name(f, n, "onFailure")
	for _, other := range phases {
		if nameNode != nil && other.Name == ph.Name {
			d.errorf(nameNode, "onFailure.name", "phase %q exists already: the onFailure phase needs a name of its own", ph.Name)
		}
	}
	tasksNode, ok := d.need(f, "tasks", n, "onFailure")
	if !ok {
		return ph
	}
	d.expandTasks(deref(n), "onFailure")
	tasksNode = f["tasks"].value
	for i := 0; i+1 < len(deref(n).Content); i += 2 {
		if deref(n).Content[i].Value == "tasks" {
			tasksNode = deref(n).Content[i+1]
		}
	}
	d.leftovers(tasksNode, "onFailure.tasks", map[*yaml.Node]bool{})
	d.curPhase = -1
	ph.Tasks = d.tasks(tasksNode, "onFailure.tasks", false)
	items, _ := d.list(tasksNode, "onFailure.tasks", "a list of tasks")
	for i, t := range ph.Tasks {
		if i >= len(items) {
			break
		}
		item, path := items[i], d.at("onFailure.tasks", items[i], i)
		tf, _ := d.object(item, path, "spec.phases[].tasks[]")
		if e, ok := tf["gates"]; ok && len(t.Gates) > 0 {
			d.errorf(e.key, join(path, "gates"), "an onFailure task has no gates: the run has failed already, and what runs after cannot change that")
		}
		if e, ok := tf["when"]; ok && t.When != "" {
			d.errorf(e.key, join(path, "when"), "an onFailure task has no when: the onFailure phase runs only when the run fails")
		}
	}
	// Its whens are refused above; none is checked against phases.
	kept := d.whens[:0]
	for _, w := range d.whens {
		if w.phase >= 0 {
			kept = append(kept, w)
		}
	}
	d.whens = kept
	return ph
}

// needs reads the needs field of a phase or task (kind).
func (d *decoder) needs(f map[string]field, path, kind string) ([]string, []needRef) {
	var names []string
	var refs []needRef
	if v, ok := optional(f, "needs"); ok {
		needsPath := join(path, "needs")
		if deref(v).Kind == yaml.ScalarNode && !d.bad[deref(v)] {
			d.errorf(v, needsPath, "must be a list of %s names, got %s: write [%s]", kind, describe(v), deref(v).Value)
		} else if items, ok := d.list(v, needsPath, "a list of "+kind+" names"); ok {
			for i, item := range items {
				if s, ok := d.str(item, index(needsPath, i)); ok {
					names = append(names, s)
					refs = append(refs, needRef{name: s, node: item, path: index(needsPath, i)})
				}
			}
		}
	}
	return names, refs
}

// MaxPhaseTasks is the most tasks a phase may have: a phase workflow's
// history grows by about 5 events per task, and Temporal terminates a
// workflow whose history passes 51,200 events (at about 11,000 tasks).
const MaxPhaseTasks = 5000

func (d *decoder) tasks(n *yaml.Node, path string, hasApproval bool) []Task {
	items, ok := d.list(n, path, "a list of tasks")
	if !ok {
		return nil
	}
	if len(items) == 0 && !hasApproval {
		d.errorf(deref(n), path, "at least one task is required")
		return nil
	}
	if len(items) > MaxPhaseTasks {
		d.errorf(deref(n), path, "a phase may have at most %d tasks, got %d: each task adds about 5 events to its phase's history, which Temporal ends at 51,200; split the tasks into several phases", MaxPhaseTasks, len(items))
		return nil
	}
	var out []Task
	var refs []phaseRef
	first := map[string]*yaml.Node{}
	copies := map[string][]string{} // a matrix task's name → its copies
	for i, item := range items {
		taskPath := d.at(path, item, i)
		t, ref, nameNode := d.task(item, taskPath, len(out))
		if base, ok := d.matrixBase[nameNode]; ok {
			copies[base] = append(copies[base], t.Name)
		}
		if nameNode != nil {
			if prev, dup := first[t.Name]; dup {
				d.errorf(nameNode, join(taskPath, "name"), "duplicate task name %q in this phase (first at line %d)", t.Name, prev.Line)
			} else {
				first[t.Name] = nameNode
			}
		}
		out = append(out, t)
		refs = append(refs, ref)
	}
	hasNeeds := false
	for i := range out {
		if len(copies) > 0 {
			out[i].Needs, refs[i].needs = expandNeeds(out[i].Needs, refs[i].needs, first, copies)
		}
		hasNeeds = hasNeeds || len(refs[i].needs) > 0
	}
	if hasNeeds {
		d.checkNeeds(refs, "task")
	}
	return out
}

func (d *decoder) approval(n *yaml.Node, path string) *Approval {
	a := &Approval{Required: true, Timeout: Duration(defaultApprovalTimeout)}
	f, ok := d.object(n, path, "spec.phases[].approval")
	if !ok {
		return a
	}
	if v, ok := optional(f, "required"); ok {
		if b, ok := d.boolean(v, join(path, "required")); ok {
			a.Required = b
		}
	}
	if v, ok := optional(f, "timeout"); ok {
		if t, ok := d.timeout(v, join(path, "timeout")); ok {
			a.Timeout = Duration(t)
		}
	}
	if v, ok := optional(f, "approvers"); ok {
		if items, ok := d.list(v, join(path, "approvers"), "a list of names"); ok {
			for i, item := range items {
				if s, ok := d.str(item, index(join(path, "approvers"), i)); ok && strings.TrimSpace(s) != "" {
					a.Approvers = append(a.Approvers, strings.TrimSpace(s))
				}
			}
		}
	}
	return a
}

func (d *decoder) task(n *yaml.Node, path string, at int) (Task, phaseRef, *yaml.Node) {
	t := Task{
		Timeout: Duration(defaultTimeout),
		Retry: Retry{
			MaxAttempts:     defaultMaxAttempts,
			InitialInterval: Duration(defaultInitialInterval),
			MaxInterval:     Duration(defaultMaxInterval),
			Backoff:         defaultBackoff,
		},
	}
	var ref phaseRef
	if isNull(n) {
		d.errorf(n, path, "must be a task (a mapping with name and uses), got null")
		return t, ref, nil
	}
	f, ok := d.object(n, path, "spec.phases[].tasks[]")
	if !ok {
		return t, ref, nil
	}
	var nameNode *yaml.Node
	t.Name, nameNode = d.name(f, n, path)
	ref.name = t.Name
	t.Needs, ref.needs = d.needs(f, path, "task")
	t.When = d.readWhen(f, path, d.curPhase, at)

	var tt TaskType
	known := false
	if v, ok := d.need(f, "uses", n, path); ok {
		if s, ok := d.str(v, join(path, "uses")); ok {
			t.Uses = s
			tt, known = d.catalog[s]
			if !known {
				d.errorf(v, join(path, "uses"), "unknown task type %q (want %s)", s, formatList(d.catalog.Names()))
			}
		}
	}
	if known {
		if tt.Timeout > 0 {
			t.Timeout = Duration(tt.Timeout)
		}
		t.Heartbeat = Duration(tt.Heartbeat)
		if tt.MaxAttempts > 0 {
			t.Retry.MaxAttempts = tt.MaxAttempts
		}
		with, _ := optional(f, "with")
		d.guards = nil
		before := len(d.errs)
		params, valid := d.params(with, n, join(path, "with"), tt.Params, "parameter")
		valid = valid && len(d.errs) == before
		if len(params) > 0 {
			t.With = params
		}
		if allowed := d.checkSafety(d.guards, safetyParams(tt, SafetyAllowHosts)); len(allowed) > 0 {
			t.AllowedHosts = allowed
		}
		d.checkShellScripts(d.guards, params)
		d.guards = nil
		if valid && tt.Check != nil {
			d.checkParams(tt, with, n, join(path, "with"), params)
		}
	}
	timeoutNode, hasTimeout := optional(f, "timeout")
	if hasTimeout {
		if x, ok := d.timeout(timeoutNode, join(path, "timeout")); ok {
			t.Timeout = Duration(x)
		}
	}
	if known && tt.Runs != nil && t.With != nil {
		if need, param := tt.Runs(t.With); need > 0 && need > t.Timeout.Std() {
			at := n
			if hasTimeout {
				at = timeoutNode
			}
			d.errorf(deref(at), join(path, "timeout"), "is %s, shorter than the %s the task runs for (with.%s): raise timeout above it", t.Timeout, need, param)
		}
	}
	if v, ok := optional(f, "heartbeat"); ok {
		if x, _, ok := d.duration(v, join(path, "heartbeat")); ok {
			t.Heartbeat = Duration(x)
		}
	}
	if v, ok := optional(f, "retry"); ok {
		t.Retry = d.retry(v, join(path, "retry"), t.Retry)
	}
	if v, ok := optional(f, "gates"); ok {
		gatesPath := join(path, "gates")
		if items, ok := d.list(v, gatesPath, "a list of gates"); ok {
			for i, item := range items {
				if g, ok := d.gate(item, index(gatesPath, i), tt, known); ok {
					t.Gates = append(t.Gates, g)
				}
			}
		}
	}
	return t, ref, nameNode
}

func (d *decoder) retry(n *yaml.Node, path string, r Retry) Retry {
	f, ok := d.object(n, path, "spec.phases[].tasks[].retry")
	if !ok {
		return r
	}
	if v, ok := optional(f, "maxAttempts"); ok {
		if x, ok := d.integer(v, join(path, "maxAttempts")); ok {
			if x < 1 {
				d.errorf(v, join(path, "maxAttempts"), "must be at least 1, got %d", x)
			} else {
				r.MaxAttempts = int(x)
			}
		}
	}
	initial, hasInitial := optional(f, "initialInterval")
	if hasInitial {
		if x, ok := d.positiveDuration(initial, join(path, "initialInterval")); ok {
			r.InitialInterval = Duration(x)
		} else {
			hasInitial = false
		}
	}
	maxNode, hasMax := optional(f, "maxInterval")
	if hasMax {
		if x, ok := d.positiveDuration(maxNode, join(path, "maxInterval")); ok {
			r.MaxInterval = Duration(x)
		} else {
			hasMax = false
		}
	}
	if r.MaxInterval < r.InitialInterval {
		switch {
		case hasMax:
			d.errorf(maxNode, join(path, "maxInterval"), "must not be shorter than initialInterval (%s)", formatDuration(r.InitialInterval.Std()))
		case hasInitial:
			d.errorf(initial, join(path, "initialInterval"), "must not be longer than maxInterval (%s, the default)", formatDuration(r.MaxInterval.Std()))
		}
	}
	if v, ok := optional(f, "backoff"); ok {
		if x, ok := d.number(v, join(path, "backoff")); ok {
			if x < 1 {
				d.errorf(v, join(path, "backoff"), "must be at least 1 (1 retries at a fixed interval), got %v", x)
			} else {
				r.Backoff = x
			}
		}
	}
	return r
}

// MaxWeight is the largest weight a gate may have. Weights are shares of
// the score: a bound keeps the sums of a run's weights finite.
const MaxWeight = 1000

// gate reads one gate. When the task type is unknown (known is false, and
// that is reported), the metric cannot be checked and thresholds are only
// checked for their syntax.
func (d *decoder) gate(n *yaml.Node, path string, tt TaskType, known bool) (Gate, bool) {
	g := Gate{Weight: 1}
	if isNull(n) {
		d.errorf(n, path, "must be a gate (a mapping with metric and pass), got null")
		return g, false
	}
	f, ok := d.object(n, path, "spec.phases[].tasks[].gates[]")
	if !ok {
		return g, false
	}
	unit := UnitAny
	if v, ok := d.need(f, "metric", n, path); ok {
		if s, ok := d.str(v, join(path, "metric")); ok {
			g.Metric = s
			if known {
				m, found := tt.Metric(s)
				if found {
					unit = m.Unit
				} else {
					d.errorf(v, join(path, "metric"), "unknown metric %q of %s (want %s)", s, tt.Name, formatList(metricNames(tt)))
				}
			}
		}
	}
	if v, ok := d.need(f, "pass", n, path); ok {
		if th, ok := d.threshold(v, join(path, "pass"), unit); ok {
			g.Pass = th
		}
	}
	if v, ok := optional(f, "warning"); ok {
		if th, ok := d.threshold(v, join(path, "warning"), unit); ok {
			g.Warning = &th
		}
	}
	if v, ok := optional(f, "weight"); ok {
		if x, ok := d.number(v, join(path, "weight")); ok {
			switch {
			case x <= 0:
				d.errorf(v, join(path, "weight"), "must be more than 0, got %v", x)
			case x > MaxWeight:
				d.errorf(v, join(path, "weight"), "must be at most %d, got %v", MaxWeight, x)
			default:
				g.Weight = x
			}
		}
	}
	if v, ok := optional(f, "key"); ok {
		if b, ok := d.boolean(v, join(path, "key")); ok {
			g.Key = b
		}
	}
	if g.Relative() {
		g.Pos = Position{Line: deref(n).Line, Column: deref(n).Column}
	}
	if v, ok := optional(f, "baseline"); ok {
		if s, ok := d.str(v, join(path, "baseline")); ok {
			g.BaselineRun = s
			g.Pos = Position{Line: deref(v).Line, Column: deref(v).Column}
			if !g.Relative() {
				d.errorf(v, join(path, "baseline"), "names a baseline run, but neither pass nor warning is relative (write pass: \"<= baseline * 1.1\")")
			}
		}
	}
	if v, ok := optional(f, "abortOnFail"); ok {
		if b, ok := d.boolean(v, join(path, "abortOnFail")); ok {
			g.AbortOnFail = b
			if b && known && !tt.AbortOnFail {
				d.errorf(v, join(path, "abortOnFail"), "task type %s cannot stop early (task types that can: %s)", tt.Name, formatList(d.abortingTypes()))
			}
		}
	}
	return g, true
}

// abortingTypes lists the task types that honour abortOnFail.
func (d *decoder) abortingTypes() []string {
	var names []string
	for _, name := range d.catalog.Names() {
		if d.catalog[name].AbortOnFail {
			names = append(names, name)
		}
	}
	return names
}

// safetyParams names the task type's top-level parameters with a rule.
func safetyParams(tt TaskType, rule Safety) []string {
	var names []string
	for _, p := range tt.Params {
		if p.Safety == rule {
			names = append(names, p.Name)
		}
	}
	return names
}

// checkParams runs the task type's own check over its valid parameters
// and reports each problem at the parameter it names, else at with.
func (d *decoder) checkParams(tt TaskType, with, task *yaml.Node, path string, params map[string]any) {
	at := task
	if present(with) {
		at = deref(with)
	}
	entries, _ := d.entries(with, path, "a mapping of parameters")
	for _, p := range tt.Check(params) {
		n, where := at, path
		if p.Param != "" {
			where = join(path, p.Param)
			for _, e := range entries {
				if e.key.Value == p.Param {
					n = e.key
				}
			}
		}
		d.errorf(n, where, "%s", p.Msg)
	}
}

func (d *decoder) threshold(n *yaml.Node, path string, unit Unit) (Threshold, bool) {
	text, ok := d.scalar(n, path, `a threshold such as "< 200ms" or ">= 80"`)
	if !ok {
		return Threshold{}, false
	}
	th, err := ParseGateThreshold(text, unit)
	if err != nil {
		d.errorf(deref(n), path, "%s", err)
		return Threshold{}, false
	}
	if th.Baseline != nil {
		return th, true // its value is known once the baseline is
	}
	if math.IsInf(th.Value, 0) || math.IsNaN(th.Value) {
		d.errorf(deref(n), path, "threshold %q is out of range", text)
		return Threshold{}, false
	}
	if why := never(th, unit); why != "" {
		d.errorf(deref(n), path, "threshold %q can never hold: %s", strings.TrimSpace(text), why)
		return Threshold{}, false
	}
	return th, true
}

// never says why no value of a metric of the given unit can meet th, or
// returns "" when some can: durations, sizes and counts are never below 0,
// ratios are from 0 to 1 (0 to 100%).
func never(th Threshold, unit Unit) string {
	lo, hi := 0.0, math.Inf(1)
	var why string
	switch unit {
	case UnitSeconds:
		why = "a duration is never below 0s"
	case UnitBytes:
		why = "a size is never below 0 bytes"
	case UnitCount:
		why = "a count is never below 0"
	case UnitRatio:
		hi, why = 1, "a ratio is from 0 to 100%"
	default:
		return ""
	}
	v := th.Value
	switch th.Op {
	case "<":
		if v <= lo {
			return why
		}
	case "<=":
		if v < lo {
			return why
		}
	case ">":
		if v >= hi {
			return why
		}
	case ">=":
		if v > hi {
			return why
		}
	case "==":
		if v < lo || v > hi {
			return why
		}
	}
	return ""
}

func metricNames(tt TaskType) []string {
	names := make([]string, len(tt.Metrics))
	for i, m := range tt.Metrics {
		names[i] = m.Name
	}
	return names
}

// maxCycles is the most cycles reported for one plan.
const maxCycles = 10

// checkNeeds checks every phase's needs against the phases there are, and
// reports cycles.
func (d *decoder) checkNeeds(refs []phaseRef, kind string) {
	byName := map[string]int{}
	var names []string
	for i, r := range refs {
		if _, dup := byName[r.name]; r.name != "" && !dup {
			byName[r.name] = i
			names = append(names, r.name)
		}
	}
	// The phases a need may name, for messages: every phase but its own.
	head := names[:min(len(names), maxListed+1)]
	others := func(self string) string {
		shown := make([]string, 0, maxListed)
		for _, n := range head {
			if n != self && len(shown) < maxListed {
				shown = append(shown, n)
			}
		}
		total := len(names)
		if _, ok := byName[self]; ok {
			total--
		}
		return listWithMore(shown, total-len(shown))
	}
	type edge struct {
		to   int
		need needRef
	}
	edges := make([][]edge, len(refs))
	for i, r := range refs {
		seen := map[string]bool{}
		for _, need := range r.needs {
			to, exists := byName[need.name]
			switch {
			case seen[need.name]:
				d.errorf(need.node, need.path, "%s %q is listed twice", kind, need.name)
			case need.name == r.name:
				d.errorf(need.node, need.path, "a %s cannot need itself", kind)
			case !exists:
				d.errorf(need.node, need.path, "unknown %s %q (want %s)", kind, need.name, others(r.name))
			default:
				edges[i] = append(edges[i], edge{to: to, need: need})
			}
			seen[need.name] = true
		}
	}

	// A depth-first search: an edge back to a phase on the stack closes a
	// cycle, and each such edge closes a different one.
	const notOnStack = -1
	stackPos := make([]int, len(refs))
	visited := make([]bool, len(refs))
	for i := range stackPos {
		stackPos[i] = notOnStack
	}
	var stack []int
	cycles := 0
	var visit func(i int)
	visit = func(i int) {
		visited[i] = true
		stackPos[i] = len(stack)
		stack = append(stack, i)
		for _, e := range edges[i] {
			switch {
			case stackPos[e.to] != notOnStack:
				if cycles < maxCycles {
					cycles++
					d.reportCycle(refs, rotateToLowest(stack[stackPos[e.to]:]), func(from, to int) needRef {
						for _, out := range edges[from] {
							if out.to == to {
								return out.need
							}
						}
						return e.need
					})
				}
			case !visited[e.to]:
				visit(e.to)
			}
		}
		stack = stack[:len(stack)-1]
		stackPos[i] = notOnStack
	}
	for i := range refs {
		if !visited[i] {
			visit(i)
		}
	}
}

// reportCycle reports a cycle of phases at the need that leaves its first
// phase, so a cycle reads the same wherever the search entered it.
func (d *decoder) reportCycle(refs []phaseRef, cycle []int, need func(from, to int) needRef) {
	names := make([]string, 0, len(cycle)+1)
	for _, c := range cycle {
		names = append(names, refs[c].name)
	}
	names = append(names, refs[cycle[0]].name)
	at := need(cycle[0], cycle[1%len(cycle)])
	d.errorf(at.node, at.path, "needs form a cycle: %s", strings.Join(names, " -> "))
}

// rotateToLowest returns a copy of cycle that starts at its lowest index.
func rotateToLowest(cycle []int) []int {
	low := 0
	for i, c := range cycle {
		if c < cycle[low] {
			low = i
		}
	}
	out := make([]int, 0, len(cycle))
	out = append(out, cycle[low:]...)
	return append(out, cycle[:low]...)
}
