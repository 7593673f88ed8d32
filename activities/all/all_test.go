package all_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/plan/when"
)

// Every task type is declared the same way: a summary, a timeout, a doc
// for every parameter and metric, defaults that fit their types, metrics
// in base units.
func TestDeclarations(t *testing.T) {
	catalog := all.Catalog()
	for _, name := range catalog.Names() {
		t.Run(name, func(t *testing.T) {
			decl, ok := catalog[name]
			if !ok {
				t.Fatalf("%s is not in the registry", name)
			}
			if decl.Summary == "" || decl.Timeout <= 0 {
				t.Errorf("declaration incomplete: summary %q, timeout %s, manual %v", decl.Summary, decl.Timeout, decl.Manual)
			}
			for _, p := range decl.Params {
				if p.Doc == "" {
					t.Errorf("parameter %s has no doc", p.Name)
				}
				if p.Default == nil {
					continue
				}
				if p.Required {
					t.Errorf("parameter %s is required and has a default", p.Name)
				}
				if err := defaultFits(p); err != nil {
					t.Errorf("parameter %s: default %v: %v", p.Name, p.Default, err)
				}
			}
			for _, m := range decl.Metrics {
				switch m.Unit {
				case plan.UnitSeconds, plan.UnitBytes, plan.UnitRatio, plan.UnitCount, plan.UnitAny:
				default:
					t.Errorf("metric %s has unit %q", m.Name, m.Unit)
				}
				if m.Doc == "" {
					t.Errorf("metric %s has no doc", m.Name)
				}
			}
		})
	}
}

// defaultFits checks a default against its parameter's declared type.
func defaultFits(p plan.Param) error {
	switch p.Type {
	case plan.TypeString:
		s, ok := p.Default.(string)
		if !ok {
			return fmt.Errorf("not a string")
		}
		if p.Enum != nil && !slices.Contains(p.Enum, s) {
			return fmt.Errorf("not one of %v", p.Enum)
		}
	case plan.TypeDuration:
		s, ok := p.Default.(string)
		if _, err := time.ParseDuration(s); !ok || err != nil {
			return fmt.Errorf("not a duration text")
		}
	case plan.TypeBool:
		if _, ok := p.Default.(bool); !ok {
			return fmt.Errorf("not a bool")
		}
	case plan.TypeInt:
		if _, ok := p.Default.(int); !ok {
			return fmt.Errorf("not an int")
		}
	case plan.TypeNumber:
		switch p.Default.(type) {
		case int, float64:
		default:
			return fmt.Errorf("not a number")
		}
	case plan.TypeBytes:
		s, ok := p.Default.(string)
		if _, err := plan.ParseBytes(s); !ok || err != nil {
			return fmt.Errorf("not a size text")
		}
	case plan.TypeRate:
		s, ok := p.Default.(string)
		if _, err := plan.ParseRate(s); !ok || err != nil {
			return fmt.Errorf("not a rate text")
		}
	default:
		return fmt.Errorf("no default expected for a %s", p.Type)
	}
	return nil
}

// Every example plan loads, and every task type has a runnable example
// under examples/plans/ that uses it.
func TestExamplePlansLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "plans", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example plans: %v", err)
	}
	// The programme plans too; their baseline is a fragment, only ever
	// included.
	programmes, _ := filepath.Glob(filepath.Join("..", "..", "examples", "programmes", "*.yaml"))
	for _, f := range programmes {
		if filepath.Base(f) != "baseline.yaml" {
			files = append(files, f)
		}
	}
	used := map[string]bool{}
	for _, file := range files {
		name, _ := filepath.Rel(filepath.Join("..", "..", "examples"), file)
		t.Run(name, func(t *testing.T) {
			p, err := plan.LoadWith(file, all.Catalog(), nil, plan.Options{Conditions: when.Conditions{}})
			if err != nil {
				t.Fatalf("load %s: %v", file, err)
			}
			for _, ph := range p.Spec.Phases {
				for _, task := range ph.Tasks {
					used[task.Uses] = true
				}
			}
		})
	}
	for _, name := range all.Catalog().Names() {
		if !used[name] {
			t.Errorf("no example plan uses task type %s", name)
		}
	}
}
