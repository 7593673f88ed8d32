package plan_test

import (
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// testCatalog is a fixture catalog shaped like the real registry: an HTTP
// check with every scalar parameter type, a coverage type with ratio
// metrics, a command type whose own metrics have any name, a load test with
// an object and a list of objects, a load type whose values are under
// safety rules, and a manual checklist. Tests use it
// instead of the activities package, which plan must not depend on.
func testCatalog() plan.Catalog {
	return plan.NewCatalog(
		plan.TaskType{
			Name:        "http-check",
			Summary:     "Requests a URL and checks the status, headers and latency of the response.",
			Timeout:     30 * time.Second,
			MaxAttempts: 2,
			Params: []plan.Param{
				{Name: "url", Type: plan.TypeString, Required: true, Doc: "The URL to request."},
				{Name: "method", Type: plan.TypeString, Default: "GET", Enum: []string{"GET", "HEAD", "POST"}, Doc: "The HTTP method."},
				{Name: "expectStatus", Type: plan.TypeInt, Default: 200, Doc: "The status the response must have."},
				{Name: "requireHeaders", Type: plan.TypeStringList, Doc: "Headers the response must carry."},
				{Name: "headers", Type: plan.TypeStringMap, Doc: "Headers to send."},
				{Name: "timeout", Type: plan.TypeDuration, Default: "10s", Doc: "How long to wait for the response."},
				{Name: "maxBody", Type: plan.TypeBytes, Default: "1MiB", Doc: "The most of the body to read."},
				{Name: "followRedirects", Type: plan.TypeBool, Default: true, Doc: "Whether to follow redirects."},
				{Name: "minTLS", Type: plan.TypeNumber, Doc: "The lowest TLS version | accepted."},
			},
			Metrics: []plan.Metric{
				{Name: "http.latency", Unit: plan.UnitSeconds, Doc: "Time to the full response."},
				{Name: "http.status", Unit: plan.UnitCount, Doc: "The response's status code."},
				{Name: "http.body_size", Unit: plan.UnitBytes, Doc: "Size of the body."},
				{Name: "http.status.<code>", Unit: plan.UnitCount, Doc: "1 when the status was <code>."},
			},
		},
		plan.TaskType{
			Name:    "coverage",
			Summary: "Reads Go coverage profiles and reports statement coverage.",
			Params: []plan.Param{
				{Name: "files", Type: plan.TypeStringList, Required: true, Doc: "Coverage profiles to read."},
				{Name: "exclude", Type: plan.TypeStringList, Default: []string{"*_test.go"}, Doc: "Patterns of files to leave out."},
			},
			Metrics: []plan.Metric{
				{Name: "coverage.statements", Unit: plan.UnitRatio, Doc: "Covered statements / all statements."},
				{Name: "coverage.package.<name>", Unit: plan.UnitRatio, Doc: "Statement coverage of one package."},
			},
		},
		plan.TaskType{
			Name:        "command",
			Summary:     "Runs a command; lines it prints as `::metric name=value` become metrics.",
			Heartbeat:   30 * time.Second,
			MaxAttempts: 1,
			Params: []plan.Param{
				{Name: "run", Type: plan.TypeString, Required: true, Doc: "The command line, run by sh -c."},
				{Name: "env", Type: plan.TypeStringMap, Doc: "Environment variables to add."},
				{Name: "dir", Type: plan.TypeString, Doc: "The working directory."},
			},
			Metrics: []plan.Metric{
				{Name: "command.exit_code", Unit: plan.UnitCount, Doc: "The exit code."},
				{Name: "command.duration", Unit: plan.UnitSeconds, Doc: "How long the command ran."},
				{Name: "<name>", Unit: plan.UnitAny, Doc: "A metric the command printed."},
			},
		},
		plan.TaskType{
			Name:      "load-test",
			Summary:   "Sends requests at a fixed rate to several targets and measures latency and errors.",
			Timeout:   time.Hour,
			Heartbeat: 10 * time.Second,
			Params: []plan.Param{
				{Name: "targets", Type: plan.TypeObjectList, Required: true, Doc: "The endpoints to load.", Fields: []plan.Param{
					{Name: "url", Type: plan.TypeString, Required: true, Doc: "The URL to request."},
					{Name: "method", Type: plan.TypeString, Default: "GET", Enum: []string{"GET", "POST"}, Doc: "The HTTP method."},
					{Name: "weight", Type: plan.TypeNumber, Default: 1, Doc: "Share of the requests."},
					{Name: "headers", Type: plan.TypeStringMap, Doc: "Headers to send."},
				}},
				{Name: "rate", Type: plan.TypeInt, Default: 10, Doc: "Requests per second."},
				{Name: "duration", Type: plan.TypeDuration, Required: true, Doc: "How long to send requests."},
				{Name: "auth", Type: plan.TypeObject, Doc: "How to authenticate.", Fields: []plan.Param{
					{Name: "type", Type: plan.TypeString, Required: true, Enum: []string{"basic", "bearer"}, Doc: "The scheme."},
					{Name: "secretRef", Type: plan.TypeString, Required: true, Doc: "Reference to the secret (aws-sm://…)."},
					{Name: "header", Type: plan.TypeString, Default: "Authorization", Doc: "The header to set."},
				}},
			},
			Metrics: []plan.Metric{
				{Name: "load.latency.p95", Unit: plan.UnitSeconds, Doc: "95th percentile latency."},
				{Name: "load.error_ratio", Unit: plan.UnitRatio, Doc: "Failed requests / all requests."},
				{Name: "load.requests", Unit: plan.UnitCount, Doc: "Requests sent."},
			},
		},
		plan.TaskType{
			Name:        "http-load",
			Summary:     "Sends load to HTTP targets, within the plan's allowed hosts and limits.",
			AbortOnFail: true,
			Heartbeat:   10 * time.Second,
			Check: func(with map[string]any) []plan.ParamProblem {
				if _, rate := with["rate"]; rate == (with["users"] != nil) {
					return []plan.ParamProblem{{Param: "users", Msg: "give rate or users, not both nor neither"}}
				}
				return nil
			},
			Params: []plan.Param{
				{Name: "targets", Type: plan.TypeObjectList, Required: true, Doc: "The endpoints to load.", Fields: []plan.Param{
					{Name: "url", Type: plan.TypeString, Required: true, Safety: plan.SafetyHost, Doc: "The URL to request."},
				}},
				{Name: "rate", Type: plan.TypeRate, Safety: plan.SafetyRate, Doc: "Requests per unit of time."},
				{Name: "stages", Type: plan.TypeObjectList, Doc: "A ramp.", Fields: []plan.Param{
					{Name: "target", Type: plan.TypeRate, Required: true, Safety: plan.SafetyRate, Doc: "The rate to reach."},
				}},
				{Name: "users", Type: plan.TypeInt, Safety: plan.SafetyConcurrency, Doc: "Concurrent users."},
				{Name: "allow", Type: plan.TypeStringList, Safety: plan.SafetyAllowHosts, Doc: "More hosts to allow."},
			},
			Metrics: []plan.Metric{
				{Name: "http.latency.p95", Unit: plan.UnitSeconds, Doc: "95th percentile latency."},
				{Name: "http.errors.rate", Unit: plan.UnitRatio, Doc: "Failed requests / all requests."},
			},
		},
		plan.TaskType{
			Name:    "checklist",
			Summary: "Manual items, each confirmed by a person or a bot.",
			Manual:  true,
			Timeout: 24 * time.Hour,
			Params: []plan.Param{
				{Name: "items", Type: plan.TypeStringList, Required: true, Doc: "The items to confirm."},
				{Name: "timeout", Type: plan.TypeDuration, Default: 24 * time.Hour, Doc: "How long to wait for confirmations."},
			},
			Metrics: []plan.Metric{
				{Name: "checklist.done_ratio", Unit: plan.UnitRatio, Doc: "Confirmed items / all items."},
			},
		},
	)
}
