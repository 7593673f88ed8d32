package plan

import "fmt"

// BaselineUse is where a gate's relative threshold took its baseline
// from, as a report shows it: the run, the metric's value there and the
// pass threshold it made; or, with Missing, why there was none.
type BaselineUse struct {
	Run   string   `json:"run,omitempty"`
	Value *float64 `json:"value,omitempty"`
	// Pass is the pass threshold's value against the baseline.
	Pass    *float64 `json:"pass,omitempty"`
	Missing string   `json:"missing,omitempty"`
}

// NoBaseline reports whether g is a relative gate that had no baseline:
// skipped, and left out of the score.
func (g GateResult) NoBaseline() bool {
	return g.Status == StatusSkipped && g.Baseline != nil && g.Baseline.Missing != ""
}

// Position is a place in a plan file.
type Position struct {
	Line   int `json:"-"`
	Column int `json:"-"`
}

// Relative reports whether the gate has a threshold relative to a
// baseline.
func (g Gate) Relative() bool {
	return g.Pass.Baseline != nil || (g.Warning != nil && g.Warning.Baseline != nil)
}

// BaselineRuns is where baselines are looked up: the run history.
type BaselineRuns interface {
	// LastPassing returns the plan's newest run whose result is pass,
	// or nil when it has none.
	LastPassing(plan string) (*RunResult, error)
	// Get returns a run of the plan by its ID.
	Get(plan, runID string) (*RunResult, error)
}

// noBaselineYet is the reason a relative gate is skipped when the plan
// has never passed.
const noBaselineYet = "no baseline: plan %s has no passing run yet (the first run that passes becomes the baseline)"

// ResolveBaselines gives every relative threshold of p its baseline: the
// same metric of the same phase and task in the run the gate names
// (gates[].baseline), else the run the plan names (spec.baseline), else
// the plan's last passing run. It runs before the run starts (the
// starter does it), so the baselines travel in the workflow's input and
// workflow code never looks anything up.
//
// With no run named and no passing run (or one without the metric), the
// threshold is marked as having no baseline: EvaluateGates skips the
// gate, and the score leaves it out, so a plan's first run can pass and
// become the baseline. A named run that is not in the history, or that
// lacks the metric, is an error in the plan: Errors, located at the gate.
func ResolveBaselines(p *Plan, src BaselineRuns) error {
	var errs Errors
	var last *RunResult
	lastLooked := false
	named := map[string]*RunResult{}
	for i := range p.Spec.Phases {
		ph := &p.Spec.Phases[i]
		for j := range ph.Tasks {
			t := &ph.Tasks[j]
			for k := range t.Gates {
				g := &t.Gates[k]
				if !g.Relative() {
					continue
				}
				path := fmt.Sprintf("phases[%d].tasks[%d].gates[%d]", i, j, k)
				runID, at, field := g.BaselineRun, g.Pos, path+".baseline"
				if runID == "" && p.Spec.Baseline != "" {
					runID, at, field = p.Spec.Baseline, p.Spec.BaselineAt, "baseline"
				}
				var base *RunResult
				switch {
				case runID != "":
					r, ok := named[runID]
					if !ok {
						var err error
						if r, err = src.Get(p.Metadata.Name, runID); err != nil {
							errs = append(errs, FieldError{File: p.Source, Line: at.Line, Column: at.Column, Path: field,
								Msg: fmt.Sprintf("baseline run %s of plan %s: %v", runID, p.Metadata.Name, err)})
							named[runID] = nil
							continue
						}
						named[runID] = r
					}
					if r == nil {
						continue // reported once above
					}
					base = r
				default:
					if !lastLooked {
						lastLooked = true
						r, err := src.LastPassing(p.Metadata.Name)
						if err != nil {
							return fmt.Errorf("look up the baseline of plan %s: %w", p.Metadata.Name, err)
						}
						last = r
					}
					base = last
				}
				if base == nil {
					g.setMissing(fmt.Sprintf(noBaselineYet, p.Metadata.Name))
					continue
				}
				v, ok := base.metric(ph.Name, t.Name, g.Metric)
				if !ok {
					msg := fmt.Sprintf("baseline run %s has no metric %s of %s/%s", base.RunID, g.Metric, ph.Name, t.Name)
					if runID != "" {
						errs = append(errs, FieldError{File: p.Source, Line: at.Line, Column: at.Column, Path: field, Msg: msg})
						continue
					}
					g.setMissing("no baseline: the last passing run " + msg[len("baseline run "):])
					continue
				}
				g.Pass = g.Pass.Resolve(v, base.RunID)
				if g.Warning != nil {
					w := g.Warning.Resolve(v, base.RunID)
					g.Warning = &w
				}
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (g *Gate) setMissing(why string) {
	g.Pass = g.Pass.WithoutBaseline(why)
	if g.Warning != nil {
		w := g.Warning.WithoutBaseline(why)
		g.Warning = &w
	}
}

// metric returns a task's metric in r.
func (r *RunResult) metric(phase, task, metric string) (float64, bool) {
	t := r.Task(phase, task)
	if t == nil {
		return 0, false
	}
	v, ok := t.Metrics[metric]
	return v, ok
}

// MissingBaseline says why a relative gate has no baseline (it will be
// skipped and left out of the score), or "" when it has all it needs.
func (g Gate) MissingBaseline() string { return g.missingBaseline() }

// missingBaseline says why a gate has no baseline, or "" when it has all
// it needs.
func (g Gate) missingBaseline() string {
	for _, th := range []*Threshold{&g.Pass, g.Warning} {
		if th == nil || !th.Unresolved() {
			continue
		}
		if th.Baseline.Missing != "" {
			return th.Baseline.Missing
		}
		return "no baseline: the run started without its baselines resolved (starter run resolves them from the run history)"
	}
	return ""
}

// baselineUse is what a gate's result says of its baseline.
func (g Gate) baselineUse() *BaselineUse {
	if !g.Relative() {
		return nil
	}
	if why := g.missingBaseline(); why != "" {
		return &BaselineUse{Missing: why}
	}
	th := g.Pass
	if th.Baseline == nil {
		th = *g.Warning
	}
	u := &BaselineUse{Run: th.Baseline.Run, Value: th.Baseline.Value}
	if g.Pass.Baseline != nil {
		v := g.Pass.Value
		u.Pass = &v
	}
	return u
}
