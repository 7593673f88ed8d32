package azurepg

import "testing"

func TestParseServerIDShapes(t *testing.T) {
	const good = "/subscriptions/7c1d/resourceGroups/orders/providers/Microsoft.DBforPostgreSQL/flexibleServers/orders-pg"
	id, err := ParseServerID(good)
	if err != nil || id != (ServerID{Subscription: "7c1d", ResourceGroup: "orders", Name: "orders-pg"}) || id.String() != good {
		t.Fatalf("ParseServerID(%q) = %+v, %v", good, id, err)
	}
	for _, bad := range []string{
		"", "orders-pg",
		"/subscriptions/7c1d/resourceGroups/orders/providers/Microsoft.Web/sites/orders-api",
		"/subscriptions/7c1d/resourceGroups/orders/providers/Microsoft.DBforPostgreSQL/flexibleServers/orders-pg/databases/app",
	} {
		if _, err := ParseServerID(bad); err == nil {
			t.Errorf("ParseServerID(%q) accepted", bad)
		}
	}
}
