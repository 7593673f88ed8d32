// Package when compiles, checks and evaluates the when conditions of
// plans: CEL expressions (https://cel.dev) over the plan's vars and the
// results of what ran before. CEL is side-effect free and always
// terminates, so a workflow can evaluate a condition and get the same
// answer on every replay.
package when

import (
	"fmt"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"

	"github.com/shipshape-dev/shipshape/plan"
)

// Conditions is the plan.Conditions that plan.LoadWith uses to check
// when expressions.
type Conditions struct{}

var _ plan.Conditions = Conditions{}

// Check compiles expr and returns the names it uses, or why it is not a
// condition.
func (Conditions) Check(expr string) ([]plan.ConditionRef, []string) {
	env, err := whenEnv()
	if err != nil {
		return nil, []string{err.Error()}
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		var problems []string
		for _, e := range iss.Errors() {
			problems = append(problems, fmt.Sprintf("does not compile: %s (at character %d of %q)", e.Message, e.Location.Column()+1, expr))
		}
		return nil, problems
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, []string{fmt.Sprintf("must be true or false, but %q is %s", expr, t)}
	}
	var refs []plan.ConditionRef
	walkRefs(ast.NativeRep().Expr(), func(kind, name string) {
		refs = append(refs, plan.ConditionRef{Kind: kind, Name: name})
	})
	return refs, nil
}

// whenEnv declares what a when may use.
func whenEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("vars", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("phases", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("tasks", cel.MapType(cel.StringType, cel.DynType)),
	)
}

// Eval evaluates a when expression. The plan has checked it; an
// error here is a result it cannot be evaluated on (a metric the task did
// not report).
func Eval(expr string, scope plan.WhenScope) (bool, error) {
	env, err := whenEnv()
	if err != nil {
		return false, err
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return false, iss.Err()
	}
	prg, err := env.Program(ast)
	if err != nil {
		return false, err
	}
	vars := map[string]string{}
	for k, v := range scope.Vars {
		vars[k] = v
	}
	phases := map[string]any{}
	for _, p := range scope.Phases {
		tasks := map[string]any{}
		for _, t := range p.Tasks {
			tasks[t.Name] = taskValue(t)
		}
		phases[p.Name] = map[string]any{"status": string(p.Status), "tasks": tasks}
	}
	tasks := map[string]any{}
	for _, t := range scope.Tasks {
		tasks[t.Name] = taskValue(t)
	}
	out, _, err := prg.Eval(map[string]any{"vars": vars, "phases": phases, "tasks": tasks})
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("when is %s, not true or false", out.Type().TypeName())
	}
	return bool(b), nil
}

func taskValue(t plan.TaskResult) map[string]any {
	metrics := map[string]float64{}
	for k, v := range t.Metrics {
		metrics[k] = v
	}
	return map[string]any{"status": string(t.Status), "metrics": metrics, "error": t.Error}
}

// walkRefs calls ref for each vars.NAME, phases.NAME and tasks.NAME (or
// [NAME]) in e; kind "dynamic" marks an index that is not a constant.
func walkRefs(e celast.Expr, ref func(kind, name string)) {
	if e == nil {
		return
	}
	root := func(x celast.Expr) string {
		if x.Kind() == celast.IdentKind {
			switch id := x.AsIdent(); id {
			case "vars", "phases", "tasks":
				return id
			}
		}
		return ""
	}
	switch e.Kind() {
	case celast.SelectKind:
		s := e.AsSelect()
		if k := root(s.Operand()); k != "" {
			ref(k, s.FieldName())
		}
		walkRefs(s.Operand(), ref)
	case celast.CallKind:
		c := e.AsCall()
		args := c.Args()
		if c.FunctionName() == "_[_]" && len(args) == 2 {
			if k := root(args[0]); k != "" {
				if args[1].Kind() == celast.LiteralKind {
					if s, ok := args[1].AsLiteral().(types.String); ok {
						ref(k, string(s))
					}
				} else {
					ref("dynamic", k)
				}
			}
		}
		if c.IsMemberFunction() {
			walkRefs(c.Target(), ref)
		}
		for _, a := range args {
			walkRefs(a, ref)
		}
	case celast.ListKind:
		for _, x := range e.AsList().Elements() {
			walkRefs(x, ref)
		}
	case celast.MapKind:
		for _, en := range e.AsMap().Entries() {
			m := en.AsMapEntry()
			walkRefs(m.Key(), ref)
			walkRefs(m.Value(), ref)
		}
	case celast.ComprehensionKind:
		c := e.AsComprehension()
		for _, x := range []celast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
			walkRefs(x, ref)
		}
	}
}
