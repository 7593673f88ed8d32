// Package armid reads and writes the Azure Resource Manager IDs of
// resources that sit directly in a resource group
// (/subscriptions/SUB/resourceGroups/RG/providers/NAMESPACE/TYPE/NAME),
// through azcore's own parser.
package armid

import (
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
)

// ID is such a resource's ID, parsed.
type ID struct {
	Subscription, ResourceGroup, Name string
}

// Parse reads id as a resource of resourceType (Microsoft.Web/sites),
// refusing other types and child resources; what names the resource in
// the error (an App Service app).
func Parse(id, resourceType, what string) (ID, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil || !strings.EqualFold(r.ResourceType.String(), resourceType) || r.ResourceGroupName == "" ||
		r.Parent == nil || !strings.EqualFold(r.Parent.ResourceType.String(), arm.ResourceGroupResourceType.String()) {
		return ID{}, fmt.Errorf("want %s resource ID, %s, got %q", what, ID{"SUB", "RG", "NAME"}.Format(resourceType), id)
	}
	return ID{Subscription: r.SubscriptionID, ResourceGroup: r.ResourceGroupName, Name: r.Name}, nil
}

// Format writes the ID of a resource of resourceType.
func (i ID) Format(resourceType string) string {
	return "/subscriptions/" + i.Subscription + "/resourceGroups/" + i.ResourceGroup + "/providers/" + resourceType + "/" + i.Name
}
