package appservice

import "testing"

func TestParseSiteID(t *testing.T) {
	const good = "/subscriptions/7c1d/resourceGroups/orders/providers/Microsoft.Web/sites/orders-api"
	id, err := ParseSiteID(good)
	if err != nil || id != (SiteID{Subscription: "7c1d", ResourceGroup: "orders", Name: "orders-api"}) || id.String() != good {
		t.Fatalf("ParseSiteID(%q) = %+v, %v", good, id, err)
	}
	if _, err := ParseSiteID("/SUBSCRIPTIONS/7c1d/resourcegroups/orders/providers/microsoft.web/SITES/orders-api"); err != nil {
		t.Errorf("case differs: %v", err)
	}
	for _, bad := range []string{
		"", "orders-api",
		"/subscriptions/7c1d/resourceGroups/orders",
		"/subscriptions/7c1d/resourceGroups/orders/providers/Microsoft.DBforPostgreSQL/flexibleServers/orders-pg",
		"/subscriptions/7c1d/resourceGroups/orders/providers/Microsoft.Web/sites/orders-api/slots/staging",
	} {
		if _, err := ParseSiteID(bad); err == nil {
			t.Errorf("ParseSiteID(%q) accepted", bad)
		}
	}
}
