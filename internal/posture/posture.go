// Package posture is the engine the posture task types share (aws-posture,
// azure-posture, repo-posture): each reads facts of a set of resources as
// metrics, and this package folds them into the task's output. A fact
// aggregates across resources as its worst value (the lowest of a fact
// where more is better, the highest of one where less is better), the
// worst resource is named, and the report gets one table per resource.
// Given the task's gates, it also says which resource fails which gate:
// a gate reads the aggregated (worst) value, so one failing resource
// fails it, and the report names every one that does.
package posture

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
)

// Better says which way a fact improves, and so how it aggregates.
type Better int

const (
	// More is better (retention, encryption 0/1): the worst is the lowest.
	More Better = iota
	// Less is better (lag, age, missing files): the worst is the highest.
	Less
)

// Fact declares one fact: its metric and which way it improves.
type Fact struct {
	Metric plan.Metric
	Better Better
}

// Declare returns a fact whose doc ends with how it aggregates.
func Declare(name string, unit plan.Unit, better Better, doc string) Fact {
	agg := " Across resources: the lowest value (more is better)."
	if better == Less {
		agg = " Across resources: the highest value (less is better)."
	}
	return Fact{Metric: plan.Metric{Name: name, Unit: unit, Doc: doc + agg}, Better: better}
}

// Metrics are the declarations of facts, for a task type's Decl.
func Metrics(facts []Fact) []plan.Metric {
	out := make([]plan.Metric, len(facts))
	for i, f := range facts {
		out[i] = f.Metric
	}
	return out
}

// Resource is what a task read of one resource.
type Resource struct {
	// ID names the resource as the plan selects it (ARN, resource ID,
	// name).
	ID string
	// Aliases are other names the plan may choose it by (its ARN).
	Aliases []string
	// Kind is what it is ("RDS instance", "S3 bucket"), for the report.
	Kind string
	// Facts are metric values in base units.
	Facts map[string]float64
	// Notes explain a fact's value (the class of a rule, why a fact is
	// missing), shown in the resource's table.
	Notes map[string]string
}

// Set sets a fact.
func (r *Resource) Set(metric string, v float64) {
	if r.Facts == nil {
		r.Facts = map[string]float64{}
	}
	r.Facts[metric] = v
}

// SetBool sets a 0/1 fact.
func (r *Resource) SetBool(metric string, b bool) {
	v := 0.0
	if b {
		v = 1
	}
	r.Set(metric, v)
}

// Note adds an explanation to a fact.
func (r *Resource) Note(metric, note string) {
	if r.Notes == nil {
		r.Notes = map[string]string{}
	}
	r.Notes[metric] = note
}

// Worst is the aggregated value of one metric and the resource it comes
// from.
type Worst struct {
	Metric   string
	Value    float64
	Resource string
	// Missing lists resources that do not report the metric: then the
	// metric is left out of the task's metrics, so a gate on it fails
	// ("metric not reported") rather than passing over them.
	Missing []string
}

// Aggregate folds the resources' facts into the task's output: for each
// metric the worst value across resources (a metric some resource lacks
// is left out), a summary naming the worst resource of each metric, a
// table of the worst values and one table per resource, with each
// resource's verdict on every gate over one of its facts, and a table of
// the gates naming the resources that fail them.
func Aggregate(facts []Fact, what string, resources []Resource, gates []plan.Gate) (task.Output, []Worst) {
	out := task.Output{Metrics: map[string]float64{}}
	names := map[string]bool{}
	for _, r := range resources {
		for m := range r.Facts {
			names[m] = true
		}
		for m := range r.Notes {
			names[m] = true
		}
	}
	var worst []Worst
	for _, m := range sortedKeys(names) {
		better := More
		for _, f := range facts {
			if f.Metric.Matches(m) {
				better = f.Better
				break
			}
		}
		w := Worst{Metric: m, Value: math.NaN()}
		for _, r := range resources {
			v, ok := r.Facts[m]
			if !ok {
				w.Missing = append(w.Missing, r.ID)
				continue
			}
			if math.IsNaN(w.Value) || better == More && v < w.Value || better == Less && v > w.Value {
				w.Value, w.Resource = v, r.ID
			}
		}
		if len(w.Missing) == 0 {
			out.Metrics[m] = w.Value
		}
		worst = append(worst, w)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%d %s checked", len(resources), what)
	summary := plan.Table{Title: "Worst across " + what, Columns: []string{"fact", "worst value", "resource", "not reported by"}}
	for _, w := range worst {
		summary.Rows = append(summary.Rows, []string{w.Metric, Format(w.Value, unitOf(facts, w.Metric)), w.Resource, strings.Join(w.Missing, ", ")})
		if len(w.Missing) > 0 {
			fmt.Fprintf(&b, "\n%s: not reported by %s", w.Metric, strings.Join(w.Missing, ", "))
			continue
		}
		fmt.Fprintf(&b, "\n%s = %s (worst: %s)", w.Metric, Format(w.Value, unitOf(facts, w.Metric)), w.Resource)
		if i := slices.IndexFunc(resources, func(r Resource) bool { return r.ID == w.Resource }); i >= 0 && resources[i].Notes[w.Metric] != "" {
			fmt.Fprintf(&b, ": %s", resources[i].Notes[w.Metric])
		}
	}
	byGate := plan.Table{Title: "Gates by resource", Columns: []string{"gate", "fails for", "at warning for", "passes for", "not reported by"}}
	for _, g := range gates {
		if g.Pass.Unresolved() || !slices.ContainsFunc(worst, func(w Worst) bool { return w.Metric == g.Metric }) {
			continue
		}
		var fails, warns, passes, missing []string
		for _, r := range resources {
			v, ok := r.Facts[g.Metric]
			shown := r.ID + " (" + Format(v, unitOf(facts, g.Metric)) + ")"
			switch {
			case !ok:
				missing = append(missing, r.ID)
			case verdict(g, v) == "passes":
				passes = append(passes, r.ID)
			case verdict(g, v) == "at warning":
				warns = append(warns, shown)
			default:
				fails = append(fails, shown)
			}
		}
		name := g.Metric + " " + g.Pass.String()
		byGate.Rows = append(byGate.Rows, []string{name, strings.Join(fails, ", "), strings.Join(warns, ", "), strings.Join(passes, ", "), strings.Join(missing, ", ")})
		if len(fails) > 0 {
			fmt.Fprintf(&b, "\ngate %s fails for %d of %d: %s", name, len(fails), len(resources), strings.Join(fails, ", "))
		}
		if len(warns) > 0 {
			fmt.Fprintf(&b, "\ngate %s only at warning for %d of %d: %s", name, len(warns), len(resources), strings.Join(warns, ", "))
		}
	}
	out.Output = b.String()
	out.Tables = append(out.Tables, summary)
	if len(byGate.Rows) > 0 {
		out.Tables = append(out.Tables, byGate)
	}
	for _, r := range resources {
		t := plan.Table{Title: r.Kind + " " + r.ID, Columns: []string{"resource", "fact", "value", "gates", "note"}}
		keys := map[string]bool{}
		for m := range r.Facts {
			keys[m] = true
		}
		for m := range r.Notes {
			keys[m] = true
		}
		for _, m := range sortedKeys(keys) {
			v, ok := r.Facts[m]
			val := "not reported"
			if ok {
				val = Format(v, unitOf(facts, m))
			}
			var verdicts []string
			for _, g := range gates {
				if g.Metric != m || g.Pass.Unresolved() || !ok {
					continue
				}
				verdicts = append(verdicts, verdict(g, v)+" "+g.Pass.String())
			}
			t.Rows = append(t.Rows, []string{r.ID, m, val, strings.Join(verdicts, "; "), r.Notes[m]})
		}
		out.Tables = append(out.Tables, t)
	}
	return out, worst
}

func unitOf(facts []Fact, metric string) plan.Unit {
	for _, f := range facts {
		if f.Metric.Matches(metric) {
			return f.Metric.Unit
		}
	}
	return plan.UnitCount
}

// Format writes a value for people: seconds as days or hours when whole,
// other numbers as they are.
func Format(v float64, unit plan.Unit) string {
	if math.IsNaN(v) {
		return "-"
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if unit != plan.UnitSeconds {
		return s
	}
	switch a := math.Abs(v); {
	case a >= 86400:
		return fmt.Sprintf("%s s (%.1f days)", strconv.FormatFloat(math.Round(v), 'f', -1, 64), v/86400)
	case a >= 3600:
		return fmt.Sprintf("%s s (%.1f h)", strconv.FormatFloat(math.Round(v), 'f', -1, 64), v/3600)
	}
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64) + " s"
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Selection is how a plan chooses resources: by ID list or by a tag
// filter (every tag must match; a value "*" matches any value).
type Selection struct {
	IDs  []string
	Tags map[string]string
}

// ParseSelection reads the `resources` object parameter: ids or tags,
// exactly one.
func ParseSelection(p task.Params) (Selection, error) {
	o := p.Object("resources")
	s := Selection{IDs: o.Strings("ids"), Tags: o.StringMap("tags")}
	switch {
	case len(s.IDs) == 0 && len(s.Tags) == 0:
		return s, task.InvalidParams("resources: give ids (a list of IDs, ARNs or names) or tags (a tag filter)")
	case len(s.IDs) > 0 && len(s.Tags) > 0:
		return s, task.InvalidParams("resources: give ids or tags, not both")
	}
	for _, id := range s.IDs {
		if strings.TrimSpace(id) == "" {
			return s, task.InvalidParams("resources.ids: an empty ID")
		}
	}
	return s, nil
}

// ByTags reports whether the selection is a tag filter.
func (s Selection) ByTags() bool { return len(s.Tags) > 0 }

// MatchTags reports whether tags pass the filter.
func (s Selection) MatchTags(tags map[string]string) bool {
	for k, want := range s.Tags {
		got, ok := tags[k]
		if !ok || want != "*" && got != want {
			return false
		}
	}
	return true
}

// FilterText writes the tag filter for errors: env=prod, team=*.
func (s Selection) FilterText() string {
	var parts []string
	for k, v := range s.Tags {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// Missing returns the IDs of the selection that no resource found has
// as its ID or an alias.
func (s Selection) Missing(found []Resource) []string {
	var missing []string
	for _, id := range s.IDs {
		if !slices.ContainsFunc(found, func(r Resource) bool { return r.ID == id || slices.Contains(r.Aliases, id) }) {
			missing = append(missing, id)
		}
	}
	return missing
}

// SelectionParam declares the `resources` parameter; idDoc says what an
// ID is for the task type.
func SelectionParam(idDoc string) plan.Param {
	return plan.Param{Name: "resources", Type: plan.TypeObject, Required: true,
		Doc: "Which resources to check: `ids` (" + idDoc + ") or `tags` (a tag filter: every tag must match; the value `*` matches any value). " +
			"A filter matching nothing, or an ID not found, is an error: a gate never passes over zero resources.",
		Fields: []plan.Param{
			{Name: "ids", Type: plan.TypeStringList, Doc: idDoc},
			{Name: "tags", Type: plan.TypeStringMap, Doc: "Tag filter: key → value (`*`: any value)."},
		}}
}

// verdict is what gate g says of one resource's value: "passes",
// "at warning" (the pass threshold not met, the warning one met) or
// "fails".
func verdict(g plan.Gate, v float64) string {
	switch {
	case g.Pass.Holds(v):
		return "passes"
	case g.Warning != nil && !g.Warning.Unresolved() && g.Warning.Holds(v):
		return "at warning"
	}
	return "fails"
}
