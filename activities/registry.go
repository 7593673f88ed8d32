package activities

import (
	"log/slog"
	"net/http"
	"sync"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/activities/vulndb"
	"github.com/shipshape-dev/shipshape/plan"
)

// Types returns every task type still in this package, run by a.
func (a *Activities) Types() []task.Type {
	return []task.Type{
		{Decl: sbomScanType, Run: a.SBOMScan},
		{Decl: loadTestType, Run: a.LoadTest},
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
	// Vulns keeps the advisory databases sbom-scan tasks indexed, so a
	// worker reads each once; nil: one is made on first use.
	Vulns     *vulndb.Cache
	vulnsOnce sync.Once
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}
