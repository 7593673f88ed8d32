// Package armfake is a protocol-level fake of Azure Resource Manager for
// the reads azure-posture makes: an httptest TLS server the real ARM
// clients (armpostgresqlflexibleservers, armstorage, armappservice,
// armmonitor, armkeyvault) can be pointed at. It is not Azure: it holds
// the resources a test adds and serves them as ARM documents them.
//
// Semantics enforced (from the ARM REST references):
//   - bearer authentication: a request without "Authorization: Bearer
//     Token" is 401 AuthenticationFailed;
//   - the api-version query parameter of each operation is the one its
//     REST reference (and the SDK) uses; a missing one is 400
//     MissingApiVersionParameter, another one 400
//     InvalidApiVersionParameter;
//   - Servers_Get of a flexible server is served at api-version
//     2024-08-01 only (it alone carries storage.autoGrow), the other
//     operations at the version of their SDK;
//   - only the routes below, GET only; an unknown subscription is 404
//     SubscriptionNotFound, an unknown resource 404 ResourceNotFound, an
//     account without a lifecycle policy 404;
//   - lists are paged: PageSize items per page and a nextLink carrying
//     $skiptoken (and the api-version) until the last page;
//   - Throttle(operation, n) answers the next n calls 429 TooManyRequests
//     with Retry-After: 1, which the SDK's retry policy honours;
//   - Deny(operation) answers 403 AuthorizationFailed with ARM's message
//     naming the action and scope.
//
// The Key Vault data plane of each vault is served at its vaultUri,
// URL/vaults/NAME/ (Get Secrets, Get Keys, Get Key Rotation Policy, a
// key without a policy answering the default one: challenge authentication, a 401 with a
// WWW-Authenticate challenge first, then the bearer Token; api-version
// required; lists paged with nextLink; Throttle and Deny apply to the
// operations "GetSecrets", "GetKeys" and "GetKeyRotationPolicy", a
// denial being 403 Forbidden ForbiddenByRbac naming the data action).
//
// It also serves an App Service managed identity endpoint (IDENTITY_ENDPOINT
// / IDENTITY_HEADER, api-version 2019-08-01) at /msi/token issuing Token,
// so a process using DefaultAzureCredential can be pointed at the fake.
package armfake

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/shipshape-dev/shipshape/internal/armhttp"
)

// Token is the bearer token Credential and the identity endpoint issue
// and the fake accepts.
const Token = "armfake-token"

// IdentityHeader is the secret the managed identity endpoint wants in
// X-IDENTITY-HEADER.
const IdentityHeader = "armfake-identity-header"

// Credential issues Token.
func Credential() armhttp.Token { return armhttp.Token(Token) }

// Postgres is a PostgreSQL flexible server.
type Postgres struct {
	Name, ResourceGroup string
	Tags                map[string]string
	RetentionDays       int
	GeoRedundantBackup  bool
	// HA is the high availability mode: "", Disabled, ZoneRedundant,
	// SameZone.
	HA           string
	PublicAccess bool
	// AutoGrow is storage autogrow, served only by Servers_Get at
	// api-version 2024-08-01 (the 2021-06-01 list has no such field).
	AutoGrow bool
	// EarliestRestore is backup.earliestRestoreDate; zero: now less the
	// retention (a server older than its retention).
	EarliestRestore time.Time
}

// StorageAccount is a storage account with its blob service and
// lifecycle policy.
type StorageAccount struct {
	Name, ResourceGroup string
	Tags                map[string]string
	// MinTLS is TLS1_0, TLS1_1, TLS1_2 or empty (not set).
	MinTLS    string
	HTTPSOnly bool
	// AllowBlobPublicAccess nil leaves the property out.
	AllowBlobPublicAccess *bool
	// KeySource is Microsoft.Storage (default) or Microsoft.Keyvault.
	KeySource string
	// SoftDeleteDays is the blob soft delete retention; 0: off.
	SoftDeleteDays int
	// Lifecycle is the management policy's rules; nil: no policy (404).
	Lifecycle []LifecycleRule
}

// LifecycleRule is a lifecycle management rule on base blobs: days after
// modification for each action (0: no such action).
type LifecycleRule struct {
	Name                  string
	Disabled              bool
	Cool, Archive, Delete int
}

// WebApp is an App Service app on a plan (by name, in its resource
// group).
type WebApp struct {
	Name, ResourceGroup, Plan string
	Tags                      map[string]string
	HTTPSOnly                 bool
	MinTLS                    string
	HealthCheckPath           string
	AlwaysOn                  bool
}

// Autoscale is an autoscale setting on an App Service plan (by name, in
// its resource group).
type Autoscale struct {
	Name, ResourceGroup, Plan string
	Disabled                  bool
	Min, Max                  int
}

// Vault is a key vault.
type Vault struct {
	Name, ResourceGroup string
	Tags                map[string]string
	// SoftDelete nil leaves enableSoftDelete out (Azure's default: on).
	SoftDelete      *bool
	PurgeProtection bool
	// RetentionDays 0 leaves softDeleteRetentionInDays out.
	RetentionDays int
	// Secrets and Keys are served by the vault's data plane.
	Secrets []Secret
	Keys    []Key
}

// Key is a key as the Key Vault data plane lists it, with its rotation
// policy.
type Key struct {
	Name              string
	Disabled, Managed bool
	// Policy nil: the key has none, and Get Key Rotation Policy answers
	// the default one (notify 30 days before expiry, no rotation).
	Policy *RotationPolicy
}

// RotationPolicy is a key rotation policy: a Rotate action after
// RotateAfterCreate or RotateBeforeExpiry (ISO 8601 durations, one of
// them), and the expiry time set on new versions.
type RotationPolicy struct {
	RotateAfterCreate, RotateBeforeExpiry, Expiry string
}

// Secret is a secret's current version, as the Key Vault data plane
// lists it (no value).
type Secret struct {
	Name              string
	Disabled, Managed bool
	// Expires zero: no expiry date.
	Expires, Created time.Time
}

// Server is a running fake.
type Server struct {
	URL    string
	Client *http.Client
	// Subscription is the one subscription that exists.
	Subscription string
	// PageSize is how many items a list page holds (default 100).
	PageSize int

	mu        sync.Mutex
	postgres  []Postgres
	accounts  []StorageAccount
	sites     []WebApp
	autoscale []Autoscale
	vaults    []Vault
	throttle  map[string]int
	deny      map[string]bool
	calls     []string
	srv       *httptest.Server
}

// Start serves the fake until the test ends.
func Start(t testing.TB, subscription string) *Server {
	t.Helper()
	s := &Server{Subscription: subscription, PageSize: 100, throttle: map[string]int{}, deny: map[string]bool{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.URL, s.Client = s.srv.URL, s.srv.Client()
	return s
}

// CertificatePEM is the fake's TLS certificate, for a process that must
// trust it (SSL_CERT_FILE).
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// IdentityEndpoint is the App Service managed identity endpoint's URL,
// for IDENTITY_ENDPOINT.
func (s *Server) IdentityEndpoint() string { return s.URL + "/msi/token" }

// ClientOptions point an ARM client at the fake, with short retry delays
// where no Retry-After says otherwise.
func (s *Server) ClientOptions() *arm.ClientOptions {
	return armhttp.ClientOptions(s.URL, s.Client)
}

// AddPostgres adds flexible servers.
func (s *Server) AddPostgres(p ...Postgres) {
	s.mu.Lock()
	s.postgres = append(s.postgres, p...)
	s.mu.Unlock()
}

// AddStorageAccount adds storage accounts.
func (s *Server) AddStorageAccount(a ...StorageAccount) {
	s.mu.Lock()
	s.accounts = append(s.accounts, a...)
	s.mu.Unlock()
}

// AddWebApp adds App Service apps.
func (s *Server) AddWebApp(a ...WebApp) { s.mu.Lock(); s.sites = append(s.sites, a...); s.mu.Unlock() }

// AddAutoscale adds autoscale settings.
func (s *Server) AddAutoscale(a ...Autoscale) {
	s.mu.Lock()
	s.autoscale = append(s.autoscale, a...)
	s.mu.Unlock()
}

// AddVault adds key vaults.
func (s *Server) AddVault(v ...Vault) { s.mu.Lock(); s.vaults = append(s.vaults, v...); s.mu.Unlock() }

// Throttle answers the next n calls of operation 429.
func (s *Server) Throttle(operation string, n int) {
	s.mu.Lock()
	s.throttle[operation] += n
	s.mu.Unlock()
}

// Deny answers every call of operation 403 AuthorizationFailed.
func (s *Server) Deny(operation string) { s.mu.Lock(); s.deny[operation] = true; s.mu.Unlock() }

// Calls lists the operations served, in order (with the status when
// not 200).
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Count is how many calls of operation were made.
func (s *Server) Count(operation string) int {
	n := 0
	for _, c := range s.Calls() {
		if c == operation || strings.HasPrefix(c, operation+" ") {
			n++
		}
	}
	return n
}

type route struct {
	re         *regexp.Regexp
	operation  string // with a resource group: the ByResourceGroup one, when listRG is set
	listRG     string
	apiVersion string
	action     string
}

var vaultPath = regexp.MustCompile(`^/vaults/([^/]+)/(secrets|keys|keys/([^/]+)/rotationpolicy)$`)

const sub = `^/subscriptions/([^/]+)`
const rg = `(?:/resourceGroups/([^/]+))?`

var routes = []route{
	{regexp.MustCompile(`(?i)` + sub + rg + `/providers/Microsoft\.DBforPostgreSQL/flexibleServers$`), "Servers_List", "Servers_ListByResourceGroup", "2021-06-01", "Microsoft.DBforPostgreSQL/flexibleServers/read"},
	{regexp.MustCompile(`(?i)` + sub + `/resourceGroups/([^/]+)/providers/Microsoft\.DBforPostgreSQL/flexibleServers/([^/]+)$`), "Servers_Get", "", "2024-08-01", "Microsoft.DBforPostgreSQL/flexibleServers/read"},
	{regexp.MustCompile(`(?i)` + sub + rg + `/providers/Microsoft\.Storage/storageAccounts$`), "StorageAccounts_List", "StorageAccounts_ListByResourceGroup", "2024-01-01", "Microsoft.Storage/storageAccounts/read"},
	{regexp.MustCompile(`(?i)` + sub + `/resourceGroups/([^/]+)/providers/Microsoft\.Storage/storageAccounts/([^/]+)/blobServices/default$`), "BlobServices_GetServiceProperties", "", "2024-01-01", "Microsoft.Storage/storageAccounts/blobServices/read"},
	{regexp.MustCompile(`(?i)` + sub + `/resourceGroups/([^/]+)/providers/Microsoft\.Storage/storageAccounts/([^/]+)/managementPolicies/default$`), "ManagementPolicies_Get", "", "2024-01-01", "Microsoft.Storage/storageAccounts/managementPolicies/read"},
	{regexp.MustCompile(`(?i)` + sub + rg + `/providers/Microsoft\.Web/sites$`), "WebApps_List", "WebApps_ListByResourceGroup", "2024-11-01", "Microsoft.Web/sites/read"},
	{regexp.MustCompile(`(?i)` + sub + `/resourceGroups/([^/]+)/providers/Microsoft\.Web/sites/([^/]+)/config/web$`), "WebApps_GetConfiguration", "", "2024-11-01", "Microsoft.Web/sites/config/read"},
	{regexp.MustCompile(`(?i)` + sub + rg + `/providers/Microsoft\.Insights/autoscalesettings$`), "AutoscaleSettings_ListBySubscription", "AutoscaleSettings_ListByResourceGroup", "2022-10-01", "Microsoft.Insights/autoscalesettings/read"},
	{regexp.MustCompile(`(?i)` + sub + rg + `/providers/Microsoft\.KeyVault/vaults$`), "Vaults_ListBySubscription", "Vaults_ListByResourceGroup", "2024-11-01", "Microsoft.KeyVault/vaults/read"},
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/msi/token" {
		s.identity(w, r)
		return
	}
	if m := vaultPath.FindStringSubmatch(r.URL.Path); m != nil {
		s.dataPlane(w, r, m[1], m[2], m[3])
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Token {
		armhttp.Error(w, 401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing or invalid.")
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") == "" {
		armhttp.Error(w, 400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	var rt *route
	var m []string
	for i := range routes {
		if m = routes[i].re.FindStringSubmatch(r.URL.Path); m != nil {
			rt = &routes[i]
			break
		}
	}
	if rt == nil || r.Method != http.MethodGet {
		armhttp.Error(w, 404, "InvalidResourceType", "The resource type could not be found: %s %s.", r.Method, r.URL.Path)
		return
	}
	if v := q.Get("api-version"); v != rt.apiVersion {
		armhttp.Error(w, 400, "InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions are '%s'.", v, rt.apiVersion)
		return
	}
	op := rt.operation
	group := ""
	if len(m) > 2 {
		group = m[2]
	}
	if rt.listRG != "" && group != "" {
		op = rt.listRG
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	record := func(status int) {
		if status == 200 {
			s.calls = append(s.calls, op)
		} else {
			s.calls = append(s.calls, op+" "+strconv.Itoa(status))
		}
	}
	if !strings.EqualFold(m[1], s.Subscription) {
		record(404)
		armhttp.Error(w, 404, "SubscriptionNotFound", "The subscription '%s' could not be found.", m[1])
		return
	}
	if s.throttle[op] > 0 {
		s.throttle[op]--
		record(429)
		w.Header().Set("Retry-After", "1")
		armhttp.Error(w, 429, "TooManyRequests", "The request is being throttled as the limit has been reached for operation type - Read.")
		return
	}
	if s.deny[op] {
		record(403)
		scope := "/subscriptions/" + m[1]
		if group != "" {
			scope += "/resourceGroups/" + group
		}
		armhttp.Error(w, 403, "AuthorizationFailed", "The client 'shipshape-test' with object id '00000000-0000-0000-0000-000000000001' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.", rt.action, scope)
		return
	}
	var items []any
	switch op {
	case "Servers_List", "Servers_ListByResourceGroup":
		for _, p := range s.postgres {
			if inGroup(group, p.ResourceGroup) {
				items = append(items, s.pgBody(p))
			}
		}
	case "StorageAccounts_List", "StorageAccounts_ListByResourceGroup":
		for _, a := range s.accounts {
			if inGroup(group, a.ResourceGroup) {
				items = append(items, s.accountBody(a))
			}
		}
	case "WebApps_List", "WebApps_ListByResourceGroup":
		for _, a := range s.sites {
			if inGroup(group, a.ResourceGroup) {
				items = append(items, s.siteBody(a))
			}
		}
	case "AutoscaleSettings_ListBySubscription", "AutoscaleSettings_ListByResourceGroup":
		for _, a := range s.autoscale {
			if inGroup(group, a.ResourceGroup) {
				items = append(items, s.autoscaleBody(a))
			}
		}
	case "Vaults_ListBySubscription", "Vaults_ListByResourceGroup":
		for _, v := range s.vaults {
			if inGroup(group, v.ResourceGroup) {
				items = append(items, s.vaultBody(v))
			}
		}
	case "Servers_Get":
		for _, p := range s.postgres {
			if strings.EqualFold(p.ResourceGroup, m[2]) && strings.EqualFold(p.Name, m[3]) {
				body := s.pgBody(p)
				autoGrow := "Disabled"
				if p.AutoGrow {
					autoGrow = "Enabled"
				}
				body["properties"].(map[string]any)["storage"] = map[string]any{"storageSizeGB": 128, "autoGrow": autoGrow, "tier": "P10", "type": "Premium_LRS"}
				record(200)
				armhttp.WriteJSON(w, 200, body)
				return
			}
		}
		record(404)
		armhttp.Error(w, 404, "ResourceNotFound", "The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/%s' under resource group '%s' was not found.", m[3], m[2])
		return
	case "BlobServices_GetServiceProperties", "ManagementPolicies_Get":
		a := s.account(m[2], m[3])
		if a == nil {
			record(404)
			armhttp.Error(w, 404, "ResourceNotFound", "The Resource 'Microsoft.Storage/storageAccounts/%s' under resource group '%s' was not found.", m[3], m[2])
			return
		}
		if op == "ManagementPolicies_Get" {
			if a.Lifecycle == nil {
				record(404)
				armhttp.Error(w, 404, "ManagementPolicyNotFound", "No ManagementPolicy found for account %s", a.Name)
				return
			}
			record(200)
			armhttp.WriteJSON(w, 200, s.policyBody(*a))
			return
		}
		record(200)
		armhttp.WriteJSON(w, 200, s.blobServiceBody(*a))
		return
	case "WebApps_GetConfiguration":
		for _, a := range s.sites {
			if strings.EqualFold(a.ResourceGroup, m[2]) && strings.EqualFold(a.Name, m[3]) {
				record(200)
				armhttp.WriteJSON(w, 200, s.configBody(a))
				return
			}
		}
		record(404)
		armhttp.Error(w, 404, "ResourceNotFound", "The Resource 'Microsoft.Web/sites/%s' under resource group '%s' was not found.", m[3], m[2])
		return
	}
	record(200)
	s.page(w, r, items)
}

func inGroup(want, got string) bool { return want == "" || strings.EqualFold(want, got) }

// page writes one page of items and a nextLink to the rest.
func (s *Server) page(w http.ResponseWriter, r *http.Request, items []any) {
	start := 0
	if t := r.URL.Query().Get("$skiptoken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(items) {
			armhttp.Error(w, 400, "InvalidSkipToken", "The skip token %q is invalid.", t)
			return
		}
		start = n
	}
	size := s.PageSize
	if size <= 0 {
		size = 100
	}
	end := min(start+size, len(items))
	body := map[string]any{"value": append([]any{}, items[start:end]...)}
	if end < len(items) {
		q := url.Values{"api-version": {r.URL.Query().Get("api-version")}, "$skiptoken": {strconv.Itoa(end)}}
		body["nextLink"] = s.URL + r.URL.Path + "?" + q.Encode()
	}
	armhttp.WriteJSON(w, 200, body)
}

func (s *Server) id(group, provider, name string) string {
	return "/subscriptions/" + s.Subscription + "/resourceGroups/" + group + "/providers/" + provider + "/" + name
}

func tags(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

func (s *Server) pgBody(p Postgres) map[string]any {
	geo, ha, public := "Disabled", p.HA, "Disabled"
	if p.GeoRedundantBackup {
		geo = "Enabled"
	}
	if ha == "" {
		ha = "Disabled"
	}
	if p.PublicAccess {
		public = "Enabled"
	}
	retention := p.RetentionDays
	if retention == 0 {
		retention = 7 // the service's default
	}
	earliest := p.EarliestRestore
	if earliest.IsZero() {
		earliest = time.Now().Add(-time.Duration(retention) * 24 * time.Hour)
	}
	haBody := map[string]any{"mode": ha}
	if ha != "Disabled" {
		haBody["state"] = "Healthy"
	}
	return map[string]any{
		"id": s.id(p.ResourceGroup, "Microsoft.DBforPostgreSQL/flexibleServers", p.Name), "name": p.Name,
		"type": "Microsoft.DBforPostgreSQL/flexibleServers", "location": "westeurope", "tags": tags(p.Tags),
		"sku": map[string]any{"name": "Standard_D2ds_v4", "tier": "GeneralPurpose"},
		"properties": map[string]any{
			"state": "Ready", "version": "15", "fullyQualifiedDomainName": p.Name + ".postgres.database.azure.com",
			"backup":           map[string]any{"backupRetentionDays": retention, "geoRedundantBackup": geo, "earliestRestoreDate": earliest.UTC().Format(time.RFC3339)},
			"highAvailability": haBody,
			"network":          map[string]any{"publicNetworkAccess": public},
			"storage":          map[string]any{"storageSizeGB": 128},
		},
	}
}

func (s *Server) account(group, name string) *StorageAccount {
	for i := range s.accounts {
		if strings.EqualFold(s.accounts[i].ResourceGroup, group) && strings.EqualFold(s.accounts[i].Name, name) {
			return &s.accounts[i]
		}
	}
	return nil
}

func (s *Server) accountBody(a StorageAccount) map[string]any {
	ks := a.KeySource
	if ks == "" {
		ks = "Microsoft.Storage"
	}
	props := map[string]any{
		"provisioningState": "Succeeded", "supportsHttpsTrafficOnly": a.HTTPSOnly,
		"encryption": map[string]any{"keySource": ks, "services": map[string]any{
			"blob": map[string]any{"enabled": true, "keyType": "Account"}, "file": map[string]any{"enabled": true, "keyType": "Account"}}},
		"primaryEndpoints": map[string]any{"blob": "https://" + a.Name + ".blob.core.windows.net/"},
	}
	if a.MinTLS != "" {
		props["minimumTlsVersion"] = a.MinTLS
	}
	if a.AllowBlobPublicAccess != nil {
		props["allowBlobPublicAccess"] = *a.AllowBlobPublicAccess
	}
	return map[string]any{
		"id": s.id(a.ResourceGroup, "Microsoft.Storage/storageAccounts", a.Name), "name": a.Name,
		"type": "Microsoft.Storage/storageAccounts", "location": "westeurope", "kind": "StorageV2", "tags": tags(a.Tags),
		"sku": map[string]any{"name": "Standard_GRS", "tier": "Standard"}, "properties": props,
	}
}

func (s *Server) blobServiceBody(a StorageAccount) map[string]any {
	del := map[string]any{"enabled": a.SoftDeleteDays > 0}
	if a.SoftDeleteDays > 0 {
		del["days"] = a.SoftDeleteDays
	}
	return map[string]any{
		"id": s.id(a.ResourceGroup, "Microsoft.Storage/storageAccounts", a.Name) + "/blobServices/default", "name": "default",
		"type": "Microsoft.Storage/storageAccounts/blobServices", "sku": map[string]any{"name": "Standard_GRS", "tier": "Standard"},
		"properties": map[string]any{"deleteRetentionPolicy": del, "cors": map[string]any{"corsRules": []any{}}},
	}
}

func (s *Server) policyBody(a StorageAccount) map[string]any {
	var rules []any
	for _, r := range a.Lifecycle {
		base := map[string]any{}
		add := func(action string, days int) {
			if days > 0 {
				base[action] = map[string]any{"daysAfterModificationGreaterThan": days}
			}
		}
		add("tierToCool", r.Cool)
		add("tierToArchive", r.Archive)
		add("delete", r.Delete)
		rules = append(rules, map[string]any{"name": r.Name, "enabled": !r.Disabled, "type": "Lifecycle", "definition": map[string]any{
			"filters": map[string]any{"blobTypes": []string{"blockBlob"}}, "actions": map[string]any{"baseBlob": base}}})
	}
	return map[string]any{
		"id": s.id(a.ResourceGroup, "Microsoft.Storage/storageAccounts", a.Name) + "/managementPolicies/default", "name": "DefaultManagementPolicy",
		"type":       "Microsoft.Storage/storageAccounts/managementPolicies",
		"properties": map[string]any{"lastModifiedTime": time.Now().UTC().Format(time.RFC3339), "policy": map[string]any{"rules": rules}},
	}
}

func (s *Server) plan(group, name string) string {
	return s.id(group, "Microsoft.Web/serverfarms", name)
}

func (s *Server) siteBody(a WebApp) map[string]any {
	return map[string]any{
		"id": s.id(a.ResourceGroup, "Microsoft.Web/sites", a.Name), "name": a.Name, "type": "Microsoft.Web/sites",
		"kind": "app,linux", "location": "westeurope", "tags": tags(a.Tags),
		"properties": map[string]any{
			"state": "Running", "httpsOnly": a.HTTPSOnly, "serverFarmId": s.plan(a.ResourceGroup, a.Plan),
			"defaultHostName": a.Name + ".azurewebsites.net",
			// The list leaves most of siteConfig null, as ARM does.
			"siteConfig": map[string]any{"numberOfWorkers": 1, "minTlsVersion": nil, "alwaysOn": false, "healthCheckPath": nil},
		},
	}
}

func (s *Server) configBody(a WebApp) map[string]any {
	props := map[string]any{"alwaysOn": a.AlwaysOn, "ftpsState": "FtpsOnly", "numberOfWorkers": 1}
	if a.MinTLS != "" {
		props["minTlsVersion"] = a.MinTLS
	}
	if a.HealthCheckPath != "" {
		props["healthCheckPath"] = a.HealthCheckPath
	}
	return map[string]any{
		"id": s.id(a.ResourceGroup, "Microsoft.Web/sites", a.Name) + "/config/web", "name": "web",
		"type": "Microsoft.Web/sites/config", "location": "westeurope", "properties": props,
	}
}

func (s *Server) autoscaleBody(a Autoscale) map[string]any {
	return map[string]any{
		"id": s.id(a.ResourceGroup, "microsoft.insights/autoscalesettings", a.Name), "name": a.Name,
		"type": "Microsoft.Insights/autoscaleSettings", "location": "westeurope", "tags": map[string]string{},
		"properties": map[string]any{
			"name": a.Name, "enabled": !a.Disabled, "targetResourceUri": s.plan(a.ResourceGroup, a.Plan),
			"profiles": []any{map[string]any{"name": "default", "capacity": map[string]any{
				"minimum": strconv.Itoa(a.Min), "maximum": strconv.Itoa(a.Max), "default": strconv.Itoa(a.Min)}, "rules": []any{}}},
		},
	}
}

func (s *Server) vaultBody(v Vault) map[string]any {
	props := map[string]any{
		"tenantId": "00000000-0000-0000-0000-00000000000a", "sku": map[string]any{"family": "A", "name": "standard"},
		"vaultUri": s.URL + "/vaults/" + v.Name + "/", "enableRbacAuthorization": true, "publicNetworkAccess": "Enabled",
	}
	if v.SoftDelete != nil {
		props["enableSoftDelete"] = *v.SoftDelete
	}
	if v.PurgeProtection {
		props["enablePurgeProtection"] = true
	}
	if v.RetentionDays > 0 {
		props["softDeleteRetentionInDays"] = v.RetentionDays
	}
	return map[string]any{
		"id": s.id(v.ResourceGroup, "Microsoft.KeyVault/vaults", v.Name), "name": v.Name, "type": "Microsoft.KeyVault/vaults",
		"location": "westeurope", "tags": tags(v.Tags), "properties": props,
	}
}

// identity is the App Service managed identity endpoint: GET with
// api-version 2019-08-01, resource, and the X-IDENTITY-HEADER secret.
func (s *Server) identity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case r.Header.Get("X-IDENTITY-HEADER") != IdentityHeader:
		armhttp.WriteJSON(w, 401, map[string]any{"statusCode": 401, "message": "Unauthorized: missing or wrong X-IDENTITY-HEADER"})
		return
	case q.Get("api-version") != "2019-08-01" || q.Get("resource") == "":
		armhttp.WriteJSON(w, 400, map[string]any{"statusCode": 400, "message": "api-version 2019-08-01 and resource are required"})
		return
	}
	armhttp.WriteJSON(w, 200, map[string]any{"access_token": Token, "expires_on": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
		"resource": q.Get("resource"), "token_type": "Bearer"})
}

// dataPlane serves a vault's Get Secrets, Get Keys and Get Key Rotation
// Policy operations.
func (s *Server) dataPlane(w http.ResponseWriter, r *http.Request, vault, what, key string) {
	if r.URL.Query().Get("api-version") == "" {
		armhttp.Error(w, 400, "BadParameter", "The request is missing the api-version.")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+Token {
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-00000000000a", resource="https://vault.azure.net"`)
		armhttp.Error(w, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	op, action := "GetSecrets", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
	switch {
	case key != "":
		op, action = "GetKeyRotationPolicy", "Microsoft.KeyVault/vaults/keys/rotationpolicy/read"
	case what == "keys":
		op, action = "GetKeys", "Microsoft.KeyVault/vaults/keys/read"
	}
	var v *Vault
	for i := range s.vaults {
		if strings.EqualFold(s.vaults[i].Name, vault) {
			v = &s.vaults[i]
		}
	}
	switch {
	case v == nil:
		s.calls = append(s.calls, op+" 404")
		armhttp.Error(w, 404, "VaultNotFound", "Vault %s not found.", vault)
		return
	case s.throttle[op] > 0:
		s.throttle[op]--
		s.calls = append(s.calls, op+" 429")
		w.Header().Set("Retry-After", "1")
		armhttp.Error(w, 429, "Throttled", "Request was not processed because too many requests were received.")
		return
	case s.deny[op]:
		s.calls = append(s.calls, op+" 403")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(403)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "Forbidden",
			"message":    "Caller is not authorized to perform action on resource. Caller: appid=shipshape-test. Action: '" + action + "'. Resource: '" + s.id(v.ResourceGroup, "Microsoft.KeyVault/vaults", v.Name) + "'. Assignment: (not found).",
			"innererror": map[string]any{"code": "ForbiddenByRbac"}}})
		return
	}
	s.calls = append(s.calls, op)
	var items []any
	switch op {
	case "GetSecrets":
		for _, sec := range v.Secrets {
			attrs := map[string]any{"enabled": !sec.Disabled, "created": sec.Created.Unix(), "updated": sec.Created.Unix(), "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}
			if !sec.Expires.IsZero() {
				attrs["exp"] = sec.Expires.Unix()
			}
			item := map[string]any{"id": s.URL + "/vaults/" + v.Name + "/secrets/" + sec.Name, "attributes": attrs, "tags": map[string]string{}}
			if sec.Managed {
				item["managed"] = true
			}
			items = append(items, item)
		}
	case "GetKeys":
		for _, k := range v.Keys {
			item := map[string]any{"kid": s.URL + "/vaults/" + v.Name + "/keys/" + k.Name,
				"attributes": map[string]any{"enabled": !k.Disabled, "created": 1700000000, "updated": 1700000000, "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}, "tags": map[string]string{}}
			if k.Managed {
				item["managed"] = true
			}
			items = append(items, item)
		}
	case "GetKeyRotationPolicy":
		i := slices.IndexFunc(v.Keys, func(k Key) bool { return strings.EqualFold(k.Name, key) })
		if i < 0 {
			armhttp.Error(w, 404, "KeyNotFound", "A key with (name/id) %s was not found in this key vault.", key)
			return
		}
		id := s.URL + "/vaults/" + v.Name + "/keys/" + v.Keys[i].Name + "/rotationpolicy"
		p := v.Keys[i].Policy
		if p == nil {
			armhttp.WriteJSON(w, 200, map[string]any{"id": id, "lifetimeActions": []any{
				map[string]any{"trigger": map[string]any{"timeBeforeExpiry": "P30D"}, "action": map[string]any{"type": "Notify"}}},
				"attributes": map[string]any{}})
			return
		}
		trigger := map[string]any{}
		if p.RotateAfterCreate != "" {
			trigger["timeAfterCreate"] = p.RotateAfterCreate
		}
		if p.RotateBeforeExpiry != "" {
			trigger["timeBeforeExpiry"] = p.RotateBeforeExpiry
		}
		attrs := map[string]any{"created": 1700000000, "updated": 1700000000}
		if p.Expiry != "" {
			attrs["expiryTime"] = p.Expiry
		}
		armhttp.WriteJSON(w, 200, map[string]any{"id": id, "attributes": attrs, "lifetimeActions": []any{
			map[string]any{"trigger": trigger, "action": map[string]any{"type": "Rotate"}},
			map[string]any{"trigger": map[string]any{"timeBeforeExpiry": "P30D"}, "action": map[string]any{"type": "Notify"}}}})
		return
	}
	s.page(w, r, items)
}
