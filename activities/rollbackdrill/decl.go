package rollbackdrill

import (
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the rollback drill task type.
const Name = "rollback-drill"

// triggerFields declares a trigger: exactly one of argv, webhook and
// azureSlotSwap.
var triggerFields = []plan.Param{
	{Name: "argv", Type: plan.TypeStringList, Doc: "A program and its arguments, run without a shell (looked up in PATH) in its own process group, killed with it when the drill's timeout ends or the worker dies (`kubectl rollout undo deploy/web`, a deploy script). A non-zero exit fails the drill."},
	{Name: "env", Type: plan.TypeStringMap, Doc: "Environment variables added to the worker's environment for argv. SHIPSHAPE_IDEMPOTENCY_KEY is set too: <run>/<phase>/<task>/rollback (or /rollforward), the same if the task starts again after its worker was lost."},
	{Name: "webhook", Type: plan.TypeObject, Doc: "An HTTP request that starts the switch (a deploy system's rollback hook). A status outside 200-299 fails the drill. It carries an Idempotency-Key header (<run>/<phase>/<task>/rollback or /rollforward, the same if the task starts again after its worker was lost) unless headers set one.", Fields: []plan.Param{
		{Name: "url", Type: plan.TypeString, Required: true, Safety: plan.SafetyHost, Doc: "Absolute http:// or https:// URL."},
		{Name: "method", Type: plan.TypeString, Default: "POST", Doc: "HTTP method."},
		{Name: "body", Type: plan.TypeString, Doc: "Request body."},
		{Name: "headers", Type: plan.TypeStringMap, Doc: "Request headers. Not for secrets: a plan's parameters are kept in the run's history; use headersFromEnv."},
		{Name: "headersFromEnv", Type: plan.TypeStringMap, Doc: "Request headers whose values are read from the worker's environment: header → variable name (`Authorization: ROLLBACK_HOOK_AUTH`). The values never appear in the run's history, events, reports or logs."},
	}},
	{Name: "azureSlotSwap", Type: plan.TypeObject, Doc: "An Azure App Service slot swap (DefaultAzureCredential on the worker), waited for until Azure reports it done: swapping the slot that holds the previous version with production rolls production back.", Fields: []plan.Param{
		{Name: "app", Type: plan.TypeString, Required: true, Doc: "The app's resource ID: /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Web/sites/NAME."},
		{Name: "slot", Type: plan.TypeString, Required: true, Doc: "The slot swapped (`staging`)."},
		{Name: "targetSlot", Type: plan.TypeString, Default: "production", Doc: "The slot it is swapped with."},
		{Name: "preserveVnet", Type: plan.TypeBool, Default: true, Doc: "Keep each slot's virtual network integration in place."},
	}},
}

// Decl declares the rollback-drill task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Rolls a service back to a known-good version and times it: runs a trigger (an argv, a webhook or an Azure App Service slot swap), then polls a version endpoint and a health endpoint until the service reports the expected version and is healthy, while a light probe load counts the errors users would see; optionally rolls forward again and times that too. " +
		"\"Roll back within 15 minutes\" is one gate: `{metric: rollback.duration, pass: \"< 15m\"}`. The roll-forward runs only when the rollback's trigger succeeded (a failed trigger may have changed nothing, and a second swap would then roll forward the wrong way).",
	Params: []plan.Param{
		{Name: "trigger", Type: plan.TypeObject, Required: true, Fields: triggerFields, Doc: "What rolls the service back: exactly one of argv, webhook and azureSlotSwap."},
		{Name: "expectedVersion", Type: plan.TypeString, Required: true, Doc: "The version the service must report once rolled back."},
		{Name: "version", Type: plan.TypeObject, Required: true, Doc: "Where the service says its version: the body's JSON field, or the text a regular expression finds in it.", Fields: []plan.Param{
			{Name: "url", Type: plan.TypeString, Required: true, Safety: plan.SafetyHost, Doc: "Absolute http:// or https:// URL, read with GET."},
			{Name: "jsonField", Type: plan.TypeString, Doc: "Dot-separated path of the version in a JSON body, with [n] for array items (`version`, `build.tag`); a number compares as its JSON text."},
			{Name: "regex", Type: plan.TypeString, Doc: "Regular expression (Go syntax) run on the body: its first group, or the whole match when it has none, is the version. Neither jsonField nor regex: the whole body, trimmed."},
		}},
		{Name: "health", Type: plan.TypeObject, Doc: "The health endpoint; unset: the version endpoint answering 200-299 is healthy.", Fields: []plan.Param{
			{Name: "url", Type: plan.TypeString, Required: true, Safety: plan.SafetyHost, Doc: "Absolute http:// or https:// URL, read with GET."},
			{Name: "expectStatus", Type: plan.TypeInt, Default: 200, Doc: "The status of a healthy answer."},
			{Name: "bodyContains", Type: plan.TypeString, Doc: "Text a healthy answer's body contains."},
		}},
		{Name: "headers", Type: plan.TypeStringMap, Doc: "Request headers sent to the version and health endpoints and with the probe load."},
		{Name: "timeout", Type: plan.TypeDuration, Default: "15m", Doc: "How long the trigger and the wait for the expected version may take together, for the rollback and again for the roll-forward; then the drill fails with rollback.healthy 0. Keep the task's own timeout (1h by default) above twice this with rollForward."},
		{Name: "pollInterval", Type: plan.TypeDuration, Default: "1s", Doc: "How often the version and health endpoints are read."},
		{Name: "requestTimeout", Type: plan.TypeDuration, Default: "5s", Doc: "Limit of each request to the endpoints and of each probe request; at most 10s."},
		{Name: "probeRate", Type: plan.TypeRate, Default: "5/s", Safety: plan.SafetyRate, Doc: "The light load sent while the service switches (from the trigger until it is healthy on the expected version), at most 50/s; \"0\" sends none. A transport error or a status of 500 or more is an error."},
		{Name: "probeURL", Type: plan.TypeString, Safety: plan.SafetyHost, Doc: "What the probe load requests (GET); unset: the health endpoint, else the version endpoint."},
		{Name: "rollForward", Type: plan.TypeObject, Fields: triggerFields, Doc: "What rolls the service forward again after the drill (same fields as trigger), timed as rollforward.*; with rollForwardVersion."},
		{Name: "rollForwardVersion", Type: plan.TypeString, Doc: "The version the service must report once rolled forward."},
	},
	Metrics: []plan.Metric{
		{Name: "rollback.duration", Unit: plan.UnitSeconds, Doc: "From the trigger's start until the service reported the expected version and was healthy (and stayed so until the trigger was done); the time waited when it never did."},
		{Name: "rollback.healthy", Unit: plan.UnitCount, Doc: "1 when the service reported the expected version and was healthy within the timeout, else 0."},
		{Name: "rollback.unhealthy_time", Unit: plan.UnitSeconds, Doc: "Time the service spent down during the switch: from each reading whose health endpoint was unhealthy or whose version endpoint did not answer 2xx to the next reading."},
		{Name: "rollback.trigger.duration", Unit: plan.UnitSeconds, Doc: "How long the trigger itself took (the command, the webhook's answer, the slot swap until Azure reported it done)."},
		{Name: "rollback.probe.requests", Unit: plan.UnitCount, Doc: "Requests the probe load sent during the switch."},
		{Name: "rollback.probe.errors", Unit: plan.UnitCount, Doc: "Probe requests that failed: a transport error or a status of 500 or more."},
		{Name: "rollback.probe.error_ratio", Unit: plan.UnitRatio, Doc: "rollback.probe.errors / rollback.probe.requests (0 when none were sent)."},
		{Name: "rollforward.duration", Unit: plan.UnitSeconds, Doc: "As rollback.duration, for the roll-forward (with rollForward)."},
		{Name: "rollforward.healthy", Unit: plan.UnitCount, Doc: "As rollback.healthy, for the roll-forward."},
		{Name: "rollforward.unhealthy_time", Unit: plan.UnitSeconds, Doc: "As rollback.unhealthy_time, for the roll-forward."},
		{Name: "rollforward.trigger.duration", Unit: plan.UnitSeconds, Doc: "As rollback.trigger.duration, for the roll-forward."},
		{Name: "rollforward.probe.requests", Unit: plan.UnitCount, Doc: "As rollback.probe.requests, for the roll-forward."},
		{Name: "rollforward.probe.errors", Unit: plan.UnitCount, Doc: "As rollback.probe.errors, for the roll-forward."},
		{Name: "rollforward.probe.error_ratio", Unit: plan.UnitRatio, Doc: "As rollback.probe.error_ratio, for the roll-forward."},
	},
	Timeout:   time.Hour,
	Heartbeat: 30 * time.Second,
	// A rollback is not safe to repeat: a second slot swap rolls forward.
	MaxAttempts: 1,
	Check:       checkParams,
}

// checkParams checks what the declarations alone cannot: one trigger
// kind, a roll-forward with its version, a version endpoint read one way.
func checkParams(with map[string]any) []plan.ParamProblem {
	var problems []plan.ParamProblem
	for _, name := range []string{"trigger", "rollForward"} {
		t, ok := with[name].(map[string]any)
		if !ok {
			continue
		}
		var kinds []string
		for _, k := range []string{"argv", "webhook", "azureSlotSwap"} {
			if _, set := t[k]; set {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) != 1 {
			problems = append(problems, plan.ParamProblem{Param: name, Msg: "want exactly one of argv, webhook and azureSlotSwap"})
		}
		if _, hasEnv := t["env"]; hasEnv && (len(kinds) != 1 || kinds[0] != "argv") {
			problems = append(problems, plan.ParamProblem{Param: name, Msg: "env is for argv only"})
		}
	}
	_, forward := with["rollForward"]
	v, _ := with["rollForwardVersion"].(string)
	switch {
	case forward && v == "":
		problems = append(problems, plan.ParamProblem{Param: "rollForwardVersion", Msg: "required with rollForward"})
	case !forward && v != "":
		problems = append(problems, plan.ParamProblem{Param: "rollForwardVersion", Msg: "only with rollForward"})
	}
	if ver, ok := with["version"].(map[string]any); ok {
		if _, j := ver["jsonField"]; j {
			if _, r := ver["regex"]; r {
				problems = append(problems, plan.ParamProblem{Param: "version", Msg: "want jsonField or regex, not both"})
			}
		}
	}
	return problems
}
