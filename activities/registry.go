package activities

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities/vulndb"
	"github.com/shipshape-dev/shipshape/integrations/azurepg"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/plan"
)

// taskRunner runs one task type on an Activities value.
type taskRunner func(a *Activities, ctx context.Context, in TaskInput) (TaskOutput, error)

type entry struct {
	decl plan.TaskType
	run  taskRunner // nil for manual task types, which the workflow runs
}

// registry lists every task type. Adding a task type is one line here.
func registry() []entry {
	return []entry{
		{decl: checklistType},
		{decl: httpCheckType, run: (*Activities).HTTPCheck},
		{decl: commandType, run: (*Activities).Command},
		{decl: coverageType, run: (*Activities).Coverage},
		{decl: sbomScanType, run: (*Activities).SBOMScan},
		{decl: loadTestType, run: (*Activities).LoadTest},
		{decl: backupType, run: (*Activities).Backup},
		{decl: restoreDrillType},
		{decl: secretRotationType},
		{decl: secretAgeType, run: (*Activities).SecretAge},
	}
}

// Types returns the declarations of every task type, for plan validation
// and the plan reference.
func Types() plan.Catalog {
	var decls []plan.TaskType
	for _, e := range registry() {
		decls = append(decls, e.decl)
	}
	return plan.NewCatalog(decls...)
}

// Activities holds the clients task types use. Build it once per worker.
type Activities struct {
	Logger *slog.Logger
	// HTTPClient is used by HTTP task types; nil means a default client.
	HTTPClient *http.Client
	// Events publishes the run's event batches (PublishEvents).
	Events EventPublisher
	// Vulns keeps the advisory databases sbom-scan tasks indexed, so a
	// worker reads each once; nil: one is made on first use.
	Vulns     *vulndb.Cache
	vulnsOnce sync.Once
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

// Register registers every task type, under its type name, and the
// PublishEvents activity.
func (a *Activities) Register(r worker.ActivityRegistry) {
	for _, e := range registry() {
		if e.run == nil {
			continue
		}
		run := e.run
		r.RegisterActivityWithOptions(func(ctx context.Context, in TaskInput) (TaskOutput, error) {
			attempt := int(activity.GetInfo(ctx).Attempt)
			out, err := run(a, ctx, in)
			out.Attempt = attempt
			return out, withAttempt(ctx, err, attempt)
		}, activity.RegisterOptions{Name: e.decl.Name})
	}
	r.RegisterActivityWithOptions(a.PublishEvents, activity.RegisterOptions{Name: PublishEventsName})
	for _, steps := range a.stepActivities() {
		for name, fn := range steps {
			r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
		}
	}
}

// stepActivities are the activities task workflows call, by name: one
// line per task workflow type.
func (a *Activities) stepActivities() []map[string]any {
	return []map[string]any{
		a.drillSteps(),
		a.rotationSteps(),
	}
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

// withAttempt makes every task error an application error that carries
// the attempt (and, for CheckFailed, the metrics measured) in its details,
// so the report says how often a failed task was tried. Its type and
// retryability are the original error's; cancellation passes unchanged.
func withAttempt(ctx context.Context, err error, attempt int) error {
	if err == nil || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	failed, _ := OutputOf(err)
	failed.Attempt = attempt
	typ, nonRetryable := ErrTaskFailed, false
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		typ, nonRetryable = appErr.Type(), appErr.NonRetryable()
	}
	return temporal.NewApplicationErrorWithOptions(causeOf(err), typ, temporal.ApplicationErrorOptions{
		NonRetryable: nonRetryable,
		Details:      []any{failed},
	})
}

// causeOf is the message of an application error without Temporal's
// decoration.
func causeOf(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
