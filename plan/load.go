package plan

import (
	"fmt"
	"os"
	"strings"
)

// FieldError is one problem with a plan, located in its file.
type FieldError struct {
	File   string
	Line   int
	Column int
	// Path is the field path below spec (phases[1].tasks[0].gates[0].pass)
	// or from the document root for other fields (metadata.name).
	Path string
	Msg  string
	// Via is the chain of includes and template uses that brought the
	// problem's node into the plan ("included from plan.yaml:5:5"), empty
	// for the plan's own file.
	Via string
}

func (e FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Via != "" {
		b.WriteString(" (")
		b.WriteString(e.Via)
		b.WriteString(")")
	}
	return b.String()
}

// Errors is every problem found in a plan, in file order.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads, validates and resolves the plan in file. Overrides set vars
// ("x" → value, from --set vars.x=value) before they are resolved. An
// invalid plan returns Errors.
func Load(file string, catalog Catalog, overrides map[string]string) (*Plan, error) {
	return LoadWith(file, catalog, overrides, Options{})
}

// Options are what the caller, not the plan, decides about loading it.
type Options struct {
	// IncludeRoots are directories that spec.include may read from,
	// besides the directory tree of the plan file itself.
	IncludeRoots []string
	// Conditions checks when expressions; a plan that has one cannot be
	// loaded without it. plan/when provides it.
	Conditions Conditions
}

// LoadWith is Load with options.
func LoadWith(file string, catalog Catalog, overrides map[string]string, opts Options) (*Plan, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	return ParseWith(file, data, catalog, overrides, opts)
}
