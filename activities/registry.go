package activities

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/azurepg"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/plan"
)

// Types returns every task type still in this package, run by a.
func (a *Activities) Types() []task.Type {
	return []task.Type{
		{Decl: checklistType},
		{Decl: httpCheckType, Run: a.HTTPCheck},
		{Decl: commandType, Run: a.Command},
		{Decl: coverageType, Run: a.Coverage},
		{Decl: backupType, Run: a.Backup},
		{Decl: restoreDrillType, Workflow: RestoreDrill, Activities: a.drillSteps()},
		{Decl: secretRotationType, Workflow: SecretRotation, Activities: a.rotationSteps()},
		{Decl: secretAgeType, Run: a.SecretAge},
	}
}

// Types returns the declarations of every task type, for plan validation
// and the plan reference.
func Types() plan.Catalog {
	return task.Catalog((&Activities{}).Types())
}

// Activities holds the clients task types use. Build it once per worker.
type Activities struct {
	Logger *slog.Logger
	// HTTPClient is used by HTTP task types; nil means a default client.
	HTTPClient *http.Client
	// Events publishes the run's event batches (PublishEvents).
	Events taskrun.EventPublisher
	// ScratchDir is where restore drills make local targets and keep
	// downloads; empty: DrillScratchDir().
	ScratchDir string
	// SecretsDir is the local secret store's directory; empty:
	// SecretsDir().
	SecretsDir string
	// KeyVault opens the Azure Key Vault of an azkv://VAULT/NAME
	// reference; nil: https://VAULT.vault.azure.net/ (or https://VAULT/
	// when VAULT is a host name, for other clouds) with azidentity's
	// DefaultAzureCredential.
	KeyVault func(vault string) (*secretstore.KeyVault, error)
	// RDSPoll is how often aws-rds drill targets poll RDS while they
	// wait; zero: RDS's waiter defaults (30 s, backing off to 2 min).
	RDSPoll time.Duration
	// AzurePG opens the flexible servers of a subscription for
	// azure-postgres-flexible drill targets; nil: azidentity's
	// DefaultAzureCredential on Azure's public cloud. AzurePoll is how
	// often its long operations are polled (zero: 30 s).
	AzurePG   func(subscription string) (*azurepg.Client, error)
	AzurePoll time.Duration
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}
