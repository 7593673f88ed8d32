package azureposture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/shipshape-dev/shipshape/activities/task"
	azure "github.com/shipshape-dev/shipshape/integrations/azureposture"
	"github.com/shipshape-dev/shipshape/internal/posture"
)

// The ARM reads azure-posture makes, one small interface per service.
type (
	postgresReader interface {
		PostgresServers(ctx context.Context, resourceGroup string) ([]azure.PostgresServer, error)
		PostgresStorage(ctx context.Context, serverID string) (azure.PostgresStorage, error)
	}
	storageReader interface {
		StorageAccounts(ctx context.Context, resourceGroup string) ([]azure.StorageAccount, error)
		BlobService(ctx context.Context, resourceGroup, account string) (azure.BlobService, error)
		Lifecycle(ctx context.Context, resourceGroup, account string) ([]azure.LifecycleRule, bool, error)
	}
	appServiceReader interface {
		WebApps(ctx context.Context, resourceGroup string) ([]azure.WebApp, error)
		SiteConfig(ctx context.Context, resourceGroup, name string) (azure.SiteConfig, error)
		AutoscaleSettings(ctx context.Context, resourceGroup string) ([]azure.Autoscale, error)
	}
	vaultReader interface {
		Vaults(ctx context.Context, resourceGroup string) ([]azure.Vault, error)
		Secrets(ctx context.Context, vaultURI string) ([]azure.Secret, error)
		Keys(ctx context.Context, vaultURI string) ([]azure.Key, error)
	}
)

// ARM is everything azure-posture reads of one subscription.
type ARM interface {
	postgresReader
	storageReader
	appServiceReader
	vaultReader
}

var _ ARM = (*azure.Client)(nil)

// Open returns the ARM client of a subscription; opts carry the task's
// endpoint and retry settings.
type Open func(subscription string, opts *arm.ClientOptions) (*azure.Client, error)

// Checker runs azure-posture tasks.
type Checker struct {
	logger *slog.Logger
	open   Open
	now    func() time.Time
}

// New returns a Checker logging to logger (nil: discard) that opens
// subscriptions with open (nil: DefaultAzureCredential).
func New(logger *slog.Logger, open Open) *Checker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if open == nil {
		open = azure.NewDefault
	}
	return &Checker{logger: logger, open: open, now: time.Now}
}

// Type is the azure-posture task type, run by c.
func (c *Checker) Type() task.Type { return task.Type{Decl: Decl, Run: c.Run} }

var (
	guid      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	groupName = regexp.MustCompile(`^[-\w._()]{1,90}$`)
)

// params are a task's parameters, checked.
type params struct {
	service       string
	subscription  string
	sel           posture.Selection
	resourceGroup string
	endpoint      string
	maxAttempts   int
	secrets, keys bool
}

func parse(p task.Params) (params, error) {
	o := params{service: p.String("service"), subscription: strings.TrimSpace(p.String("subscription")),
		resourceGroup: strings.TrimSpace(p.Object("resources").String("resourceGroup")),
		endpoint:      strings.TrimSpace(p.String("endpointURL")), maxAttempts: p.Int("maxAttempts"), secrets: p.Bool("secrets"), keys: p.Bool("keys")}
	if !slices.Contains(services, o.service) {
		return params{}, task.InvalidParams("service %q: want postgresql, storage, appservice or keyvault", o.service)
	}
	if o.secrets && o.service != serviceKeyVault {
		return params{}, task.InvalidParams("secrets: only with service keyvault, not %s", o.service)
	}
	if o.keys && o.service != serviceKeyVault {
		return params{}, task.InvalidParams("keys: only with service keyvault, not %s", o.service)
	}
	if !guid.MatchString(o.subscription) {
		return params{}, task.InvalidParams("subscription %q: want a subscription ID (a GUID like 00000000-0000-0000-0000-000000000000)", o.subscription)
	}
	if o.resourceGroup != "" && (!groupName.MatchString(o.resourceGroup) || strings.HasSuffix(o.resourceGroup, ".")) {
		return params{}, task.InvalidParams("resources.resourceGroup %q is not a resource group name", o.resourceGroup)
	}
	r := p.Object("resources")
	switch {
	case len(r.Strings("ids")) > 0 || len(r.StringMap("tags")) > 0:
		sel, err := posture.ParseSelection(p)
		if err != nil {
			return params{}, err
		}
		o.sel = sel
	case o.resourceGroup == "":
		return params{}, task.InvalidParams("resources: give ids (names or resource IDs), tags (a tag filter) or resourceGroup")
	}
	if o.endpoint != "" && !strings.HasPrefix(o.endpoint, "https://") {
		return params{}, task.InvalidParams("endpointURL %q: want an https:// URL (ARM clients send tokens only over TLS)", o.endpoint)
	}
	if o.maxAttempts <= 0 {
		o.maxAttempts = 4
	}
	return o, nil
}

// options are the ARM client options of a task.
func (p params) options() *arm.ClientOptions {
	o := &arm.ClientOptions{}
	o.Retry.MaxRetries = int32(p.maxAttempts - 1)
	if p.maxAttempts == 1 {
		o.Retry.MaxRetries = -1 // azcore: negative means no retries
	}
	if p.endpoint != "" {
		o.Cloud = cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: strings.TrimSuffix(p.endpoint, "/"), Audience: "https://management.azure.com"},
		}}
	}
	return o
}

// where names the scope a task reads, for messages.
func (p params) where() string {
	s := "subscription " + p.subscription
	if p.resourceGroup != "" {
		s += " resource group " + p.resourceGroup
	}
	return s
}

// Run reads the selected resources and aggregates their facts.
func (c *Checker) Run(ctx context.Context, in task.Input) (task.Output, error) {
	p, err := parse(in.Params)
	if err != nil {
		return task.Output{}, err
	}
	client, err := c.open(p.subscription, p.options())
	if err != nil {
		return task.Output{}, classify(err, p)
	}
	task.Report(ctx, task.Progress{Message: fmt.Sprintf("reading %s in %s", p.service, p.where())})
	var resources []posture.Resource
	var what string
	switch p.service {
	case servicePostgres:
		what = "PostgreSQL flexible servers"
		resources, err = readPostgres(ctx, client, p, c.now())
	case serviceStorage:
		what = "storage accounts"
		resources, err = readStorage(ctx, client, p)
	case serviceAppService:
		what = "App Service apps"
		resources, err = readAppService(ctx, client, p)
	case serviceKeyVault:
		what = "key vaults"
		resources, err = readVaults(ctx, client, p, c.now())
	}
	if err != nil {
		return task.Output{}, classify(err, p)
	}
	if err := checkSelection(p, resources, what); err != nil {
		return task.Output{}, err
	}
	out, worst := posture.Aggregate(Facts, what, resources, in.Gates)
	out.Metrics["resources"] = float64(len(resources))
	c.logger.InfoContext(ctx, "azure posture", slog.String("task", in.Task), slog.String("service", p.service),
		slog.Int("resources", len(resources)), slog.Int("facts", len(worst)))
	return out, nil
}

// checkSelection fails a selection that found nothing, or not every ID.
func checkSelection(p params, resources []posture.Resource, what string) error {
	if len(p.sel.IDs) == 0 {
		if len(resources) == 0 {
			filter := "resource group " + p.resourceGroup
			if p.sel.ByTags() {
				filter = "the tag filter " + p.sel.FilterText()
			}
			return task.Failed(task.Output{}, true, "azure-posture: %s matches no %s in %s", filter, what, p.where())
		}
		return nil
	}
	if missing := p.sel.Missing(resources); len(missing) > 0 {
		return task.Failed(task.Output{}, true, "azure-posture: %s not found in %s: %s", what, p.where(), strings.Join(missing, ", "))
	}
	return nil
}

// chosen returns the plan's names for a resource when the plan selected
// it (the IDs it matched, or its name for a tag or group selection), and
// whether it did. Resource IDs and names compare case-insensitively, as
// Azure does.
func chosen(p params, r azure.Resource) ([]string, bool) {
	if p.resourceGroup != "" && !strings.EqualFold(r.ResourceGroup, p.resourceGroup) {
		return nil, false
	}
	if len(p.sel.IDs) > 0 {
		var names []string
		for _, id := range p.sel.IDs {
			if strings.EqualFold(id, r.Name) || strings.EqualFold(strings.TrimSuffix(id, "/"), r.ID) {
				names = append(names, id)
			}
		}
		return names, len(names) > 0
	}
	if p.sel.ByTags() {
		return nil, p.sel.MatchTags(r.Tags)
	}
	return nil, true
}

// newResource starts a resource's facts.
func newResource(r azure.Resource, aliases []string, kind string) posture.Resource {
	return posture.Resource{ID: r.Name, Aliases: append(aliases, r.ID), Kind: kind}
}

// classify turns an ARM error into a task error: a denied call names its
// operation and RBAC action; no credential, a rejected token and an
// unknown subscription say so. None is retried.
func classify(err error, p params) error {
	if _, ok := task.AsError(err); ok {
		return err
	}
	var e *azure.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("azure-posture in %s: %w", p.where(), err)
	}
	switch {
	case e.Credential:
		return task.Failed(task.Output{}, true, "azure-posture: no Azure credential for %s (DefaultAzureCredential tried the environment, workload identity, managed identity and the Azure CLI): %v", callName(e), e.Err)
	case e.Denied():
		return task.Failed(task.Output{}, true, "azure-posture: %s in %s was denied (%s): the identity needs %s (%s): %s",
			e.Operation, p.where(), e.Code, e.Action, e.Role, e.Message())
	case e.Code == "SubscriptionNotFound" || e.Code == "InvalidSubscriptionId":
		return task.Failed(task.Output{}, true, "azure-posture: subscription %s not found (%s): check the ID and that the identity has a role on it", p.subscription, e.Code)
	case e.Code == "ResourceGroupNotFound":
		return task.Failed(task.Output{}, true, "azure-posture: resource group %s not found in subscription %s", p.resourceGroup, p.subscription)
	case e.Status == http.StatusUnauthorized:
		return task.Failed(task.Output{}, true, "azure-posture: %s: Azure Resource Manager rejected the token (%d %s): %s", e.Operation, e.Status, e.Code, e.Message())
	}
	if e.Status != 0 {
		// ARM's answer, without the SDK's dump of the request.
		return fmt.Errorf("azure-posture %s in %s: %d %s: %s", e.Operation, p.where(), e.Status, e.Code, e.Message())
	}
	return fmt.Errorf("azure-posture %s in %s: %w", e.Operation, p.where(), err)
}

func callName(e *azure.Error) string {
	if e.Operation == "" {
		return "Azure Resource Manager"
	}
	return e.Operation
}

// days is a count of days in seconds.
func days[N int | float64](n N) float64 { return float64(n) * 86400 }
