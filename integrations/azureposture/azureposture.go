// Package azureposture reads the configuration of Azure resources of one
// subscription through Azure Resource Manager (the azure-sdk-for-go ARM
// clients): PostgreSQL flexible servers, storage accounts (blob service
// properties, lifecycle management policy), App Service apps (site
// configuration, autoscale settings of their plans) and key vaults. It
// returns plain values; ARM errors become *Error, naming the operation
// and the Azure RBAC action it needs.
package azureposture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v5"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	pg "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/postgresql/armpostgresqlflexibleservers"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/storage/armstorage"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// Client reads the resources of one subscription.
type Client struct {
	subscription string
	servers      *pg.ServersClient
	accounts     *armstorage.AccountsClient
	blobServices *armstorage.BlobServicesClient
	policies     *armstorage.ManagementPoliciesClient
	sites        *armappservice.WebAppsClient
	autoscale    *armmonitor.AutoscaleSettingsClient
	vaults       *armkeyvault.VaultsClient
	// raw reads what the SDK's API versions lack (a flexible server's
	// storage autogrow), through the same ARM pipeline.
	raw *arm.Client
	// cred and secretsOpts make the Key Vault data plane clients.
	cred        azcore.TokenCredential
	secretsOpts azsecrets.ClientOptions
}

// New returns a client for subscription authenticating with cred; opts
// may be nil (Azure's public cloud). Resource provider registration is
// turned off: the client only reads.
func New(subscription string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*Client, error) {
	o := arm.ClientOptions{}
	if opts != nil {
		o = *opts
	}
	o.DisableRPRegistration = true
	c := &Client{subscription: subscription, cred: cred}
	c.secretsOpts.ClientOptions = o.ClientOptions
	c.secretsOpts.Cloud = cloud.Configuration{}
	// Key Vault's challenge names the resource a token is for; the
	// client checks the vault's host is under it. Vault URIs come from
	// ARM, so an ARM endpoint other than Azure's public cloud (a
	// sovereign cloud, a test fake) turns the check off.
	if rm := o.Cloud.Services[cloud.ResourceManager].Endpoint; rm != "" && rm != cloud.AzurePublic.Services[cloud.ResourceManager].Endpoint {
		c.secretsOpts.DisableChallengeResourceVerification = true
	}
	var err error
	if c.servers, err = pg.NewServersClient(subscription, cred, &o); err != nil {
		return nil, err
	}
	if c.accounts, err = armstorage.NewAccountsClient(subscription, cred, &o); err != nil {
		return nil, err
	}
	if c.blobServices, err = armstorage.NewBlobServicesClient(subscription, cred, &o); err != nil {
		return nil, err
	}
	if c.policies, err = armstorage.NewManagementPoliciesClient(subscription, cred, &o); err != nil {
		return nil, err
	}
	if c.sites, err = armappservice.NewWebAppsClient(subscription, cred, &o); err != nil {
		return nil, err
	}
	if c.autoscale, err = armmonitor.NewAutoscaleSettingsClient(subscription, cred, &o); err != nil {
		return nil, err
	}
	if c.vaults, err = armkeyvault.NewVaultsClient(subscription, cred, &o); err != nil {
		return nil, err
	}
	if c.raw, err = arm.NewClient("azureposture", "v1.0.0", cred, &o); err != nil {
		return nil, err
	}
	return c, nil
}

// NewDefault returns a client for subscription authenticating with
// azidentity's DefaultAzureCredential (environment, workload identity,
// managed identity, Azure CLI…); opts may be nil.
func NewDefault(subscription string, opts *arm.ClientOptions) (*Client, error) {
	var copts *azidentity.DefaultAzureCredentialOptions
	if opts != nil {
		copts = &azidentity.DefaultAzureCredentialOptions{ClientOptions: opts.ClientOptions}
	}
	cred, err := azidentity.NewDefaultAzureCredential(copts)
	if err != nil {
		return nil, &Error{Credential: true, Err: err}
	}
	return New(subscription, cred, opts)
}

// Error is a failed ARM call.
type Error struct {
	// Operation is the ARM operation ("StorageAccounts_List").
	Operation string
	// Action is the Azure RBAC action the operation needs
	// ("Microsoft.Storage/storageAccounts/read").
	Action string
	// Status and Code are ARM's answer (403, "AuthorizationFailed");
	// zero when no answer came.
	Status int
	Code   string
	// Role says which role grants Action ("the Reader role has it").
	Role string
	// Credential is true when no token could be had: no credential
	// found, or the identity provider refused it.
	Credential bool
	Err        error
}

func (e *Error) Error() string {
	if e.Operation == "" {
		return "azure credential: " + e.Err.Error()
	}
	return e.Operation + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Denied reports whether ARM refused the call for want of a permission.
func (e *Error) Denied() bool {
	return e.Status == http.StatusForbidden || e.Code == "AuthorizationFailed"
}

// Message is ARM's error message, without the SDK's request dump.
func (e *Error) Message() string {
	var re *azcore.ResponseError
	if errors.As(e.Err, &re) && re.RawResponse != nil {
		return armMessage(re)
	}
	return e.Err.Error()
}

func wrap(err error, operation, action string) error {
	if err == nil {
		return nil
	}
	e := &Error{Operation: operation, Action: action, Role: "the Reader role has it", Err: err}
	var re *azcore.ResponseError
	var auth *azidentity.AuthenticationFailedError
	switch {
	case errors.As(err, &re):
		e.Status, e.Code = re.StatusCode, re.ErrorCode
	case errors.As(err, &auth) || strings.Contains(err.Error(), "DefaultAzureCredential") || strings.Contains(err.Error(), "Credential:"):
		e.Credential = true
	}
	return e
}

// armMessage reads error.message from an ARM (or Key Vault) error body,
// which the SDK keeps readable.
func armMessage(re *azcore.ResponseError) string {
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if data, err := runtime.Payload(re.RawResponse); err == nil && json.Unmarshal(data, &body) == nil && body.Error.Message != "" {
		return body.Error.Message
	}
	return fmt.Sprintf("%d %s", re.StatusCode, re.ErrorCode)
}

func notFound(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// Resource is what every ARM resource has.
type Resource struct {
	ID, Name, ResourceGroup, Location string
	Tags                              map[string]string
}

func resource(id, name, location *string, tags map[string]*string) Resource {
	r := Resource{ID: deref(id), Name: deref(name), Location: deref(location), Tags: map[string]string{}}
	r.ResourceGroup = ResourceGroupOf(r.ID)
	for k, v := range tags {
		r.Tags[k] = deref(v)
	}
	return r
}

// ResourceGroupOf returns the resource group named in a resource ID.
func ResourceGroupOf(id string) string {
	p := strings.Split(strings.Trim(id, "/"), "/")
	for i := 0; i+1 < len(p); i++ {
		if strings.EqualFold(p[i], "resourceGroups") {
			return p[i+1]
		}
	}
	return ""
}

// PostgresServer is a PostgreSQL flexible server's posture.
type PostgresServer struct {
	Resource
	State, Version      string
	BackupRetentionDays int
	GeoRedundantBackup  bool
	// EarliestRestore is the oldest point a point-in-time restore can
	// reach (backup.earliestRestoreDate); zero when Azure does not say.
	EarliestRestore time.Time
	// HighAvailability is the HA mode: Disabled, ZoneRedundant or
	// SameZone.
	HighAvailability    string
	PublicNetworkAccess string
}

// postgresStorageAPI is the flexible server API version that has
// storage.autoGrow (the SDK's, 2021-06-01, has not).
const postgresStorageAPI = "2024-08-01"

// PostgresStorage is a flexible server's storage settings.
type PostgresStorage struct {
	SizeGB   int
	AutoGrow bool
	Tier     string
}

// PostgresStorage reads a flexible server's storage settings (Servers_Get
// at api-version 2024-08-01).
func (c *Client) PostgresStorage(ctx context.Context, serverID string) (PostgresStorage, error) {
	const op, action = "Servers_Get", "Microsoft.DBforPostgreSQL/flexibleServers/read"
	u, err := url.Parse(runtime.JoinPaths(c.raw.Endpoint(), serverID))
	if err != nil {
		return PostgresStorage{}, wrap(err, op, action)
	}
	u.RawQuery = url.Values{"api-version": {postgresStorageAPI}}.Encode()
	req, err := runtime.NewRequest(ctx, http.MethodGet, u.String())
	if err != nil {
		return PostgresStorage{}, wrap(err, op, action)
	}
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := c.raw.Pipeline().Do(req)
	if err != nil {
		return PostgresStorage{}, wrap(err, op, action)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return PostgresStorage{}, wrap(runtime.NewResponseError(resp), op, action)
	}
	var body struct {
		Properties struct {
			Storage struct {
				StorageSizeGB int    `json:"storageSizeGB"`
				AutoGrow      string `json:"autoGrow"`
				Tier          string `json:"tier"`
			} `json:"storage"`
		} `json:"properties"`
	}
	if err := runtime.UnmarshalAsJSON(resp, &body); err != nil {
		return PostgresStorage{}, wrap(err, op, action)
	}
	st := body.Properties.Storage
	return PostgresStorage{SizeGB: st.StorageSizeGB, AutoGrow: strings.EqualFold(st.AutoGrow, "Enabled"), Tier: st.Tier}, nil
}

// PostgresServers lists the flexible servers of the subscription, or of
// one resource group.
func (c *Client) PostgresServers(ctx context.Context, resourceGroup string) ([]PostgresServer, error) {
	var out []PostgresServer
	add := func(list []*pg.Server) {
		for _, s := range list {
			v := PostgresServer{Resource: resource(s.ID, s.Name, s.Location, s.Tags), HighAvailability: "Disabled"}
			if p := s.Properties; p != nil {
				v.State, v.Version = str(p.State), str(p.Version)
				if b := p.Backup; b != nil {
					v.BackupRetentionDays = int(deref(b.BackupRetentionDays))
					v.GeoRedundantBackup = str(b.GeoRedundantBackup) == string(pg.GeoRedundantBackupEnumEnabled)
					v.EarliestRestore = deref(b.EarliestRestoreDate)
				}
				if h := p.HighAvailability; h != nil && h.Mode != nil {
					v.HighAvailability = string(*h.Mode)
				}
				if n := p.Network; n != nil {
					v.PublicNetworkAccess = str(n.PublicNetworkAccess)
				}
			}
			out = append(out, v)
		}
	}
	if resourceGroup != "" {
		pager := c.servers.NewListByResourceGroupPager(resourceGroup, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, wrap(err, "Servers_ListByResourceGroup", "Microsoft.DBforPostgreSQL/flexibleServers/read")
			}
			add(page.Value)
		}
		return out, nil
	}
	pager := c.servers.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "Servers_List", "Microsoft.DBforPostgreSQL/flexibleServers/read")
		}
		add(page.Value)
	}
	return out, nil
}

// StorageAccount is a storage account's posture, from its properties.
type StorageAccount struct {
	Resource
	Kind string
	// MinimumTLSVersion is as ARM writes it: TLS1_0, TLS1_1, TLS1_2…
	// (empty: not set, which Azure treats as TLS1_0).
	MinimumTLSVersion string
	HTTPSOnly         bool
	// BlobEncryption is true when the blob service's encryption is on
	// (always, since 2017); KeySource is Microsoft.Storage or
	// Microsoft.Keyvault (customer-managed keys).
	BlobEncryption           bool
	KeySource                string
	InfrastructureEncryption bool
	AllowBlobPublicAccess    bool
	PublicNetworkAccess      string
}

// StorageAccounts lists the storage accounts of the subscription, or of
// one resource group.
func (c *Client) StorageAccounts(ctx context.Context, resourceGroup string) ([]StorageAccount, error) {
	var out []StorageAccount
	add := func(list []*armstorage.Account) {
		for _, a := range list {
			v := StorageAccount{Resource: resource(a.ID, a.Name, a.Location, a.Tags), Kind: str(a.Kind)}
			if p := a.Properties; p != nil {
				v.MinimumTLSVersion = str(p.MinimumTLSVersion)
				v.HTTPSOnly = deref(p.EnableHTTPSTrafficOnly)
				v.AllowBlobPublicAccess = deref(p.AllowBlobPublicAccess)
				v.PublicNetworkAccess = str(p.PublicNetworkAccess)
				if e := p.Encryption; e != nil {
					v.KeySource = str(e.KeySource)
					v.InfrastructureEncryption = deref(e.RequireInfrastructureEncryption)
					if e.Services != nil && e.Services.Blob != nil {
						v.BlobEncryption = deref(e.Services.Blob.Enabled)
					}
				}
			}
			out = append(out, v)
		}
	}
	if resourceGroup != "" {
		pager := c.accounts.NewListByResourceGroupPager(resourceGroup, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, wrap(err, "StorageAccounts_ListByResourceGroup", "Microsoft.Storage/storageAccounts/read")
			}
			add(page.Value)
		}
		return out, nil
	}
	pager := c.accounts.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "StorageAccounts_List", "Microsoft.Storage/storageAccounts/read")
		}
		add(page.Value)
	}
	return out, nil
}

// BlobService is the blob service properties of an account that matter.
type BlobService struct {
	SoftDelete              bool
	SoftDeleteRetentionDays int
	Versioning              bool
}

// BlobService reads an account's blob service properties.
func (c *Client) BlobService(ctx context.Context, resourceGroup, account string) (BlobService, error) {
	res, err := c.blobServices.GetServiceProperties(ctx, resourceGroup, account, nil)
	if err != nil {
		return BlobService{}, wrap(err, "BlobServices_GetServiceProperties", "Microsoft.Storage/storageAccounts/blobServices/read")
	}
	var b BlobService
	if p := res.BlobServiceProperties.BlobServiceProperties; p != nil {
		if d := p.DeleteRetentionPolicy; d != nil {
			b.SoftDelete = deref(d.Enabled)
			if b.SoftDelete {
				b.SoftDeleteRetentionDays = int(deref(d.Days))
			}
		}
		b.Versioning = deref(p.IsVersioningEnabled)
	}
	return b, nil
}

// LifecycleRule is one rule of an account's lifecycle management policy:
// the days after modification at which base blobs move to a tier or are
// deleted (nil: the rule has no such action).
type LifecycleRule struct {
	Name                        string
	Enabled                     bool
	Cool, Cold, Archive, Delete *float64
}

// Lifecycle reads an account's lifecycle management policy; found is
// false when the account has none.
func (c *Client) Lifecycle(ctx context.Context, resourceGroup, account string) (rules []LifecycleRule, found bool, err error) {
	res, err := c.policies.Get(ctx, resourceGroup, account, armstorage.ManagementPolicyNameDefault, nil)
	if notFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(err, "ManagementPolicies_Get", "Microsoft.Storage/storageAccounts/managementPolicies/read")
	}
	if res.Properties == nil || res.Properties.Policy == nil {
		return nil, true, nil
	}
	for _, r := range res.Properties.Policy.Rules {
		if r == nil {
			continue
		}
		rule := LifecycleRule{Name: deref(r.Name), Enabled: r.Enabled == nil || *r.Enabled}
		if d := r.Definition; d != nil && d.Actions != nil && d.Actions.BaseBlob != nil {
			b := d.Actions.BaseBlob
			rule.Cool, rule.Cold, rule.Archive, rule.Delete = afterModification(b.TierToCool), afterModification(b.TierToCold), afterModification(b.TierToArchive), afterModification(b.Delete)
		}
		rules = append(rules, rule)
	}
	return rules, true, nil
}

func afterModification(d *armstorage.DateAfterModification) *float64 {
	if d == nil || d.DaysAfterModificationGreaterThan == nil {
		return nil
	}
	v := float64(*d.DaysAfterModificationGreaterThan)
	return &v
}

// WebApp is an App Service app, from the site list.
type WebApp struct {
	Resource
	Kind, State string
	HTTPSOnly   bool
	// PlanID is the resource ID of its App Service plan.
	PlanID string
}

// WebApps lists the App Service apps (web, API and function apps) of
// the subscription, or of one resource group.
func (c *Client) WebApps(ctx context.Context, resourceGroup string) ([]WebApp, error) {
	var out []WebApp
	add := func(list []*armappservice.Site) {
		for _, s := range list {
			v := WebApp{Resource: resource(s.ID, s.Name, s.Location, s.Tags), Kind: deref(s.Kind)}
			if p := s.Properties; p != nil {
				v.State, v.HTTPSOnly, v.PlanID = deref(p.State), deref(p.HTTPSOnly), deref(p.ServerFarmID)
			}
			out = append(out, v)
		}
	}
	if resourceGroup != "" {
		pager := c.sites.NewListByResourceGroupPager(resourceGroup, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, wrap(err, "WebApps_ListByResourceGroup", "Microsoft.Web/sites/read")
			}
			add(page.Value)
		}
		return out, nil
	}
	pager := c.sites.NewListPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "WebApps_List", "Microsoft.Web/sites/read")
		}
		add(page.Value)
	}
	return out, nil
}

// SiteConfig is the part of an app's configuration that matters.
type SiteConfig struct {
	// MinTLSVersion is as ARM writes it: 1.0, 1.1, 1.2, 1.3.
	MinTLSVersion   string
	HealthCheckPath string
	AlwaysOn        bool
	FTPSState       string
}

// SiteConfig reads an app's configuration (the list leaves it out).
func (c *Client) SiteConfig(ctx context.Context, resourceGroup, name string) (SiteConfig, error) {
	res, err := c.sites.GetConfiguration(ctx, resourceGroup, name, nil)
	if err != nil {
		return SiteConfig{}, wrap(err, "WebApps_GetConfiguration", "Microsoft.Web/sites/config/read")
	}
	var s SiteConfig
	if p := res.Properties; p != nil {
		s.MinTLSVersion, s.HealthCheckPath, s.AlwaysOn, s.FTPSState = str(p.MinTLSVersion), deref(p.HealthCheckPath), deref(p.AlwaysOn), str(p.FtpsState)
	}
	return s, nil
}

// Autoscale is an autoscale setting.
type Autoscale struct {
	Name string
	// Target is the resource ID it scales (an App Service plan, a VM
	// scale set).
	Target   string
	Enabled  bool
	Profiles int
	// MinInstances and MaxInstances are the least minimum and the
	// greatest maximum over its profiles.
	MinInstances, MaxInstances int
}

// AutoscaleSettings lists the autoscale settings of the subscription, or
// of one resource group.
func (c *Client) AutoscaleSettings(ctx context.Context, resourceGroup string) ([]Autoscale, error) {
	var out []Autoscale
	add := func(list []*armmonitor.AutoscaleSettingResource) {
		for _, s := range list {
			v := Autoscale{Name: deref(s.Name), MinInstances: -1}
			if p := s.Properties; p != nil {
				v.Target, v.Enabled, v.Profiles = deref(p.TargetResourceURI), p.Enabled == nil || *p.Enabled, len(p.Profiles)
				for _, pr := range p.Profiles {
					if pr == nil || pr.Capacity == nil {
						continue
					}
					var lo, hi int
					fmt.Sscan(deref(pr.Capacity.Minimum), &lo)
					fmt.Sscan(deref(pr.Capacity.Maximum), &hi)
					if v.MinInstances < 0 || lo < v.MinInstances {
						v.MinInstances = lo
					}
					v.MaxInstances = max(v.MaxInstances, hi)
				}
			}
			v.MinInstances = max(v.MinInstances, 0)
			out = append(out, v)
		}
	}
	if resourceGroup != "" {
		pager := c.autoscale.NewListByResourceGroupPager(resourceGroup, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, wrap(err, "AutoscaleSettings_ListByResourceGroup", "Microsoft.Insights/autoscalesettings/read")
			}
			add(page.Value)
		}
		return out, nil
	}
	pager := c.autoscale.NewListBySubscriptionPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "AutoscaleSettings_ListBySubscription", "Microsoft.Insights/autoscalesettings/read")
		}
		add(page.Value)
	}
	return out, nil
}

// Vault is a key vault's posture.
type Vault struct {
	Resource
	URI             string
	SoftDelete      bool
	PurgeProtection bool
	// RetentionDays is how long deleted objects are kept (Azure's
	// default, 90, when the vault does not say and soft delete is on).
	RetentionDays       int
	PublicNetworkAccess string
	RBACAuthorization   bool
}

// Vaults lists the key vaults of the subscription, or of one resource
// group.
func (c *Client) Vaults(ctx context.Context, resourceGroup string) ([]Vault, error) {
	var out []Vault
	add := func(list []*armkeyvault.Vault) {
		for _, s := range list {
			v := Vault{Resource: resource(s.ID, s.Name, s.Location, s.Tags)}
			if p := s.Properties; p != nil {
				// Soft delete is on unless a vault says false: Azure
				// turned it on for every vault in 2020.
				v.URI, v.SoftDelete, v.PurgeProtection = deref(p.VaultURI), p.EnableSoftDelete == nil || *p.EnableSoftDelete, deref(p.EnablePurgeProtection)
				v.RetentionDays = int(deref(p.SoftDeleteRetentionInDays))
				if v.SoftDelete && v.RetentionDays == 0 {
					v.RetentionDays = 90
				}
				if !v.SoftDelete {
					v.RetentionDays = 0
				}
				v.PublicNetworkAccess, v.RBACAuthorization = deref(p.PublicNetworkAccess), deref(p.EnableRbacAuthorization)
			}
			out = append(out, v)
		}
	}
	if resourceGroup != "" {
		pager := c.vaults.NewListByResourceGroupPager(resourceGroup, nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, wrap(err, "Vaults_ListByResourceGroup", "Microsoft.KeyVault/vaults/read")
			}
			add(page.Value)
		}
		return out, nil
	}
	pager := c.vaults.NewListBySubscriptionPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "Vaults_ListBySubscription", "Microsoft.KeyVault/vaults/read")
		}
		add(page.Value)
	}
	return out, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func str[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// Secret is the metadata of a secret's current version (never its
// value).
type Secret struct {
	Name             string
	Enabled, Managed bool
	// Expires is zero when the secret has no expiry date.
	Expires, Created, Updated time.Time
}

// Secrets lists the secrets of a vault through the Key Vault data plane
// (metadata only: the list carries no values).
func (c *Client) Secrets(ctx context.Context, vaultURI string) ([]Secret, error) {
	opts := c.secretsOpts
	client, err := azsecrets.NewClient(vaultURI, c.cred, &opts)
	if err != nil {
		return nil, err
	}
	var out []Secret
	pager := client.NewListSecretPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			e := wrap(err, "GetSecrets", "Microsoft.KeyVault/vaults/secrets/readMetadata/action")
			if ae, ok := e.(*Error); ok {
				ae.Role = "the Key Vault Reader role has it, or an access policy granting List on secrets"
			}
			return nil, e
		}
		for _, p := range page.Value {
			if p == nil {
				continue
			}
			s := Secret{Enabled: true, Managed: deref(p.Managed)}
			if p.ID != nil {
				s.Name = itemName(string(*p.ID), "/secrets/")
			}
			if a := p.Attributes; a != nil {
				s.Enabled = a.Enabled == nil || *a.Enabled
				s.Expires, s.Created, s.Updated = deref(a.Expires), deref(a.Created), deref(a.Updated)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// Key is the metadata of a key and its rotation policy.
type Key struct {
	Name             string
	Enabled, Managed bool
	// Rotate is the rotation policy's Rotate action: after how long
	// from creation (RotateAfterCreate) or how long before the key
	// expires (RotateBeforeExpiry, with Expiry the policy's expiry
	// time), as ISO 8601 durations; all empty without a Rotate action.
	RotateAfterCreate, RotateBeforeExpiry, Expiry string
}

// Keys lists the keys of a vault and reads each enabled key's rotation
// policy through the Key Vault data plane (metadata only).
func (c *Client) Keys(ctx context.Context, vaultURI string) ([]Key, error) {
	opts := azkeys.ClientOptions{ClientOptions: c.secretsOpts.ClientOptions, DisableChallengeResourceVerification: c.secretsOpts.DisableChallengeResourceVerification}
	client, err := azkeys.NewClient(vaultURI, c.cred, &opts)
	if err != nil {
		return nil, err
	}
	denied := func(err error, op, action string) error {
		e := wrap(err, op, action)
		if ae, ok := e.(*Error); ok {
			ae.Role = "the Key Vault Reader role has it, or an access policy granting List and Get on keys"
		}
		return e
	}
	var out []Key
	pager := client.NewListKeyPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, denied(err, "GetKeys", "Microsoft.KeyVault/vaults/keys/read")
		}
		for _, p := range page.Value {
			if p == nil || p.KID == nil {
				continue
			}
			k := Key{Name: itemName(string(*p.KID), "/keys/"), Enabled: true, Managed: deref(p.Managed)}
			if a := p.Attributes; a != nil {
				k.Enabled = a.Enabled == nil || *a.Enabled
			}
			out = append(out, k)
		}
	}
	for i, k := range out {
		if !k.Enabled || k.Managed {
			continue
		}
		pol, err := client.GetKeyRotationPolicy(ctx, k.Name, nil)
		if notFound(err) {
			continue // no policy: no rotation
		}
		if err != nil {
			return nil, denied(err, "GetKeyRotationPolicy", "Microsoft.KeyVault/vaults/keys/rotationpolicy/read")
		}
		if a := pol.Attributes; a != nil {
			out[i].Expiry = deref(a.ExpiryTime)
		}
		for _, la := range pol.LifetimeActions {
			if la == nil || la.Action == nil || la.Trigger == nil || !strings.EqualFold(str(la.Action.Type), "rotate") {
				continue
			}
			out[i].RotateAfterCreate, out[i].RotateBeforeExpiry = deref(la.Trigger.TimeAfterCreate), deref(la.Trigger.TimeBeforeExpiry)
		}
	}
	return out, nil
}

// itemName reads NAME from VAULT/secrets/NAME[/VERSION] (kind
// "/secrets/") or VAULT/keys/NAME[/VERSION] ("/keys/"): the vault's URI
// may have a path of its own, so the SDK's ID parsers, which assume none,
// are not used.
func itemName(id, kind string) string {
	i := strings.LastIndex(id, kind)
	if i < 0 {
		return id
	}
	name, _, _ := strings.Cut(id[i+len(kind):], "/")
	return name
}
