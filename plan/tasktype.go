package plan

import (
	"sort"
	"strings"
	"time"
)

// TaskType declares what a task type accepts and what it emits. The
// activities registry provides one per task type; validation, defaults and
// the reference in docs/plan.md all come from these declarations.
type TaskType struct {
	Name    string
	Summary string
	Params  []Param
	Metrics []Metric
	// Timeout is the default start-to-close timeout of one attempt.
	Timeout time.Duration
	// Heartbeat is the default heartbeat timeout; zero: no heartbeat.
	Heartbeat time.Duration
	// MaxAttempts is the default number of attempts (0 means 3).
	MaxAttempts int
	// Manual marks a task type that the workflow itself runs by waiting for
	// signals (a checklist), not an activity.
	Manual bool
	// Workflow marks a task type that a child workflow of the same name
	// runs (workflows.taskWorkflows), orchestrating activities of its own:
	// a saga that always tears down what it made, a durable timer.
	Workflow bool
	// Linger, when set, is how much longer than its timeout a task
	// workflow of this type may run, given its validated parameters: work
	// it does after its task is done (a rotated key's predecessor retired
	// after an overlap).
	Linger func(with map[string]any) time.Duration
	// Runs, when set, is how long a task of this type runs at least given
	// its validated parameters (a watch's duration), and the parameter
	// that says so: validation refuses a task whose timeout is shorter,
	// naming both, before the run starts.
	Runs func(with map[string]any) (d time.Duration, param string)
	// AbortOnFail marks a task type that checks the gates written with
	// abortOnFail while it runs, and stops early once one fails. Plans may
	// write abortOnFail only on the gates of such task types.
	AbortOnFail bool
	// Check, when set, checks what the parameter declarations alone cannot
	// (two parameters that exclude each other). It gets a task's validated
	// parameters, defaults filled in, and returns every problem found.
	Check func(with map[string]any) []ParamProblem
}

// ParamProblem is a problem a TaskType.Check found with one parameter; an
// empty Param places it on the task's with.
type ParamProblem struct {
	Param string
	Msg   string
}

// ParamType is the type of a task parameter.
type ParamType string

// Parameter types. Duration and Bytes are written as text with units
// ("30s", "10MiB") and reach activities as that text, already checked.
const (
	TypeString     ParamType = "string"
	TypeInt        ParamType = "int"
	TypeNumber     ParamType = "number"
	TypeBool       ParamType = "bool"
	TypeDuration   ParamType = "duration"
	TypeBytes      ParamType = "bytes"
	TypeStringList ParamType = "list of strings"
	TypeStringMap  ParamType = "map of strings"
	// TypeObjectList is a list of objects whose fields are Param.Fields.
	TypeObjectList ParamType = "list of objects"
	// TypeObject is one object whose fields are Param.Fields.
	TypeObject ParamType = "object"
	// TypeRate is a rate such as "500/s" or "30/m"; a bare number is per
	// second. It reaches activities as its text, already checked.
	TypeRate ParamType = "rate"
)

// Safety names a rule the plan applies to a parameter's value before
// anything runs, whatever the task type: what a task may hit, and how hard.
type Safety string

// Safety rules.
const (
	// SafetyHost: the value (a string) is an absolute http:// or https://
	// URL whose host must be in spec.allowedHosts or in one of the task's
	// SafetyAllowHosts parameters.
	SafetyHost Safety = "host"
	// SafetyHostPort: the value (a string) is a host:port, such as
	// db.example.com:5432 or [::1]:8443, whose host must be allowed the
	// way a SafetyHost URL's is.
	SafetyHostPort Safety = "host-port"
	// SafetyAllowHosts: the value (a list of strings) names hosts this task
	// may reach on top of spec.allowedHosts.
	SafetyAllowHosts Safety = "allow-hosts"
	// SafetyRate: the value (a rate) is at most spec.limits.maxRate.
	SafetyRate Safety = "rate"
	// SafetyConcurrency: the value (an int) is at most
	// spec.limits.maxConcurrency.
	SafetyConcurrency Safety = "concurrency"
	// SafetyShellScript: the value (a list of strings) is shell code when
	// the task's `shell` parameter is true, so it may not hold anything
	// substituted from ${vars.…} (a plan's vars or `--set`): a value would
	// run as code. Vars reach a script as environment variables instead.
	SafetyShellScript Safety = "shell-script"
	// SafetyFile: the value (a string or a list of strings) names files,
	// globs or a directory the worker reads. A worker started with
	// --file-roots reads only below those roots: a plan cannot make a
	// shared worker read /etc/passwd into a report.
	SafetyFile Safety = "file"
)

// Param declares one parameter of a task type.
type Param struct {
	Name     string
	Type     ParamType
	Required bool
	// Default is filled in when the plan leaves the parameter out; nil: none.
	Default any
	// Enum, when set, lists the only values a string parameter may take.
	Enum []string
	// Fields declares the fields of TypeObject and TypeObjectList values.
	Fields []Param
	// Safety, when set, is a rule the plan checks the value against.
	Safety Safety
	Doc    string
}

// Unit is the base unit of a metric. Every metric value is a number in its
// base unit: seconds, bytes, a ratio from 0 to 1, or a plain count.
type Unit string

// Units of metrics, and what a threshold on them may be written with.
const (
	UnitSeconds Unit = "seconds" // thresholds: 200ms, 1.5s, 2m
	UnitBytes   Unit = "bytes"   // thresholds: 512KB, 10MiB, 1GB
	UnitRatio   Unit = "ratio"   // thresholds: 80%, or a bare 80 meaning 80 %
	UnitCount   Unit = "count"   // thresholds: bare numbers
	// UnitAny is for metrics whose unit only the emitter knows (a command's
	// own metrics): thresholds may use any unit and compare in base units.
	UnitAny Unit = "any"
)

// Metric declares a metric a task type emits. A name may end in a
// placeholder segment such as "http.status.<code>" or be "<name>" alone,
// which matches any metric name of that shape.
type Metric struct {
	Name string
	Unit Unit
	Doc  string
}

// Matches reports whether a concrete metric name fits the declaration.
func (m Metric) Matches(name string) bool {
	if !strings.Contains(m.Name, "<") {
		return m.Name == name
	}
	decl := strings.Split(m.Name, ".")
	got := strings.Split(name, ".")
	last := decl[len(decl)-1]
	// A trailing placeholder after a fixed prefix matches one or more segments.
	if len(decl) == 1 && isPlaceholder(last) {
		return name != ""
	}
	if len(got) < len(decl) {
		return false
	}
	for i, seg := range decl {
		if isPlaceholder(seg) {
			if i == len(decl)-1 {
				return true
			}
			continue
		}
		if got[i] != seg {
			return false
		}
	}
	return len(got) == len(decl)
}

func isPlaceholder(seg string) bool {
	return strings.HasPrefix(seg, "<") && strings.HasSuffix(seg, ">")
}

// Metric returns the declaration matching name: an exact name wins over a
// pattern.
func (t TaskType) Metric(name string) (Metric, bool) {
	for _, m := range t.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	for _, m := range t.Metrics {
		if m.Matches(name) {
			return m, true
		}
	}
	return Metric{}, false
}

// Param returns the declaration of the parameter called name.
func (t TaskType) Param(name string) (Param, bool) {
	for _, p := range t.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Catalog is the set of task types a plan may use, keyed by name.
type Catalog map[string]TaskType

// NewCatalog indexes task types by name.
func NewCatalog(types ...TaskType) Catalog {
	c := make(Catalog, len(types))
	for _, t := range types {
		c[t.Name] = t
	}
	return c
}

// Names returns the task type names in order.
func (c Catalog) Names() []string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
