// Package all wires every task type into the worker: one line per type in
// Types. Adding a task type is a new package under activities/ and one
// line here.
package all

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/shipshape-dev/shipshape/activities/alertdrill"
	"github.com/shipshape-dev/shipshape/activities/artifactsize"
	"github.com/shipshape-dev/shipshape/activities/awsposture"
	"github.com/shipshape-dev/shipshape/activities/azureposture"
	"github.com/shipshape-dev/shipshape/activities/backup"
	"github.com/shipshape-dev/shipshape/activities/checklist"
	"github.com/shipshape-dev/shipshape/activities/command"
	"github.com/shipshape-dev/shipshape/activities/coverage"
	"github.com/shipshape-dev/shipshape/activities/httpcheck"
	"github.com/shipshape-dev/shipshape/activities/lighthouse"
	"github.com/shipshape-dev/shipshape/activities/loadtest"
	"github.com/shipshape-dev/shipshape/activities/metricwatch"
	"github.com/shipshape-dev/shipshape/activities/repoposture"
	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/activities/rollbackdrill"
	"github.com/shipshape-dev/shipshape/activities/sbomscan"
	"github.com/shipshape-dev/shipshape/activities/secretage"
	"github.com/shipshape-dev/shipshape/activities/secretrotation"
	"github.com/shipshape-dev/shipshape/activities/staticanalysis"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/activities/testresults"
	"github.com/shipshape-dev/shipshape/activities/tlscheck"
	"github.com/shipshape-dev/shipshape/integrations/appservice"
	"github.com/shipshape-dev/shipshape/integrations/azurepg"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/azkv"
	"github.com/shipshape-dev/shipshape/internal/secretref"
	"github.com/shipshape-dev/shipshape/internal/vulndb"
	"github.com/shipshape-dev/shipshape/plan"
)

// Config is what the task types of one worker share: its logger, event
// stream and directories, and the clients of outside systems a test or a
// deployment may replace. Zero values are sensible defaults.
type Config struct {
	Logger *slog.Logger
	// HTTPClient is used by HTTP task types; nil means a default client.
	HTTPClient *http.Client
	// Events publishes event batches and progress events; nil: none.
	Events taskrun.EventPublisher
	// EventReader reads the event stream (the NATS client that Events
	// publishes with), for task types that wait for messages on it, such
	// as an alert drill's acknowledgements; nil: none.
	EventReader EventReader
	// Vulns keeps the advisory databases sbom-scan tasks indexed, so a
	// worker reads each once; nil: one is made on first use.
	Vulns *vulndb.Cache
	// ScratchDir is where restore drills make local targets and keep
	// downloads; empty: DefaultScratchDir().
	ScratchDir string
	// SecretsDir is the local secret store's directory; empty: the
	// default.
	SecretsDir string
	// KeyVault opens the Azure Key Vault of an azkv://VAULT/NAME
	// reference; nil: DefaultAzureCredential on Azure's public cloud.
	KeyVault func(vault string) (*azkv.Store, error)
	// RDSPoll is how often aws-rds drill targets poll RDS; zero: RDS's
	// waiter defaults.
	RDSPoll time.Duration
	// AzurePG opens the flexible servers of a subscription; nil:
	// DefaultAzureCredential. AzurePoll is how often its long operations
	// are polled (zero: 30 s).
	AzurePG   func(subscription string) (*azurepg.Client, error)
	AzurePoll time.Duration
	// AppService opens the App Service apps of a subscription, for
	// rollback drills' slot swaps; nil: DefaultAzureCredential.
	AppService func(subscription string) (*appservice.Client, error)
	// AzurePosture opens the ARM clients of a subscription for
	// azure-posture tasks; nil: DefaultAzureCredential.
	AzurePosture azureposture.Open
}

// EventReader reads messages stored in the event stream
// (natsevents.Client).
type EventReader interface {
	Consume(ctx context.Context, opts natsevents.ConsumeOptions, fn func(natsevents.Message) error) error
}

// Types returns every task type, its clients built from cfg.
func Types(cfg Config) []task.Type {
	var types []task.Type
	// The stores secret references name, for the secret task types.
	secrets := secretref.Stores{Dir: cfg.SecretsDir, KeyVault: cfg.KeyVault}
	// One line per task type package, in the order of the plan reference.
	types = append(types, checklist.Type())
	types = append(types, artifactsize.New(cfg.Logger).Type())
	types = append(types, httpcheck.New(cfg.HTTPClient, cfg.Logger).Type())
	types = append(types, command.New(cfg.Events, cfg.Logger).Type())
	types = append(types, coverage.New(cfg.Logger).Type())
	types = append(types, tlscheck.New(cfg.Logger).Type())
	types = append(types, secretrotation.New(secrets).Type())
	types = append(types, secretage.New(secrets).Type())
	types = append(types, backup.New(cfg.Logger, cfg.Events).Type())
	types = append(types, restoredrill.New(restoredrill.Config{Logger: cfg.Logger, Events: cfg.Events, ScratchDir: cfg.ScratchDir,
		RDSPoll: cfg.RDSPoll, AzurePG: cfg.AzurePG, AzurePoll: cfg.AzurePoll, SecretsDir: cfg.SecretsDir}).Type())
	types = append(types, rollbackdrill.New(rollbackdrill.Config{Logger: cfg.Logger, HTTPClient: cfg.HTTPClient, AppService: cfg.AppService}).Type())
	types = append(types, loadtest.New(cfg.Logger, cfg.Events).Type())
	types = append(types, lighthouse.New(cfg.Logger).Type())
	types = append(types, sbomscan.New(sbomscan.Config{Logger: cfg.Logger, HTTPClient: cfg.HTTPClient, Events: cfg.Events, Vulns: cfg.Vulns}).Type())
	types = append(types, testresults.New(cfg.Logger).Type())
	types = append(types, staticanalysis.New(cfg.Logger).Type())
	types = append(types, awsposture.New(cfg.Logger).Type())
	types = append(types, azureposture.New(cfg.Logger, cfg.AzurePosture).Type())
	types = append(types, repoposture.New(cfg.Logger, cfg.HTTPClient).Type())
	types = append(types, metricwatch.New(metricwatch.Config{Logger: cfg.Logger, Events: cfg.Events, Secrets: secrets, HTTPClient: cfg.HTTPClient}).Type())
	types = append(types, alertdrill.New(alertdrill.Config{Logger: cfg.Logger, HTTPClient: cfg.HTTPClient, Stream: cfg.EventReader, Events: cfg.Events}).Type())
	return types
}

// Hooks are the HTTP endpoints task types serve, by path below /hooks/
// ("<type>/<name>"): receivers of outside systems' webhooks, which the
// worker serves on its metrics address.
func Hooks(cfg Config) map[string]http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	out := map[string]http.Handler{}
	add := func(typ string, hooks map[string]http.Handler) {
		for name, h := range hooks {
			out[typ+"/"+name] = h
		}
	}
	add(alertdrill.Name, alertdrill.New(alertdrill.Config{Logger: cfg.Logger, Events: cfg.Events}).Hooks())
	return out
}

// DefaultScratchDir is the scratch directory of a worker that names none
// (SHIPSHAPE_SCRATCH_DIR, else a directory under the system's temporary
// directory), for the worker's and the starter's flags.
func DefaultScratchDir() string { return restoredrill.DefaultScratchDir() }

// Catalog returns the declarations of every task type, for plan
// validation, the plan reference and the engine.
func Catalog() plan.Catalog { return task.Catalog(Types(Config{})) }

// Register registers every task type's workflows and activities, and the
// PublishEvents activity, on a worker.
func Register(r taskrun.Registry, cfg Config) {
	taskrun.Register(r, Types(cfg), taskrun.Options{Events: cfg.Events, Logger: cfg.Logger})
}
