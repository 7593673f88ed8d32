// Package appservice swaps the deployment slots of Azure App Service
// apps (azure-sdk-for-go's armappservice WebAppsClient), for rollback
// drills: swapping a staging slot that still holds the previous version
// with production rolls production back.
package appservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	web "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v5"

	"github.com/shipshape-dev/shipshape/internal/armid"
)

// Production is the name of an app's production slot.
const Production = "production"

// Errors a swap is classified into, so callers can tell bad input from a
// failure worth retrying without reading SDK types.
var (
	// ErrNotFound: the app or a slot does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrRejected: Azure refused the request as written (400, 401, 403,
	// 409 for a swap already running).
	ErrRejected = errors.New("rejected")
)

// siteType is the resource type of an App Service app.
const siteType = "Microsoft.Web/sites"

// SiteID is an App Service app's resource ID, parsed.
type SiteID struct {
	Subscription, ResourceGroup, Name string
}

// ParseSiteID reads
// /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Web/sites/NAME.
func ParseSiteID(id string) (SiteID, error) {
	i, err := armid.Parse(id, siteType, "an App Service app's")
	return SiteID(i), err
}

func (s SiteID) String() string { return armid.ID(s).Format(siteType) }

// Client is the App Service apps of one subscription.
type Client struct {
	apps *web.WebAppsClient
	// PollFrequency is how often a swap in progress is polled (0: 10 s).
	PollFrequency time.Duration
}

// New returns a client for subscription; opts may be nil (Azure's public
// cloud).
func New(subscription string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*Client, error) {
	c, err := web.NewWebAppsClient(subscription, cred, opts)
	if err != nil {
		return nil, err
	}
	return &Client{apps: c}, nil
}

// SwapSlot swaps slot with targetSlot of the app (either may be
// "production") and waits until Azure reports the swap done.
// preserveVnet keeps each slot's virtual network integration in place.
func (c *Client) SwapSlot(ctx context.Context, site string, slot, targetSlot string, preserveVnet bool) error {
	id, err := ParseSiteID(site)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if slot == "" || targetSlot == "" || strings.EqualFold(slot, targetSlot) {
		return fmt.Errorf("%w: swap %s: want two different slots, got %q and %q", ErrRejected, id.Name, slot, targetSlot)
	}
	// The production slot has no slot path of its own: a swap that
	// involves it is posted to the app, naming the other slot.
	if strings.EqualFold(slot, Production) {
		slot, targetSlot = targetSlot, slot
	}
	freq := c.PollFrequency
	if freq == 0 {
		freq = 10 * time.Second
	}
	poll := &runtime.PollUntilDoneOptions{Frequency: freq}
	what := fmt.Sprintf("swap slot %s of %s with %s", slot, id.Name, targetSlot)
	if strings.EqualFold(targetSlot, Production) {
		poller, err := c.apps.BeginSwapSlotWithProduction(ctx, id.ResourceGroup, id.Name,
			web.CsmSlotEntity{TargetSlot: to.Ptr(slot), PreserveVnet: to.Ptr(preserveVnet)}, nil)
		if err != nil {
			return classify(what, err)
		}
		_, err = poller.PollUntilDone(ctx, poll)
		return classify(what, err)
	}
	poller, err := c.apps.BeginSwapSlot(ctx, id.ResourceGroup, id.Name, slot,
		web.CsmSlotEntity{TargetSlot: to.Ptr(targetSlot), PreserveVnet: to.Ptr(preserveVnet)}, nil)
	if err != nil {
		return classify(what, err)
	}
	_, err = poller.PollUntilDone(ctx, poll)
	return classify(what, err)
}

// classify maps an SDK error to ErrNotFound or ErrRejected where the
// status code says so, keeping Azure's error code and message.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("%s: %w", what, err)
	}
	code := re.ErrorCode
	if code == "" {
		code = http.StatusText(re.StatusCode)
	}
	msg := fmt.Sprintf("%s: Azure answered %d %s", what, re.StatusCode, code)
	if m := responseMessage(re); m != "" {
		msg += ": " + m
	}
	switch re.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, msg)
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict:
		return fmt.Errorf("%w: %s", ErrRejected, msg)
	}
	return errors.New(msg)
}

// responseMessage is the message of an ARM error body ({"error":
// {"code", "message"}}), when there is one: ResponseError's own text is
// a multi-line dump not fit for a task's error.
func responseMessage(re *azcore.ResponseError) string {
	if re.RawResponse == nil {
		return ""
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return ""
	}
	var doc struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	return doc.Error.Message
}
