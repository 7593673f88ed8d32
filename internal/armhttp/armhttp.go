// Package armhttp is the HTTP side shared by the protocol fakes of Azure
// Resource Manager services (appservice/armtest, azurepg/armtest,
// azmonitor/azmontest, azureposture/armfake): client options that point
// an Azure SDK client at a fake, and replies in ARM's JSON and error
// shapes.
package armhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// ClientOptions point an ARM client at the fake at url, reached through
// client (the fake's TLS test client).
func ClientOptions(url string, client *http.Client) *arm.ClientOptions {
	o := &arm.ClientOptions{}
	o.Transport = client
	o.Cloud = cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
		cloud.ResourceManager: {Endpoint: url, Audience: "https://management.azure.com"},
	}}
	return o
}

// WriteJSON answers with status code and v as JSON (no body when v is
// nil), with a request ID as ARM sends one.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-request-id", strconv.FormatInt(time.Now().UnixNano(), 36))
	w.WriteHeader(code)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// Error answers with ARM's error shape, {"error": {"code", "message"}},
// and the code in x-ms-error-code.
func Error(w http.ResponseWriter, status int, code, format string, args ...any) {
	w.Header().Set("x-ms-error-code", code)
	WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": fmt.Sprintf(format, args...)}})
}

// Token is a credential that issues itself as a bearer token for an
// hour: the token a fake accepts.
type Token string

// GetToken implements azcore.TokenCredential.
func (t Token) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(t), ExpiresOn: time.Now().Add(time.Hour)}, nil
}
