package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// fieldDoc documents one field of the plan document. Default and Doc are
// Markdown.
type fieldDoc struct {
	Name     string
	Type     string
	Required bool
	Default  string
	Doc      string
}

// objectDoc documents one object of the plan document. Path is where the
// object sits in the document ("" for the document itself). The decoder
// allows exactly these fields in each object, so the reference and the
// validation cannot drift apart.
type objectDoc struct {
	Path   string
	Doc    string
	Fields []fieldDoc
}

var documentDocs = []objectDoc{
	{
		Path: "",
		Doc:  "A plan is one YAML document with four fields.",
		Fields: []fieldDoc{
			{Name: "apiVersion", Type: "string", Required: true, Doc: "Always `" + APIVersion + "`."},
			{Name: "kind", Type: "string", Required: true, Doc: "Always `" + Kind + "`."},
			{Name: "metadata", Type: "object", Required: true, Doc: "Names the plan."},
			{Name: "spec", Type: "object", Required: true, Doc: "What the plan runs and how it scores."},
		},
	},
	{
		Path: "metadata",
		Fields: []fieldDoc{
			{Name: "name", Type: "string", Required: true, Doc: "The plan's name. It is part of workflow IDs and event subjects, so: " + nameRule + "."},
			{Name: "labels", Type: string(TypeStringMap), Doc: "Labels carried into the run's result and events (team, service, environment…)."},
		},
	},
	{
		Path: "spec",
		Doc:  "Field paths in error messages start below spec: `phases[1].tasks[0].gates[0].pass`.",
		Fields: []fieldDoc{
			{Name: "vars", Type: string(TypeStringMap), Doc: "Values to use as `${vars.NAME}` in any string under `phases`; see [Variables](#variables)."},
			{Name: "include", Type: "list of files or objects", Doc: "Other plans or plan fragments whose phases, templates and allowed hosts this plan adds to its own; see [Includes](#includes)."},
			{Name: "templates", Type: string(TypeObjectList), Doc: "Named tasks and phases with parameters, used as `uses: template:NAME`; see [Templates](#templates)."},
			{Name: "scoring", Type: "object", Doc: "The scores a run needs to pass or to earn a warning."},
			{Name: "concurrency", Type: string(TypeInt), Default: code(strconv.Itoa(defaultConcurrency)), Doc: "How many tasks of one phase run at once; at least 1."},
			{Name: "allowedHosts", Type: string(TypeStringList), Doc: "The hosts that load may be sent to; see [Load safety](#load-safety). Each is a host name or address (`api.example.com`, `127.0.0.1`), which allows every port, a `host:port`, or `*.example.com` for every subdomain."},
			{Name: "limits", Type: "object", Doc: "Caps on the load any task of the plan may ask for; see [Load safety](#load-safety)."},
			{Name: "baseline", Type: "string", Doc: "A run ID: the run that relative thresholds (`<= baseline * 1.1`) compare with when their gate names none. Unset: the plan's last passing run. See [Relative thresholds](#relative-thresholds)."},
			{Name: "schedule", Type: "object", Doc: "When the plan runs on its own: `starter schedule create NAME --plan FILE` makes a Temporal Schedule from it ([Schedules](schedules.md)). Running the plan with `starter run` ignores it."},
			{Name: "onFailure", Type: "object", Doc: "A phase that runs only when the run fails (a failed verdict; not a warning, not a cancelled run), after every other phase has ended: notify, open a ticket, roll back. It shows in the report as the last phase. Its tasks may need each other but have no gates and no when: they cannot change the verdict. An included file's counts only when the including plan has none."},
			{Name: "phases", Type: string(TypeObjectList), Required: true, Doc: "The phases, at least one. A phase starts when every phase it needs has finished, so phases without needs between them run at the same time. The whole plan, vars resolved, may be at most 1.5 MiB as JSON, the form a run receives it in."},
		},
	},
	{
		Path: "spec.include[]",
		Doc:  "An include is a file name (`baseline/security.yaml`) or this object.",
		Fields: []fieldDoc{
			{Name: "file", Type: "string", Required: true, Doc: "The file, relative to the including file's directory."},
			{Name: "vars", Type: string(TypeStringMap), Doc: "Values for the vars the included file declares; they may use `${vars.NAME}` of the including file."},
		},
	},
	{
		Path: "spec.templates[]",
		Doc:  "A template is a task or a phase, without its name, with parameters.",
		Fields: []fieldDoc{
			{Name: "name", Type: "string", Required: true, Doc: "Unique among the templates, included ones too; the same rule as metadata.name."},
			{Name: "params", Type: "mapping", Doc: "The parameters and their defaults: `{url: ~, p95: \"< 300ms\"}`. A parameter whose default is null must be given by each use."},
			{Name: "task", Type: "object", Doc: "A task (`uses`, `with`, `gates`…), where `${params.NAME}` stands for a parameter."},
			{Name: "phase", Type: "object", Doc: "A phase (`tasks` or `approval`, `needs`…), where `${params.NAME}` stands for a parameter."},
		},
	},
	{
		Path: "spec.onFailure",
		Doc:  "A phase of tasks that runs when the run fails.",
		Fields: []fieldDoc{
			{Name: "name", Type: "string", Required: true, Doc: "Unique among the phases; the same rule as metadata.name."},
			{Name: "tasks", Type: string(TypeObjectList), Required: true, Doc: "The tasks, as in a phase, without gates or when."},
		},
	},
	{
		Path: "spec.scoring",
		Fields: []fieldDoc{
			{Name: "pass", Type: string(TypeNumber), Default: code(strconv.Itoa(defaultPassScore)), Doc: "A score at or above this passes the run; 0 to 100."},
			{Name: "warning", Type: string(TypeNumber), Default: code(strconv.Itoa(defaultWarningScore)), Doc: "A score at or above this but below pass is a warning, below it a failure; 0 to 100 and not above pass."},
		},
	},
	{
		Path: "spec.limits",
		Fields: []fieldDoc{
			{Name: "maxRate", Type: string(TypeRate), Doc: "The highest request rate a task may ask for (`1000/s`); more is an invalid plan. Unset: no cap."},
			{Name: "maxConcurrency", Type: string(TypeInt), Doc: "The most concurrent requests (users of a closed-model load test) a task may ask for; at least 1. Unset: no cap."},
		},
	},
	{
		Path: "spec.schedule",
		Fields: []fieldDoc{
			{Name: "cron", Type: "string or list of strings", Doc: "Cron expressions, five fields (minute hour day-of-month month day-of-week; `*`, numbers, `a-b`, `a,b`, `/step`, month and weekday names) or a macro (`@daily`, `@weekly`, `@monthly`, `@yearly`, `@hourly`). `0 6 1 1,4,7,10 *` is 06:00 on the first day of each quarter."},
			{Name: "every", Type: string(TypeDuration), Doc: "Start a run at this interval (at least `1m`), instead of or as well as cron: `720h` is every 30 days."},
			{Name: "timezone", Type: "string", Doc: "IANA time zone the cron expressions are read in (`Europe/Berlin`); UTC when unset."},
			{Name: "jitter", Type: string(TypeDuration), Doc: "Delay each start by a random time up to this, so that many schedules do not start at once."},
		},
	},
	{
		Path: "spec.phases[]",
		Doc:  "A phase has either tasks or an approval.",
		Fields: []fieldDoc{
			{Name: "name", Type: "string", Required: true, Doc: "Unique among the phases; the same rule as metadata.name."},
			{Name: "needs", Type: string(TypeStringList), Doc: "Names of the phases that must finish first. They may not form a cycle. A need that names a phase with a matrix needs all its copies."},
			{Name: "uses", Type: "string", Doc: "`template:NAME`: the phase is the phase template NAME; its own fields (name, needs, matrix…) replace the template's. See [Templates](#templates)."},
			{Name: "with", Type: "mapping", Doc: "The parameters of the phase template that `uses` names."},
			{Name: "matrix", Type: "list", Doc: "Run the phase once per value; see [Matrices](#matrices)."},
			{Name: "when", Type: "string", Doc: "A condition: the phase runs only when it is true, and is skipped (not run) otherwise; see [Conditions](#conditions)."},
			{Name: "tasks", Type: string(TypeObjectList), Doc: "The tasks of the phase, run in parallel (up to `concurrency` at once); at most 5000."},
			{Name: "approval", Type: "object", Doc: "Makes the phase wait for an approve or reject decision instead of running tasks. `approval: {}` takes the defaults."},
		},
	},
	{
		Path: "spec.phases[].approval",
		Fields: []fieldDoc{
			{Name: "required", Type: string(TypeBool), Default: code("true"), Doc: "Whether the run waits for a decision; false approves the phase without waiting."},
			{Name: "timeout", Type: string(TypeDuration), Default: code(formatDuration(defaultApprovalTimeout)), Doc: "How long to wait for a decision; no decision in time is a rejection."},
			{Name: "approvers", Type: string(TypeStringList), Doc: "Who may decide (the names sent as `--by` or by the chat bot as `approver`). A decision by anyone else is refused and reported as an `approval.refused` event; the phase keeps waiting. Unset: anyone who may signal the run."},
		},
	},
	{
		Path: "spec.phases[].tasks[]",
		Fields: []fieldDoc{
			{Name: "name", Type: "string", Required: true, Doc: "Unique within the phase; the same rule as metadata.name."},
			{Name: "uses", Type: "string", Required: true, Doc: "The task type; see [Task types](#task-types). Or `template:NAME`, a task template: its own fields (name, gates, matrix…) replace the template's; see [Templates](#templates)."},
			{Name: "with", Type: "mapping", Doc: "The task type's parameters. They are checked against its declaration and its defaults are filled in. With a template: the template's parameters."},
			{Name: "matrix", Type: "list", Doc: "Run the task once per value; see [Matrices](#matrices)."},
			{Name: "when", Type: "string", Doc: "A condition: the task runs only when it is true, and is skipped (not run) otherwise; see [Conditions](#conditions)."},
			{Name: "needs", Type: string(TypeStringList), Doc: "Names of tasks of the same phase that must finish first: the task starts when they have, and is skipped (its gates not run) when one of them blocks it (it ended error, cancelled or skipped, or a key gate of it failed). They may not form a cycle; a need that names a task with a matrix needs all its copies."},
			{Name: "timeout", Type: string(TypeDuration), Default: "the task type's, else " + code(formatDuration(defaultTimeout)), Doc: "How long one attempt may take."},
			{Name: "heartbeat", Type: string(TypeDuration), Default: "the task type's", Doc: "How long a running attempt may go without a heartbeat before it counts as lost; `0s` turns heartbeats off."},
			{Name: "retry", Type: "object", Doc: "How a failed attempt is retried."},
			{Name: "gates", Type: string(TypeObjectList), Doc: "Thresholds on the metrics the task reports; together they make up the score."},
		},
	},
	{
		Path: "spec.phases[].tasks[].retry",
		Fields: []fieldDoc{
			{Name: "maxAttempts", Type: string(TypeInt), Default: "the task type's, else " + code(strconv.Itoa(defaultMaxAttempts)), Doc: "Attempts in all, the first one included; at least 1."},
			{Name: "initialInterval", Type: string(TypeDuration), Default: code(formatDuration(defaultInitialInterval)), Doc: "The wait before the first retry."},
			{Name: "maxInterval", Type: string(TypeDuration), Default: code(formatDuration(defaultMaxInterval)), Doc: "The longest wait between attempts; not shorter than initialInterval."},
			{Name: "backoff", Type: string(TypeNumber), Default: code(strconv.Itoa(defaultBackoff)), Doc: "Each wait is the previous one times this, up to maxInterval; at least 1."},
		},
	},
	{
		Path: "spec.phases[].tasks[].gates[]",
		Fields: []fieldDoc{
			{Name: "metric", Type: "string", Required: true, Doc: "A metric the task type declares (see its metrics table). A `<placeholder>` in a declared name stands for any name: `http.status.<code>` declares `http.status.200`."},
			{Name: "pass", Type: "threshold", Required: true, Doc: "The gate passes when the metric meets this; see [Thresholds](#thresholds)."},
			{Name: "warning", Type: "threshold", Doc: "A looser threshold: a metric that misses pass but meets this is a warning."},
			{Name: "weight", Type: string(TypeNumber), Default: code("1"), Doc: "The gate's share of the score; more than 0 and at most 1000."},
			{Name: "key", Type: string(TypeBool), Default: code("false"), Doc: "A key gate that fails fails the run, whatever its score."},
			{Name: "baseline", Type: "string", Doc: "A run ID: the run this gate's relative threshold compares with, instead of spec.baseline or the last passing run. Only with a relative pass or warning."},
			{Name: "abortOnFail", Type: string(TypeBool), Default: code("false"), Doc: "Stop the task early once this gate fails on the results so far, as k6's abortOnFail does: checked every second, from the first second with 20 results. Only for task types that measure as they go (their section says so)."},
		},
	},
}

// documentedFields returns the names of the fields allowed in the object
// at path, in documentation order.
func documentedFields(path string) []string {
	for _, o := range documentDocs {
		if o.Path == path {
			names := make([]string, len(o.Fields))
			for i, f := range o.Fields {
				names[i] = f.Name
			}
			return names
		}
	}
	return nil
}

// paramTypeDocs says how each parameter type is written.
var paramTypeDocs = []struct {
	Type ParamType
	Doc  string
}{
	{TypeString, "Any scalar, taken as written: `version: 1.10` is the string `1.10`."},
	{TypeInt, "A whole number: `200`."},
	{TypeNumber, "A number: `0.5`, `3`."},
	{TypeBool, "`true` or `false`."},
	{TypeDuration, "A number with a unit (" + durationUnitList + "), or several: `500ms`, `30s`, `1h30m`."},
	{TypeBytes, "A size: a bare number of bytes or a number with a unit (" + byteUnitList + "): `512KB`, `10MiB`."},
	{TypeStringList, "A YAML list, even of one item: `[coverage.out]`."},
	{TypeStringMap, "A mapping of names to strings: `{Accept: application/json}`."},
	{TypeObject, "A mapping of the fields listed under the parameter as `param.field`."},
	{TypeObjectList, "A list of mappings of the fields listed under the parameter as `param[].field`."},
	{TypeRate, "A number per unit of time: `500/s`, `30/m`, `10/100ms`; a bare number is per second (`0`)."},
}

// safetyDocs is what the reference says of a parameter with a Safety rule.
var safetyDocs = map[Safety]string{
	SafetyHost:        "*Host must be allowed* ([Load safety](#load-safety)).",
	SafetyHostPort:    "*Host must be allowed* ([Load safety](#load-safety)).",
	SafetyAllowHosts:  "*Allow-list* of this task, added to `spec.allowedHosts` ([Load safety](#load-safety)).",
	SafetyRate:        "*At most spec.limits.maxRate* ([Load safety](#load-safety)).",
	SafetyConcurrency: "*At most spec.limits.maxConcurrency* ([Load safety](#load-safety)).",
	SafetyShellScript: "*No `${vars.…}` in a shell script* ([Load safety](#load-safety)).",
	SafetyFile:        "*Below the worker's --file-roots*, when it has any ([Load safety](#load-safety)).",
}

// operatorDocs lists the comparison operators a threshold starts with.
var operatorDocs = []struct{ Op, Doc string }{
	{"<", "less than"},
	{"<=", "at most"},
	{">", "more than"},
	{">=", "at least"},
	{"==", "equal to"},
	{"!=", "not equal to"},
}

// unitDocs says how thresholds are written for metrics of each unit.
var unitDocs = []struct {
	Unit     Unit
	Write    string
	Examples []string
}{
	{UnitSeconds, "a number with a duration unit (" + durationUnitList + "); the unit is required", []string{"< 200ms", "<= 1.5s", "< 2m"}},
	{UnitBytes, "a number of bytes, bare or with a unit (" + byteUnitList + ")", []string{"<= 512KB", "< 10MiB", "< 1000000"}},
	{UnitRatio, "a percentage: `80%` and a bare `80` both mean 80 %", []string{">= 80%", ">= 99.5"}},
	{UnitCount, "a bare number", []string{"== 0", ">= 3"}},
	{UnitAny, "a bare number, a percentage, or a number with any duration or byte unit, compared in base units", []string{"< 2s", ">= 50%", "== 0"}},
}

// Reference returns the plan reference (docs/plan.md) in Markdown: the
// document's fields, variables, thresholds, scoring, and every task type
// of c with its parameters and metrics. It is generated from the
// declarations alone, so the same catalog always gives the same text.
func Reference(c Catalog) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Readiness plan reference\n\n")
	p("<!-- Generated by plan.Reference from the plan package and the task type registry. Do not edit. -->\n\n")
	p("A readiness plan is a YAML file that says what to check before a release, in which order, and how the results score. ")
	p("Shipshape checks a plan against this reference before it runs anything, and reports every problem at once, each with its line, column and field path.\n\n")

	p("## Document\n\n")
	p("Unknown fields are errors. A field written as null (`timeout:` or `timeout: ~`) counts as left out.\n\n")
	for _, o := range documentDocs {
		title := "Top level"
		if o.Path != "" {
			title = "`" + o.Path + "`"
		}
		p("### %s\n\n", title)
		if o.Doc != "" {
			p("%s\n\n", o.Doc)
		}
		p("| Field | Type | Required | Default | Description |\n|---|---|---|---|---|\n")
		for _, f := range o.Fields {
			p("| `%s` | %s | %s | %s | %s |\n", f.Name, cell(f.Type), yesNo(f.Required), cell(f.Default), cell(f.Doc))
		}
		p("\n")
	}

	p("## Variables\n\n")
	p("`spec.vars` declares values by name. `${vars.NAME}` in any string under `spec.phases` (task parameters at any depth, thresholds, durations) is replaced by the value before the plan is checked, ")
	p("so `expectStatus: \"${vars.code}\"` with `code: \"200\"` is the int 200.\n\n")
	p("- `starter --set vars.NAME=value` replaces a declared var; setting a var the plan does not declare is an error.\n")
	p("- A reference to a var that is not declared is an error, as is any other `${…}`.\n")
	p("- `$${` stands for a literal `${`, as in `run: echo $${HOME}`.\n")
	p("- Vars may not refer to other vars. Var names are letters, digits, `_` and `-`, starting with a letter or `_`.\n\n")

	p("## Includes\n\n")
	p("`spec.include` lists files whose specs this plan adds to its own, so that a company baseline (policy gates every service must meet) is written once and a service plan is a few lines:\n\n")
	p("```yaml\nspec:\n  vars: {url: \"https://api.example.com\"}\n  include:\n    - file: baseline/web-service.yaml\n      vars: {url: \"${vars.url}\", coverage: \"80%%\"}\n```\n\n")
	p("- An included file is a whole plan (`kind: %s`, its metadata ignored) or a fragment (`kind: %s`, no metadata); its `spec` has the fields of a plan's, none required.\n", Kind, FragmentKind)
	p("- Its phases, templates and allowedHosts come before the including file's own; its scoring, concurrency, limits, schedule and onFailure count only where the including file leaves them out (the first include that sets one wins). Names must stay unique across all files.\n")
	p("- Vars are per file: `${vars.NAME}` in an included file means its own `spec.vars`, whose values are defaults that the include's `vars` replace; a var declared without a value (`url: ~`) must be passed. `--set` sets the plan's own vars only: pass them on as `vars: {url: \"${vars.url}\"}`.\n")
	p("- Includes nest (at most %d deep, %d files in all); a file that includes itself, directly or through others, is an error naming the chain.\n", maxIncludeDepth, maxIncludeFiles)
	p("- Paths are relative to the including file, and must stay within the plan's own directory tree (the directory of the file given to `starter`), or a directory the operator allows with `SHIPSHAPE_INCLUDE_ROOTS` (a list of directories, separated like PATH): a plan cannot include `/etc/passwd` or `../../secrets.yaml`. Absolute paths are refused; links are followed before the check.\n")
	p("- Includes resolve before the plan is checked, and each problem is reported in the file and at the line where it is, with the chain of includes: `baseline/web.yaml:12:15: phases[0].tasks[1].gates[0].pass: … (included from service.yaml:6:9)`.\n\n")

	p("## Templates\n\n")
	p("`spec.templates` names tasks and phases with parameters; `uses: template:NAME` with `with:` for the parameters makes a copy:\n\n")
	p("```yaml\ntemplates:\n  - name: api-latency\n    params: {url: ~, p95: \"< 300ms\"}\n    task:\n      uses: http-check\n      with: {url: \"${params.url}\"}\n      gates: [{metric: http.latency, pass: \"${params.p95}\"}]\nphases:\n  - name: smoke\n    tasks:\n      - {name: api, uses: template:api-latency, with: {url: \"https://api.example.com/health\"}}\n```\n\n")
	p("- `${params.NAME}` is replaced by the parameter's value in any string of the template; a string that is only `${params.NAME}` takes a list or mapping whole. A parameter the template does not declare, or a required one left out, is an error.\n")
	p("- The use's own fields (its `name`, and `gates`, `timeout`, `matrix`… when given) replace the template's.\n")
	p("- A task template cannot use another template; a phase template's tasks may use task templates. A template is checked where it is used, and its problems are reported in the template, with the use that made the copy.\n")
	p("- Vars resolve in the file that writes them, before parameters: `${vars.NAME}` in a template is its file's var, in `with:` the using file's.\n\n")

	p("## Matrices\n\n")
	p("`matrix:` on a task or a phase runs it once per value. Each copy is named `NAME[VALUE]` (`api-latency[eu-west-1]`) and has its own gates, so each earns its own share of the score.\n\n")
	p("- A list of scalars: `matrix: [eu-west-1, us-east-1]`, written `${matrix.value}` in the copy.\n")
	p("- A list of mappings: `matrix: [{region: eu-west-1, env: prod}, …]`, written `${matrix.region}`; a copy is named by its scalar values joined by commas (`deploy[eu-west-1,prod]`), or by its `name` value alone when it has one (`{name: home, path: /}` names `probe[home]`).\n")
	p("- A matrix over an empty list is an error, as are more than %d values, two values that name the same copy, and a value that cannot be part of a name (spaces, `/`, `*`, `>`).\n", maxMatrixValues)
	p("- A task in a phase with a matrix sees the phase's values; a phase `needs` that names a phase with a matrix waits for all its copies.\n")
	p("- `${matrix.NAME}` outside a matrix that has NAME is an error. A literal `${params.` or `${matrix.` cannot be written.\n\n")

	p("## Conditions\n\n")
	p("`when:` on a phase or a task is a [CEL](https://cel.dev) expression; the phase or task runs only when it is true. It is compiled and type-checked with the plan, and evaluated by the workflow when the phase or task is ready to start (its result is recorded in the run's history, so a replay sees the same answer):\n\n")
	p("```yaml\n- name: rollout\n  needs: [build]\n  when: 'vars.env == \"prod\" && phases.build.status == \"pass\"'\n- name: bundle-size\n  needs: [coverage]\n  when: 'tasks.coverage.metrics[\"coverage.total\"] >= 0.8'\n```\n\n")
	p("- `vars.NAME` is a var of the plan (a string: compare with `\"…\"`, or convert with `int(vars.n)`); an included file writes its own vars as `${vars.NAME}` in the text.\n")
	p("- `phases.NAME` is a phase that the phase needs, directly or not: `status` (`pass`, `warning`, `fail`, `error`, `skipped`, `cancelled`, `approved`, `rejected`) and `tasks`.\n")
	p("- `tasks.NAME` (or `tasks[\"NAME\"]` for names with `-` or `[`) is a task of those phases or, in a task's when, a task of its phase that it needs, directly or not: `status`, `metrics` (a map of metric names to numbers in base units) and `error`. A name in two visible phases is written `phases.P.tasks.NAME`.\n")
	p("- Naming anything else is a plan error, as is an expression that does not compile or is not true or false.\n")
	p("- A false when skips the phase or task: not run, its gates counted as not run, as for phases a blocked need skips; phases and tasks that need it are skipped too. A when that cannot be evaluated (a metric the task did not report) ends the phase or task `error`.\n\n")
	p("## Thresholds\n\n")
	p("A threshold is an operator and a value: `< 200ms`, `>= 80%%`. Quote it: YAML reads a leading `>` as a folded block and a leading `!` as a tag, so write `pass: \">= 80\"`.\n\n")
	p("| Operator | Meaning |\n|---|---|\n")
	for _, o := range operatorDocs {
		p("| `%s` | %s |\n", o.Op, o.Doc)
	}
	p("\nThe value is written in the metric's unit and compared in its base unit: seconds, bytes, a ratio from 0 to 1, or a count. A threshold that no value of its metric can meet (`< 0s`, `> 100%%`, `< 0` on a count) is an invalid plan.\n\n")
	p("| Metric unit | Write the value as | Examples |\n|---|---|---|\n")
	for _, u := range unitDocs {
		examples := make([]string, len(u.Examples))
		for i, e := range u.Examples {
			examples[i] = "`" + e + "`"
		}
		p("| %s | %s | %s |\n", u.Unit, cell(u.Write), cell(strings.Join(examples, ", ")))
	}
	p("\n")

	p("### Relative thresholds\n\n")
	p("A gate's pass or warning may compare the metric with its own value in an earlier run, the *baseline*: `<= baseline * 1.1` (at most 10%% worse than the baseline), `>= baseline * 0.95`, `< baseline + 50ms`, `<= baseline - 5%%`, or plain `<= baseline`. ")
	p("A factor (`* 1.1`) is a bare number above 0; an amount added or taken away (`+ 50ms`) is written in the metric's unit, as an absolute threshold is.\n\n")
	p("- The baseline is the same metric of the same phase and task in the run the gate names (`baseline: RUN_ID`), else the run `spec.baseline` names, else the plan's **last passing run** (result pass, not warning) in the run history ([History](history.md)).\n")
	p("- `starter run` looks the baselines up **before the run starts** and passes them in the workflow's input, so a run's verdict never depends on when it is replayed; the report shows each baseline, the run it came from and the threshold it made.\n")
	p("- **No baseline yet** (the plan has never passed, or its last passing run did not report the metric): the gate is **not run**: skipped, with the reason, and left out of the score altogether (its weight is neither earned nor counted, even for a key gate), so that a plan's first run can pass on its other gates and become the baseline. ")
	p("A run started without `starter run` (`runs.Start` from your own code) has no baselines either, and its relative gates are skipped the same way; `starter schedule create` refuses a plan with relative thresholds for that reason (run it with `starter run` from a scheduled CI job).\n")
	p("- A baseline run that is **named** but not in the history, or that did not report the metric, is an invalid plan, reported with the file, line and field, before anything runs. A relative threshold that does not parse is an invalid plan too.\n\n")

	p("## Parameter types\n\n")
	p("| Type | Written as |\n|---|---|\n")
	for _, t := range paramTypeDocs {
		p("| %s | %s |\n", t.Type, cell(t.Doc))
	}
	p("\n")

	p("## Load safety\n\n")
	p("A task type that sends load (see the parameters marked so) may only send it where the plan says, and no harder than the plan allows. Shipshape checks this before it runs anything, and an offending value is an invalid plan, with its line and column, never a request:\n\n")
	p("- A URL marked *host must be allowed* must be absolute `http://` or `https://`, and its host must be in `spec.allowedHosts` or in the task's own allow-list parameter. The check applies to the URL with its vars resolved, so `--set vars.target=…` cannot point a test at a host the plan does not name.\n")
	p("- A `host:port` marked *host must be allowed* (a server a task connects to, such as `db.example.com:5432`) must have a port, and its host must be allowed the same way.\n")
	p("- A rate marked *at most spec.limits.maxRate* (a `rate`, each stage's target) may not exceed `spec.limits.maxRate`.\n")
	p("- A number of concurrent requests marked *at most spec.limits.maxConcurrency* may not exceed `spec.limits.maxConcurrency`.\n")
	p("- A shell script (a parameter marked *no `${vars.…}` in a shell script*, with `shell: true`) may not contain `${vars.…}`: a var's value — from the plan or `--set` — would run as code. Pass vars in `env` and write `\"$NAME\"` in the script; in the argv form a var is an argument, never code.\n")
	p("- Files marked *below the worker's --file-roots* (files, globs, directories a task reads) are read only below the roots a worker was started with (`worker --file-roots DIR,DIR`), so a plan cannot make a shared worker read `/etc/passwd` into a report; a worker without roots reads where the plan says.\n\n")
	p("The allow-list travels with the task, so what a task reaches on its own is held to it while it runs: a redirect to a host it does not name is not followed (a load test counts it as an error, an HTTP check fails), and a page that sends a browser elsewhere fails its audit.\n\n")

	p("## Scoring\n\n")
	p("Shipshape scores a run the way Keptn's quality gates do:\n\n")
	p("- A gate whose metric meets `pass` earns its weight; one that meets only `warning` earns half of it; a failed gate earns nothing.\n")
	p("- score = 100 × earned weight / total weight of all gates (100 when the plan has no gates).\n")
	p("- The run passes when its score is at least `scoring.pass` (default %d), is a warning when it is at least `scoring.warning` (default %d), and fails below that.\n", defaultPassScore, defaultWarningScore)
	p("- A task that errors, after its retries, fails all its gates; a metric the task did not report fails its gate.\n")
	p("- Whatever the score, the run fails when a key gate fails, when a task without gates errors, or when an approval is rejected (or times out).\n")
	p("- A run whose score passes ends `warning` when a key gate met only its `warning` threshold. Keptn lets such a run pass; Shipshape does not: a key gate is one the release must meet, and coverage at 58 %% against a key gate of `pass: \">= 80%%\"`, `warning: \">= 50%%\"` must not hide in a score of 92. The run's `error` names that gate.\n")
	p("- Gates of tasks that never ran (their phase was skipped because one it needs failed, was rejected or cancelled) are `skipped` — not run, which is not the same as failed: they earn nothing, and the run's `notRun` says what share of the weight they carried.\n")
	p("- A relative gate (`<= baseline * 1.1`) with **no baseline** — the plan has no passing run yet, or that run did not report the metric — is `skipped` too, with the reason, but left out of the score altogether: its weight is neither earned nor counted, and a key gate without a baseline does not fail the run. Counting it as failed would keep a new plan (or a new gate) from ever passing, and so from ever getting the baseline it waits for; the report lists it among the reasons, so nobody mistakes the pass for a judged one. See [Relative thresholds](#relative-thresholds).\n\n")

	p("## Task types\n\n")
	names := c.Names()
	if len(names) == 0 {
		p("No task types are registered.\n")
		return b.String()
	}
	for _, name := range names {
		p("- [`%s`](#%s)\n", name, anchor(name))
	}
	p("\n")
	for _, name := range names {
		writeTaskType(&b, c[name])
	}
	return b.String()
}

func writeTaskType(b *strings.Builder, t TaskType) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### `%s`\n\n", t.Name)
	if t.Summary != "" {
		p("%s\n\n", strings.TrimSpace(t.Summary))
	}
	if t.Manual {
		p("Manual: the workflow runs it by waiting for confirmations, not a worker activity.\n\n")
	}
	if t.Workflow {
		p("Runs as a child workflow of its own (several activities, each retried on its own, with compensation), not one activity; the task's timeout bounds the whole workflow.\n\n")
	}
	timeout := defaultTimeout
	if t.Timeout > 0 {
		timeout = t.Timeout
	}
	heartbeat := "none"
	if t.Heartbeat > 0 {
		heartbeat = "`" + formatDuration(t.Heartbeat) + "`"
	}
	attempts := defaultMaxAttempts
	if t.MaxAttempts > 0 {
		attempts = t.MaxAttempts
	}
	p("Defaults: timeout `%s`, heartbeat %s, attempts %d.\n\n", formatDuration(timeout), heartbeat, attempts)
	if t.AbortOnFail {
		p("Measures as it goes: a gate with `abortOnFail: true` stops it early once the gate fails.\n\n")
	}

	if len(t.Params) == 0 {
		p("No parameters.\n\n")
	} else {
		p("| Parameter | Type | Required | Default | Description |\n|---|---|---|---|---|\n")
		writeParams(b, "", t.Params)
		p("\n")
	}
	if len(t.Metrics) == 0 {
		p("No metrics.\n\n")
	} else {
		p("| Metric | Unit | Description |\n|---|---|---|\n")
		for _, m := range t.Metrics {
			p("| %s | %s | %s |\n", cell(code(m.Name)), m.Unit, cell(m.Doc))
		}
		p("\n")
	}
}

// writeParams writes one row per parameter, and rows named param.field or
// param[].field for the fields of objects.
func writeParams(b *strings.Builder, prefix string, params []Param) {
	for _, prm := range params {
		name := prefix + prm.Name
		doc := strings.TrimSpace(prm.Doc)
		if len(prm.Enum) > 0 {
			quoted := make([]string, len(prm.Enum))
			for i, e := range prm.Enum {
				quoted[i] = "`" + e + "`"
			}
			doc = strings.TrimSpace(doc + " One of " + strings.Join(quoted, ", ") + ".")
		}
		if note := safetyDocs[prm.Safety]; note != "" {
			doc = strings.TrimSpace(doc + " " + note)
		}
		def := ""
		if prm.Default != nil {
			def = formatValue(normalise(prm.Default))
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", cell(code(name)), prm.Type, yesNo(prm.Required), codeCell(def), cell(doc))
		switch prm.Type {
		case TypeObject:
			writeParams(b, name+".", prm.Fields)
		case TypeObjectList:
			writeParams(b, name+"[].", prm.Fields)
		}
	}
}

// formatValue writes a normalised default the way it would be written in
// YAML flow style.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" || strings.ContainsAny(x, ",[]{}:#\"'") || strings.TrimSpace(x) != x {
			return strconv.Quote(x)
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		items := make([]string, len(x))
		for i, e := range x {
			items[i] = formatValue(e)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = formatValue(k) + ": " + formatValue(x[k])
		}
		return "{" + strings.Join(items, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// formatDuration writes a duration without the zero units time.Duration
// adds: 24h, not 24h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// cell makes Markdown text safe for a table cell: one line, pipes
// escaped, and "<" outside code spans escaped so that "<code>" in a
// description is text, not an HTML tag.
func cell(s string) string {
	var b strings.Builder
	inCode := false
	for _, r := range strings.Join(strings.Fields(s), " ") {
		switch {
		case r == '`':
			inCode = !inCode
		case r == '|':
			b.WriteString(`\`)
		case r == '<' && !inCode:
			b.WriteString("&lt;")
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func codeCell(s string) string {
	if s == "" {
		return ""
	}
	return cell(code(s))
}

func code(s string) string { return "`" + s + "`" }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// anchor is the GitHub heading anchor of a task type's section.
func anchor(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
